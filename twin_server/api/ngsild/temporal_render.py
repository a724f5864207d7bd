"""Entity history -> the NGSI-LD temporal representations (GS CIM 009 V1.9.1, clause 4.5):
normalized (every instance, with its ``instanceId``), simplified (``temporalValues``: value and
time pairs) and aggregated (``aggregatedValues``: per method, value, start and end triples).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from twin_server.api.ngsild.render import View, render_instance
from twin_server.core.types import LANGUAGE_PROPERTY, VALUE_MEMBER, VOCAB_PROPERTY, Instance
from twin_server.jsonld.termmap import TermMap
from twin_server.temporal.model import Bucket, Series, TimeProperty, iso
from twin_server.temporal.service import TemporalEntity

SIMPLIFIED_MEMBER = {
    "Property": "values",
    "GeoProperty": "values",
    "Relationship": "objects",
    "LanguageProperty": "languageMaps",
    "VocabProperty": "vocabs",
    "JsonProperty": "jsons",
    "ListProperty": "valueLists",
    "ListRelationship": "objectLists",
}


@dataclass(frozen=True, slots=True)
class TemporalView:
    terms: TermMap
    format: str = "normalized"  # normalized, temporalValues, aggregatedValues
    sys_attrs: bool = False
    lang: str | None = None
    time: TimeProperty = "observedAt"

    def instance_view(self) -> View:
        return View(self.terms, sys_attrs=self.sys_attrs, lang=self.lang)


def head(entity: TemporalEntity, terms: TermMap) -> dict[str, Any]:
    types = [terms.compact(t) for t in entity.types]
    return {"id": entity.id, "type": types[0] if len(types) == 1 else types}


def temporal_entity(
    entity: TemporalEntity, series: list[Series], view: TemporalView
) -> dict[str, Any]:
    out = head(entity, view.terms)
    instance_view = view.instance_view()
    for one in series:
        name = view.terms.compact(one.attr)
        if view.format == "temporalValues":
            out[name] = _simplified(one.instances, view, instance_view)
        else:
            out[name] = [
                {**render_instance(i, instance_view), "instanceId": i["instanceId"]}
                for i in one.instances
            ]
    return out


def _simplified(instances: list[Instance], view: TemporalView, instance_view: View) -> Any:
    """One object per datasetId: ``{"type": kind, "values": [[value, time], ...]}``."""
    groups: dict[str | None, list[Instance]] = {}
    for inst in instances:
        groups.setdefault(inst.get("datasetId"), []).append(inst)
    out = []
    for dataset, members in groups.items():
        kind = members[-1]["type"]
        pairs = [[_value(i, view, instance_view), _time(i, view.time)] for i in members]
        shown: dict[str, Any] = {"type": kind, SIMPLIFIED_MEMBER.get(kind, "values"): pairs}
        if dataset is not None:
            shown["datasetId"] = dataset
        out.append(shown)
    return out[0] if len(out) == 1 else out


def _value(inst: Instance, view: TemporalView, instance_view: View) -> Any:
    kind = inst["type"]
    value = inst.get(VALUE_MEMBER.get(kind, "value"))
    if kind == VOCAB_PROPERTY:
        return (
            [view.terms.compact(v) for v in value]
            if isinstance(value, list)
            else (view.terms.compact(value) if isinstance(value, str) else value)
        )
    if kind == LANGUAGE_PROPERTY and view.lang is not None and isinstance(value, dict):
        return render_instance(inst, instance_view).get("value")
    return value


def _time(inst: Instance, prop: TimeProperty) -> Any:
    return inst.get(prop) or inst.get("createdAt")


def aggregated_attribute(
    kind: str, buckets: list[Bucket], methods: tuple[str, ...]
) -> dict[str, Any]:
    """``{"type": kind, "avg": [[value, start, end], ...], ...}`` (one list per method)."""
    out: dict[str, Any] = {"type": kind}
    for method in methods:
        out[method] = [
            [b.values[method], iso(b.start), iso(b.end)] for b in buckets if method in b.values
        ]
    return out
