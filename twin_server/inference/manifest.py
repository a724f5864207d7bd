"""A model's manifest (``inference/<model>/manifest.json``): what it is, its pinned file, how
its inputs and outputs map to features and twin properties, and its reference statistics."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Input(_Strict):
    name: str  # the feature
    tensor: str
    index: int = Field(ge=0)  # its column in the tensor


class Output(_Strict):
    tensor: str
    property: str  # the twin property the prediction becomes
    scale: float = 1.0
    offset: float = 0.0


class Reference(_Strict):
    mean: float
    std: float


class Manifest(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")
    version: str = Field(min_length=1, max_length=32)
    file: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    description: str = ""
    inputs: list[Input] = Field(min_length=1)
    outputs: list[Output] = Field(min_length=1)
    reference: dict[str, Reference] = Field(default_factory=dict)
    evaluation: dict[str, dict[str, float]] = Field(default_factory=dict)

    def features(self) -> list[str]:
        return [i.name for i in sorted(self.inputs, key=lambda i: i.index)]


def read_manifest(folder: Path) -> Manifest:
    return Manifest.model_validate_json((folder / "manifest.json").read_bytes())
