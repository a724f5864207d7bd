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
        self.folder = folder
        path = folder / manifest.file
        data = path.read_bytes()
        self.check(manifest, data)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # batches run one at a time: no oversubscription
        self.manifest = manifest
        self.session = self.open(manifest, data, options)
        self.tensor = manifest.inputs[0].tensor  # the inputs are its columns
        self.width = len(manifest.inputs)
        self.outputs = sorted(
            {o.tensor for o in manifest.outputs}
            | {o.confidence for o in manifest.outputs if o.confidence}
        )
        names = {o.name for o in self.session.get_outputs()}
        inputs = {i.name for i in self.session.get_inputs()}
        if self.tensor not in inputs or not set(self.outputs) <= names:
            raise BadRequestData(
                f"model {manifest.id} {manifest.version}: the manifest names input "
                f"{self.tensor!r} and outputs {self.outputs}; the ONNX graph has inputs "
                f"{sorted(inputs)} and outputs {sorted(names)}"
            )

    @staticmethod
    def check(manifest: Manifest, data: bytes) -> None:
        """Refuse a file that is not the one the manifest pins."""
        digest = hashlib.sha256(data).hexdigest()
        if digest != manifest.sha256:
            raise IntegrityError(
                f"model {manifest.id} {manifest.version}: {manifest.file} has SHA-256 {digest}, "
                f"not the pinned {manifest.sha256}; it is refused"
            )

    @staticmethod
    def open(
        manifest: Manifest, data: bytes, options: onnxruntime.SessionOptions
    ) -> onnxruntime.InferenceSession:
        try:
            return onnxruntime.InferenceSession(
                data, sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime's own errors: not a model it can run
            raise BadRequestData(
                f"model {manifest.id} {manifest.version}: not an ONNX model onnxruntime can "
                f"load: {str(exc)[:300]}"
            ) from None

    def score(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """Each output tensor for a batch of rows (one row per twin), flattened per row."""
        found = self.session.run(self.outputs, {self.tensor: rows.astype(np.float32)})
        return {
            name: np.asarray(value).reshape(len(rows), -1)
            for name, value in zip(self.outputs, found, strict=True)
        }
