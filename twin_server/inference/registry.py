"""The model registry: every version of every model, and which of them score which twins.

Versions come from two places, read at start: the bundled folders under
``TWIN_INFERENCE_DIR`` (``inference/<folder>/manifest.json``, read-only) and versions
registered through the API, kept under ``<TWIN_DATA_DIR>/models/<id>/<version>/``. A version
is refused at registration when its file does not match the SHA-256 its manifest pins, or
onnxruntime cannot load it, or it does not have the tensors its manifest names.

A model's deployment says which versions act: ``active`` scores every twin, except the twins
that an A/B ``split`` gives to another version (a stable share of twin ids per version);
``shadow`` versions score every twin too, and their predictions are stored apart (never acted
on). Each change of deployment is recorded, so a rollback restores the one before, without a
restart. Deployments are stored documents.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from twin_server.documents import parse_document
from twin_server.errors import AlreadyExists, BadRequestData, NotFound
from twin_server.inference.manifest import parse_manifest, read_manifest
from twin_server.inference.session import ModelSession
from twin_server.store.base import Store

log = logging.getLogger(__name__)
KIND = "model-deployment"
MAX_HISTORY = 20
MAX_FILE = 64 * 1024 * 1024  # an .onnx file registered through the API


class Deployment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    active: str = Field(min_length=1, max_length=32)
    shadow: list[str] = Field(default_factory=list, max_length=10)
    split: dict[str, float] = Field(
        default_factory=dict, description="Version → share of twins (0 to 1) it scores instead."
    )

    @model_validator(mode="after")
    def _coherent(self) -> Deployment:
        if any(not 0 < share <= 1 for share in self.split.values()):
            raise ValueError("a split share is over 0 and at most 1")
        if sum(self.split.values()) > 1:
            raise ValueError("the split shares add up to at most 1")
        if self.active in self.split or self.active in self.shadow:
            raise ValueError("the active version is neither split nor shadow")
        if set(self.split) & set(self.shadow):
            raise ValueError("a version is either split or shadow")
        return self

    def versions(self) -> set[str]:
        return {self.active, *self.shadow, *self.split}


@dataclass
class Model:
    id: str
    versions: dict[str, ModelSession]  # in registration order
    deployment: Deployment
    history: list[Deployment]

    def acting(self, twin_id: str) -> ModelSession:
        """The version whose predictions for this twin are acted on."""
        if self.deployment.split:
            bucket = _bucket(twin_id)
            start = 0.0
            for version, share in sorted(self.deployment.split.items()):
                if start <= bucket < start + share:
                    return self.versions[version]
                start += share
        return self.versions[self.deployment.active]

    def shadows(self) -> list[ModelSession]:
        return [self.versions[v] for v in self.deployment.shadow]

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "deployment": self.deployment.model_dump(),
            "history": [d.model_dump() for d in self.history],
            "versions": [describe_version(s) for s in self.versions.values()],
        }


def describe_version(session: ModelSession) -> dict[str, Any]:
    manifest = session.manifest
    return {
        "version": manifest.version,
        "sha256": manifest.sha256,
        "description": manifest.description,
        "inputs": manifest.features(),
        "outputs": [o.property for o in manifest.outputs],
        "evaluation": manifest.evaluation,
    }


def _bucket(twin_id: str) -> float:
    """A twin's stable place in [0, 1): the same twin always falls in the same A/B split."""
    digest = hashlib.blake2b(twin_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class ModelRegistry:
    def __init__(self, store: Store, bundled: Path, uploads: Path) -> None:
        self.store = store
        self.bundled = bundled
        self.uploads = uploads
        self.models: dict[str, Model] = {}

    async def load(self) -> None:
        found: dict[str, dict[str, ModelSession]] = {}
        for folder in [*_folders(self.bundled), *_folders(self.uploads, depth=2)]:
            try:
                session = ModelSession(read_manifest(folder), folder)
            except Exception as exc:  # one bad model folder leaves the others working
                log.error("model in %s not loaded: %s", folder, exc)
                continue
            manifest = session.manifest
            versions = found.setdefault(manifest.id, {})
            if manifest.version in versions:
                log.error(
                    "model %s %s in %s: that version is loaded already, left out",
                    manifest.id,
                    manifest.version,
                    folder,
                )
                continue
            versions[manifest.version] = session
        stored = dict(await self.store.list_documents(KIND))
        for model_id, versions in found.items():
            deployment, history = Deployment(active=next(iter(versions))), []
            document = stored.get(model_id)
            if document is not None:
                try:
                    kept = Deployment.model_validate(document["deployment"])
                    if kept.versions() <= set(versions):
                        deployment = kept
                        history = [Deployment.model_validate(d) for d in document["history"]]
                    else:
                        log.error(
                            "model %s: its stored deployment names versions that are "
                            "not loaded; the first version is active",
                            model_id,
                        )
                except (KeyError, TypeError, ValueError) as exc:
                    log.error("model %s: stored deployment unreadable (%s)", model_id, exc)
            self.models[model_id] = Model(model_id, versions, deployment, history)

    def get(self, model_id: str) -> Model:
        model = self.models.get(model_id)
        if model is None:
            raise NotFound(f"there is no model {model_id!r} (models: {sorted(self.models)})")
        return model

    async def register(self, model_id: str, data: Any) -> ModelSession:
        """A new version from ``{"manifest": {…}, "onnx": "<base64>"}``: checked, written,
        loaded. It does not act until a deployment names it (except a model's first version)."""
        if not isinstance(data, dict) or set(data) != {"manifest", "onnx"}:
            raise BadRequestData('a model version is {"manifest": {…}, "onnx": "<base64>"}')
        manifest = parse_manifest(data["manifest"])
        if manifest.id != model_id:
            raise BadRequestData(f"the manifest's id {manifest.id!r} is not {model_id!r}")
        blob = _decode(data["onnx"])
        model = self.models.get(model_id)
        if model is not None and manifest.version in model.versions:
            raise AlreadyExists(f"model {model_id} already has version {manifest.version}")
        ModelSession.check(manifest, blob)
        folder = self.uploads / model_id / manifest.version
        staging = folder.with_name(f".{manifest.version}.partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        try:
            (staging / manifest.file).write_bytes(blob)
            (staging / "manifest.json").write_text(manifest.model_dump_json(indent=2))
            session = ModelSession(manifest, staging)
            staging.rename(folder)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        session.folder = folder
        if model is None:
            self.models[model_id] = Model(
                model_id, {manifest.version: session}, Deployment(active=manifest.version), []
            )
            await self._save(self.models[model_id])
        else:
            model.versions[manifest.version] = session
        return session

    async def deploy(self, model_id: str, data: Any) -> Model:
        model = self.get(model_id)
        deployment = parse_document(Deployment, data, "deployment")
        missing = deployment.versions() - set(model.versions)
        if missing:
            raise BadRequestData(
                f"model {model_id} has no version {sorted(missing)} (versions: "
                f"{list(model.versions)})"
            )
        if deployment != model.deployment:
            model.history = [*model.history, model.deployment][-MAX_HISTORY:]
            model.deployment = deployment
            await self._save(model)
        return model

    async def rollback(self, model_id: str) -> Model:
        model = self.get(model_id)
        if not model.history:
            raise BadRequestData(f"model {model_id} has no earlier deployment to roll back to")
        *model.history, model.deployment = model.history
        await self._save(model)
        return model

    async def _save(self, model: Model) -> None:
        await self.store.put_document(
            KIND,
            model.id,
            {
                "deployment": model.deployment.model_dump(),
                "history": [d.model_dump() for d in model.history],
            },
        )


def _folders(root: Path, depth: int = 1) -> list[Path]:
    if not root.is_dir():
        return []
    pattern = "/".join(["[!.]*"] * depth) + "/manifest.json"
    return [p.parent for p in sorted(root.glob(pattern))]


def _decode(text: Any) -> bytes:
    if not isinstance(text, str):
        raise BadRequestData("onnx: the model file, base64-encoded, as a string")
    if len(text) > MAX_FILE * 4 // 3 + 4:
        raise BadRequestData(f"onnx: a model file is at most {MAX_FILE // 2**20} MiB")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequestData("onnx: not valid base64") from None
