"""An ONNX model, loaded once: its file checked against the SHA-256 pinned at registration,
one onnxruntime session, scored a batch at a time (off the event loop: ``score`` blocks)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import onnxruntime

from twin_server.errors import BadRequestData
from twin_server.inference.manifest import Manifest


class IntegrityError(BadRequestData):
    """The model file is not the one the manifest pins."""


class ModelSession:
    def __init__(self, manifest: Manifest, folder: Path) -> None:
        path = folder / manifest.file
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest != manifest.sha256:
            raise IntegrityError(
                f"model {manifest.id} {manifest.version}: {path.name} has SHA-256 {digest}, "
                f"not the pinned {manifest.sha256}; it is refused"
            )
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # batches run one at a time: no oversubscription
        self.manifest = manifest
        self.session = onnxruntime.InferenceSession(
            data, sess_options=options, providers=["CPUExecutionProvider"]
        )
        inputs = {i.tensor for i in manifest.inputs}
        if len(inputs) != 1:
            raise BadRequestData(f"model {manifest.id}: its inputs are one tensor's columns")
        self.tensor = inputs.pop()
        self.width = len(manifest.inputs)
        self.outputs = [o.tensor for o in manifest.outputs]

    def score(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """Each output tensor for a batch of rows (one row per twin), flattened per row."""
        found = self.session.run(self.outputs, {self.tensor: rows.astype(np.float32)})
        return {
            name: np.asarray(value).reshape(len(rows), -1)
            for name, value in zip(self.outputs, found, strict=True)
        }
