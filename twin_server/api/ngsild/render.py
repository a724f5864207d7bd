"""Expanded entities -> NGSI-LD JSON: normalized, concise or keyValues, compacted with the
request's @context, with sysAttrs, attribute projection (attrs / pick / omit) and ``lang``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from twin_server.core.types import (
    LANGUAGE_PROPERTY,
    PROPERTY,
    VALUE_MEMBER,
    VOCAB_PROPERTY,
    Entity,
    Instance,
)
from twin_server.jsonld.termmap import TermMap

_SYS = ("createdAt", "modifiedAt")


@dataclass(frozen=True, slots=True)
class View:
    """How to show entities: format, system attributes, projection and language."""

    terms: TermMap
    format: str = "normalized"
    sys_attrs: bool = False
    pick: frozenset[str] | None = None
    """Expanded attribute names to keep; also "id" / "type" / "scope" when given."""
    omit: frozenset[str] = frozenset()
    lang: str | None = None
    datasets: frozenset[str] | None = None
    """datasetIds of the instances to show ("@none": the default instance); None: all."""


def render_entity(entity: Entity, view: View) -> dict[str, Any]:
    terms = view.terms
    out: dict[str, Any] = {}
    if _shown("id", view):
        out["id"] = entity["id"]
    if _shown("type", view):
        types = [terms.compact(t) for t in entity["type"]]
        out["type"] = types[0] if len(types) == 1 else types
    if "scope" in entity and _shown("scope", view):
        scope = entity["scope"]
        out["scope"] = scope[0] if len(scope) == 1 else scope
    if view.sys_attrs and view.format != "keyValues":
        for key in _SYS:
            if key in entity:
                out[key] = entity[key]
    datasets = view.datasets
    for name, instances in entity["attrs"].items():
        if not _shown(name, view):
            continue
        if datasets is not None:
            instances = [i for i in instances if i.get("datasetId", "@none") in datasets]
            if not instances:
                continue
        rendered = [render_instance(i, view) for i in instances]
        out[terms.compact(name)] = rendered[0] if len(rendered) == 1 else rendered
    return out


def _shown(name: str, view: View) -> bool:
    if name in view.omit:
        return False
    return view.pick is None or name in view.pick


def render_instance(inst: Instance, view: View) -> Any:
    """One attribute instance as the view shows it."""
    if view.format == "keyValues":
        return _key_value(inst, view)
    kind = inst["type"]
    member = VALUE_MEMBER[kind]
    value = inst[member]
    out: dict[str, Any] = {"type": kind}
    if kind == LANGUAGE_PROPERTY and view.lang is not None:
        out = {"type": PROPERTY, "value": _pick_language(value, view.lang)}
        out["lang"] = _chosen_tag(value, view.lang)
    elif kind == VOCAB_PROPERTY:
        out[member] = _compact_vocab(value, view.terms)
    else:
        out[member] = value
    for key in ("observedAt", "unitCode", "datasetId"):
        if key in inst:
            out[key] = inst[key]
    if "objectType" in inst:
        out["objectType"] = _compact_vocab(inst["objectType"], view.terms)
    if view.sys_attrs:
        for key in _SYS:
            if key in inst:
                out[key] = inst[key]
    for name, subs in inst.get("sub", {}).items():
        rendered = [render_instance(s, view) for s in subs]
        out[view.terms.compact(name)] = rendered[0] if len(rendered) == 1 else rendered
    if view.format == "concise":
        return _concise(out)
    return out


def _concise(out: dict[str, Any]) -> Any:
    """Drop what can be inferred: the type, and the wrapper of a bare scalar Property value."""
    kind = out.pop("type")
    if kind == PROPERTY and list(out) == ["value"] and not isinstance(out["value"], dict | list):
        return out["value"]
    return out


def _key_value(inst: Instance, view: View) -> Any:
    kind = inst["type"]
    value = inst[VALUE_MEMBER[kind]]
    if kind == LANGUAGE_PROPERTY:
        return _pick_language(value, view.lang) if view.lang else {"languageMap": value}
    if kind == VOCAB_PROPERTY:
        return _compact_vocab(value, view.terms)
    return value


def _compact_vocab(value: Any, terms: TermMap) -> Any:
    if isinstance(value, list):
        return [terms.compact(v) for v in value]
    return terms.compact(value)


def _chosen_tag(language_map: dict[str, Any], lang: str) -> str:
    for wanted in _preferences(lang):
        if wanted == "*" and language_map:
            return next(iter(language_map))
        if wanted in language_map:
            return wanted
    return "@none" if "@none" in language_map else next(iter(language_map))


def _pick_language(language_map: dict[str, Any], lang: str) -> Any:
    return language_map[_chosen_tag(language_map, lang)]


def _preferences(lang: str) -> list[str]:
    """Language tags of a ``lang`` parameter (``en``, ``fr,en;q=0.5``, ``*``) by preference."""
    ranked = []
    for index, part in enumerate(lang.split(",")):
        tag, _, q = part.strip().partition(";q=")
        try:
            quality = float(q) if q else 1.0
        except ValueError:
            quality = 0.0
        ranked.append((-quality, index, tag.strip()))
    return [tag for _, _, tag in sorted(ranked)]


def feature(entity: Entity, view: View, geometry_property: str) -> dict[str, Any]:
    """An entity as a GeoJSON Feature (Accept: application/geo+json)."""
    properties = render_entity(entity, view)
    properties.pop("id", None)
    geometry = None
    for inst in entity["attrs"].get(geometry_property, ()):
        if inst.get("type") == "GeoProperty":
            geometry = inst["value"]
            break
    return {"id": entity["id"], "type": "Feature", "geometry": geometry, "properties": properties}
