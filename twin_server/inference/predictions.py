"""Predictions as twin state: how an inference output attached to a twin looks.

A prediction is a Property of the twin (named after the model's output, ``anomalyScore``),
whose value is the prediction and whose ``observedAt`` is when it was scored, with these
sub-properties: ``predictedBy`` (the model id, required), ``modelVersion``, ``confidence``
(0 to 1), ``inputs`` (the feature values it was scored from, for feedback) and ``shadow``
(true for a shadow version's prediction, never acted on). A shadow prediction is an instance
of the same property with the datasetId ``urn:ngsi-ld:Dataset:shadow:<model>:<version>``, so
the default instance stays the acted-on one. The names are
plain NGSI-LD names (default vocabulary), so any NGSI-LD client reads and writes them.

Predictions may be attached to any twin, whatever its DTDL model: they are not contents of
the model, and the twin validator lets them through.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from twin_server.core.types import Instance

VOCABULARY = "https://uri.etsi.org/ngsi-ld/default-context/"
PREDICTED_BY = VOCABULARY + "predictedBy"
MODEL_VERSION = VOCABULARY + "modelVersion"
CONFIDENCE = VOCABULARY + "confidence"
SHADOW = VOCABULARY + "shadow"
INPUTS = VOCABULARY + "inputs"
SHADOW_DATASET = "urn:ngsi-ld:Dataset:shadow:"


@dataclass(frozen=True)
class Prediction:
    value: Any
    observed_at: str | None
    model: str
    model_version: str | None
    confidence: float | None
    shadow: bool


def is_prediction(instance: Instance) -> bool:
    return instance.get("type") == "Property" and PREDICTED_BY in instance.get("sub", {})


def prediction_of(instance: Instance) -> Prediction | None:
    """The prediction an attribute instance holds (None: it is not one)."""
    if not is_prediction(instance):
        return None
    sub = instance["sub"]
    model = _sub_value(sub, PREDICTED_BY)
    version = _sub_value(sub, MODEL_VERSION)
    confidence = _sub_value(sub, CONFIDENCE)
    is_number = isinstance(confidence, int | float) and not isinstance(confidence, bool)
    return Prediction(
        value=instance.get("value"),
        observed_at=instance.get("observedAt"),
        model=str(model),
        model_version=str(version) if version is not None else None,
        confidence=float(confidence) if is_number else None,
        shadow=_sub_value(sub, SHADOW) is True,
    )


def _sub_value(sub: dict[str, list[Instance]], name: str) -> Any:
    instances = sub.get(name)
    return instances[0].get("value") if instances else None


def prediction_instance(
    value: Any,
    observed_at: str,
    model: str,
    version: str,
    *,
    confidence: float | None = None,
    inputs: dict[str, float] | None = None,
    shadow: bool = False,
) -> Instance:
    """The attribute instance of a new prediction (expanded form)."""
    sub: dict[str, list[Instance]] = {
        PREDICTED_BY: [{"type": "Property", "value": model}],
        MODEL_VERSION: [{"type": "Property", "value": version}],
    }
    if confidence is not None:
        sub[CONFIDENCE] = [{"type": "Property", "value": confidence}]
    if inputs is not None:
        sub[INPUTS] = [{"type": "Property", "value": inputs}]
    instance: Instance = {"type": "Property", "value": value, "observedAt": observed_at}
    if shadow:
        sub[SHADOW] = [{"type": "Property", "value": True}]
        instance["datasetId"] = f"{SHADOW_DATASET}{model}:{version}"
    instance["sub"] = sub
    return instance


def inputs_of(instance: Instance) -> dict[str, float]:
    found = _sub_value(instance.get("sub", {}), INPUTS)
    return dict(found) if isinstance(found, dict) else {}
