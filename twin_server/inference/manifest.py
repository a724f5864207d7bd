"""A model's manifest (``inference/<model>/manifest.json``): what it is, its pinned file, how
its inputs and outputs map to features and twin properties, and its reference statistics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from twin_server.documents import parse_document
from twin_server.errors import BadRequestData


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
    confidence: str | None = Field(
        None, description="An output tensor giving this prediction's confidence (0 to 1)."
    )


class Reference(_Strict):
    """An input's distribution in the training data: mean and std, and optionally bins
    (``edges``, ascending, with the share of training rows in each of the ``len(edges) + 1``
    bins) for the drift check. Without bins, deciles of a normal law are assumed."""

    mean: float
    std: float = Field(ge=0)
    edges: list[float] = Field(default_factory=list, max_length=100)
    fractions: list[float] = Field(default_factory=list, max_length=101)

    @model_validator(mode="after")
    def _bins(self) -> Reference:
        if self.edges and len(self.fractions) != len(self.edges) + 1:
            raise ValueError("a reference has one more fraction than edges")
        if any(b <= a for a, b in zip(self.edges, self.edges[1:], strict=False)):
            raise ValueError("reference edges ascend")
        return self


class Manifest(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")
    version: str = Field(pattern=r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,31}$")
    file: str = Field(pattern=r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$", description="In its folder.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    description: str = ""
    inputs: list[Input] = Field(min_length=1)
    outputs: list[Output] = Field(min_length=1)
    reference: dict[str, Reference] = Field(default_factory=dict)
    evaluation: dict[str, dict[str, float]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _columns(self) -> Manifest:
        indexes = sorted(i.index for i in self.inputs)
        if indexes != list(range(len(self.inputs))):
            raise ValueError("input indexes are 0 to n-1, each once")
        if len({i.tensor for i in self.inputs}) != 1:
            raise ValueError("the inputs are the columns of one tensor")
        return self

    def features(self) -> list[str]:
        return [i.name for i in sorted(self.inputs, key=lambda i: i.index)]


def read_manifest(folder: Path) -> Manifest:
    return parse_manifest((folder / "manifest.json").read_bytes())


def parse_manifest(data: Any) -> Manifest:
    """A manifest from JSON text or parsed JSON; ``BadRequestData`` names every problem."""
    if isinstance(data, bytes | str):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise BadRequestData(f"the manifest is not JSON: {exc}") from None
    return parse_document(Manifest, data, "manifest")
