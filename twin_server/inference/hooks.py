"""Inference hooks: which model scores which twins, when, and from what.

A hook binds a model (by id; its deployment says which versions score) to the twins of a type
(its DTDL subtypes included). Triggers: a change of one of the watched attributes (any
attribute when none is named; ``onChange: false`` turns change triggers off), and every
``every`` seconds for every twin of the type. Each model input is a feature (see
``features``): by default the twin's attribute of the input's name::

    {"id": "pumps", "model": "pump-anomaly", "type": "Pump",
     "watch": ["flowRate", "outletPressure"], "every": 60, "staleAfter": 30,
     "features": {"temperature": "motor/temperature",
                  "vibration": {"attribute": "motor/vibration", "window": 60,
                                "aggregate": "mean"},
                  "inletPressure": {"via": "feedsFrom", "attribute": "outletPressure"}}}

``q`` (an NGSI-LD q expression, ``speed>0``): only the twins matching it are scored (a
stopped pump is outside what an anomaly model knows). ``staleAfter``: a twin whose scored
inputs have not changed for that many seconds has stale inputs (its model is unhealthy for
it, and rules on its predictions take their fail-safe).

Hooks are managed through ``/inference/hooks`` and stored; a model folder may also bring
hooks (``inference/<model>/hooks.json``, a list), installed at start unless a stored hook
has the same id.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from twin_server.documents import parse_document
from twin_server.inference.features import FeatureSpec

KIND = "inference-hook"


class Hook(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: str = Field(pattern=r"^[A-Za-z0-9._-]{1,128}$")
    model: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")
    tenant: str = ""
    type: str = Field(min_length=1, max_length=512, description="Twins of this type (or subtype).")
    watch: list[str] = Field(default_factory=list, max_length=100)
    q: str | None = Field(
        None, min_length=1, max_length=4096, description="Score only twins matching it."
    )
    on_change: bool = Field(True, alias="onChange")
    every: float | None = Field(None, ge=1, le=86_400, description="Seconds between rounds.")
    stale_after: float | None = Field(None, alias="staleAfter", ge=1, le=86_400 * 7)
    features: dict[str, str | FeatureSpec] = Field(
        default_factory=dict, description="Model input → where its value comes from."
    )
    context: list[str] | None = None
    enabled: bool = True

    def document(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)

    def spec(self, name: str) -> FeatureSpec:
        found = self.features.get(name, name)
        return FeatureSpec(attribute=found) if isinstance(found, str) else found


def parse_hook(data: Any) -> Hook:
    return parse_document(Hook, data, "hook")
