"""Inference hooks: which model scores which twins, when, and from what.

A hook binds a model (by id) to the twins of a type (its DTDL subtypes included): a change of
one of the watched attributes (any attribute when none is named) triggers a score. Each model
input is a feature: an attribute of the twin by name, with an optional path into its value
(``motor/temperature`` reads the ``temperature`` of the component ``motor``)::

    {"id": "pumps", "model": "pump-anomaly", "type": "Pump",
     "watch": ["flowRate", "outletPressure"],
     "features": {"temperature": "motor/temperature", "flowRate": "flowRate", …}}
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from twin_server.core.types import VALUE_MEMBER, Entity, default_instance
from twin_server.documents import parse_document

KIND = "inference-hook"
NAME = r"^[A-Za-z_][A-Za-z0-9_./:#-]{0,255}$"


class Hook(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9._-]{1,128}$")
    model: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")
    tenant: str = ""
    type: str = Field(min_length=1, max_length=512, description="Twins of this type (or subtype).")
    watch: list[str] = Field(default_factory=list, max_length=100)
    features: dict[str, str] = Field(default_factory=dict, description="Model input → attribute.")
    context: list[str] | None = None
    enabled: bool = True

    def document(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


def parse_hook(data: Any) -> Hook:
    return parse_document(Hook, data, "hook")


def feature(entity: Entity, attribute: str, path: list[str]) -> float | None:
    """A numeric feature of a twin (None when it has none, or it is not a number)."""
    instances = entity["attrs"].get(attribute)
    if not instances:
        return None
    instance = default_instance(instances)
    value: Any = instance.get(VALUE_MEMBER.get(instance.get("type", ""), "value"))
    for step in path:
        value = value.get(step) if isinstance(value, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
