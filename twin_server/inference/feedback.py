"""Operator feedback on predictions: a prediction marked a true or false positive (or
negative), stored with the model version and the feature values that produced it, and
exported as a labelled data set (JSON rows, or CSV with one column per feature).

    POST /inference/feedback
    {"twin": "urn:ngsi-ld:Pump:2", "attribute": "anomalyScore", "label": "falsePositive"}

The prediction marked is the twin's current (default) instance of the attribute.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from twin_server.core.timeutil import now_iso
from twin_server.core.types import default_instance
from twin_server.documents import parse_document
from twin_server.errors import BadRequestData, NotFound
from twin_server.inference import predictions as p
from twin_server.jsonld.termmap import TermMap
from twin_server.store.base import Store

KIND = "inference-feedback"
Label = Literal["truePositive", "falsePositive", "trueNegative", "falseNegative"]
Terms = Callable[[list[str] | None], Awaitable[TermMap]]


class Mark(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    twin: str = Field(min_length=1, max_length=1024)
    attribute: str = Field("anomalyScore", min_length=1, max_length=512)
    label: Label
    note: str = Field("", max_length=2000)
    by: str = Field("", max_length=256)
    context: list[str] | None = None


class FeedbackBook:
    def __init__(
        self, store: Store, terms: Terms, counted: Callable[[str], Awaitable[None]]
    ) -> None:
        self.store = store
        self.terms = terms
        self.counted = counted  # the retraining trigger

    async def mark(self, tenant: str, data: Any) -> dict[str, Any]:
        mark = parse_document(Mark, data, "feedback")
        terms = await self.terms(mark.context)
        twin = await self.store.get(tenant, mark.twin)
        if twin is None:
            raise NotFound(f"there is no twin {mark.twin}")
        instances = twin["attrs"].get(terms.expand(mark.attribute))
        prediction = p.prediction_of(default_instance(instances)) if instances else None
        if prediction is None:
            raise BadRequestData(f"twin {mark.twin} has no prediction {mark.attribute!r}")
        record = {
            "id": str(uuid.uuid4()),
            "tenant": tenant,
            "twin": mark.twin,
            "attribute": mark.attribute,
            "model": prediction.model,
            "modelVersion": prediction.model_version,
            "value": prediction.value,
            "observedAt": prediction.observed_at,
            "inputs": p.inputs_of(default_instance(instances or [])),
            "label": mark.label,
            "note": mark.note,
            "by": mark.by,
            "at": now_iso(),
        }
        await self.store.put_document(KIND, record["id"], record)
        await self.counted(prediction.model)
        return record

    async def records(self, model: str | None = None) -> list[dict[str, Any]]:
        found = [r for _, r in await self.store.list_documents(KIND)]
        found = [r for r in found if model is None or r.get("model") == model]
        return sorted(found, key=lambda r: str(r.get("at")))


def as_csv(records: list[dict[str, Any]]) -> str:
    """One row per feedback: its prediction, label and a column per feature."""
    features = sorted({name for r in records for name in r.get("inputs", {})})
    head = ["twin", "model", "modelVersion", "observedAt", "value", "label"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*head, *features])
    for r in records:
        inputs = r.get("inputs", {})
        writer.writerow([*(r.get(h, "") for h in head), *(inputs.get(f, "") for f in features)])
    return out.getvalue()
