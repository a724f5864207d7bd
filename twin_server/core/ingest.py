"""NGSI-LD JSON (compacted, normalized or concise) -> the expanded internal form, validated.

Every edge that accepts NGSI-LD entity JSON (REST, GraphQL, batch) goes through here, so every
one of them rejects the same inputs with the same words. Nothing here touches the store.
"""

from __future__ import annotations

import re
from typing import Any

from twin_server.core import geojson
from twin_server.core.timeutil import parse_datetime
from twin_server.core.types import (
    ENTITY_RESERVED,
    FORBIDDEN_ATTRIBUTE_NAMES,
    GEO_PROPERTY,
    JSON_PROPERTY,
    LANGUAGE_PROPERTY,
    LIST_PROPERTY,
    LIST_RELATIONSHIP,
    PROPERTY,
    RELATIONSHIP,
    SYSTEM_MEMBERS,
    VALUE_MEMBER,
    VOCAB_PROPERTY,
    Attrs,
    Entity,
    Instance,
)
from twin_server.errors import BadRequestData
from twin_server.jsonld.termmap import TermMap, is_absolute_iri

MAX_SUB_ATTRIBUTE_DEPTH = 16
"""Deepest nesting of sub-attributes accepted (deeper is refused, not a crash)."""
NULL_URI = "urn:ngsi-ld:null"
"""The NGSI-LD null: in a merge it deletes what it stands for."""

_MEMBER_KIND = {member: kind for kind, member in VALUE_MEMBER.items() if kind != GEO_PROPERTY}
_BAD_NAME = re.compile(r"[\s<>\"'=;()\[\]{}\\^`|]")
_SCOPE = re.compile(r"^/[^\s/#+]+(/[^\s/#+]+)*$")
_SPACE = re.compile(r"\s")  # what str.isspace calls whitespace, every code point checked
_NOT_META = frozenset({"type", *SYSTEM_MEMBERS, "instanceId"})  # an instance's members skipped
_VALUE_MEMBERS = frozenset(VALUE_MEMBER.values())
_LANG_TAG = re.compile(r"^(@none|[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*)$")
_INSTANCE_MEMBERS = frozenset(
    {
        "type",
        *VALUE_MEMBER.values(),
        "observedAt",
        "unitCode",
        "datasetId",
        "objectType",
        *SYSTEM_MEMBERS,
        "instanceId",
        "previousValue",
        "previousObject",
    }
)


def entity_from_payload(
    payload: Any,
    terms: TermMap,
    *,
    require_id: bool = True,
    require_type: bool | None = None,
    allow_null: bool = False,
) -> Entity:
    """Parse a whole entity. ``require_type`` defaults to ``require_id``; ``allow_null`` admits
    ``urn:ngsi-ld:null`` (merge patches)."""
    if require_type is None:
        require_type = require_id
    if not isinstance(payload, dict):
        raise BadRequestData("an entity must be a JSON object")
    entity: Entity = {}
    if require_id or "id" in payload:
        entity["id"] = entity_id(payload.get("id"))
    if "type" in payload or require_type:
        entity["type"] = entity_types(payload.get("type"), terms)
    if "scope" in payload:
        entity["scope"] = scopes(payload["scope"])
    entity["attrs"] = attrs_from_payload(
        {k: v for k, v in payload.items() if k not in ENTITY_RESERVED},
        terms,
        allow_null=allow_null,
    )
    return entity


def attrs_from_payload(payload: Any, terms: TermMap, *, allow_null: bool = False) -> Attrs:
    """Parse the attributes of a fragment (``{"name": attribute, ...}``)."""
    if not isinstance(payload, dict):
        raise BadRequestData("attributes must be given as a JSON object")
    attrs: Attrs = {}
    for name, value in payload.items():
        if name in SYSTEM_MEMBERS or name == "@context":
            continue
        iri = attribute_name(name, terms)
        if iri in attrs:
            raise BadRequestData(f"attribute {name!r} is given twice (as different short names)")
        attrs[iri] = attribute_instances(name, value, terms, allow_null=allow_null)
    return attrs


def entity_id(value: Any) -> str:
    if value is None:
        raise BadRequestData("the entity has no id")
    if not isinstance(value, str) or not is_absolute_iri(value) or _has_space(value):
        raise BadRequestData(f"entity id {value!r} is not a URI")
    return value


def entity_types(value: Any, terms: TermMap) -> list[str]:
    if value is None:
        raise BadRequestData("the entity has no type")
    names = value if isinstance(value, list) else [value]
    if not names:
        raise BadRequestData("the entity's type list is empty")
    out: list[str] = []
    for name in names:
        if not isinstance(name, str) or not name or _BAD_NAME.search(name):
            raise BadRequestData(f"entity type {name!r} is not a valid type name")
        iri = terms.expand(name)
        if iri not in out:
            out.append(iri)
    return out


def scopes(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    for item in items:
        if not isinstance(item, str) or not _SCOPE.match(item):
            raise BadRequestData(f"scope {item!r} is not a scope (such as /Madrid/Centro)")
    return list(dict.fromkeys(items))


def attribute_name(name: Any, terms: TermMap) -> str:
    if not isinstance(name, str) or not name or _BAD_NAME.search(name):
        raise BadRequestData(f"attribute name {name!r} has characters NGSI-LD forbids")
    if name in FORBIDDEN_ATTRIBUTE_NAMES:
        raise BadRequestData(f"{name!r} cannot be used as an attribute name")
    return terms.expand(name)


def attribute_instances(
    name: str, value: Any, terms: TermMap, *, allow_null: bool = False, depth: int = 0
) -> list[Instance]:
    """Parse one attribute: an instance, or an array of instances with distinct datasetIds."""
    if allow_null and value == NULL_URI:
        return []
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        instances = [instance(name, v, terms, allow_null=allow_null, depth=depth) for v in value]
        seen: set[str | None] = set()
        for inst in instances:
            dataset = inst.get("datasetId")
            if dataset in seen:
                what = f"datasetId {dataset}" if dataset else "no datasetId"
                raise BadRequestData(f"attribute {name!r} has two instances with {what}")
            seen.add(dataset)
        return instances
    return [instance(name, value, terms, allow_null=allow_null, depth=depth)]


def instance(
    name: str, value: Any, terms: TermMap, *, allow_null: bool = False, depth: int = 0
) -> Instance:
    """Parse one attribute instance, in normalized or concise form."""
    if depth > MAX_SUB_ATTRIBUTE_DEPTH:
        raise BadRequestData(
            f"sub-attributes nest deeper than {MAX_SUB_ATTRIBUTE_DEPTH} levels (at {name!r})"
        )
    if not isinstance(value, dict):
        if value is None:
            raise BadRequestData(f"attribute {name!r} is null; NGSI-LD has no null values")
        return {"type": PROPERTY, "value": value}
    declared = value.get("type")
    if declared is not None and not isinstance(declared, str):
        raise BadRequestData(
            f"attribute {name!r} has type {declared!r}, which is not an NGSI-LD attribute type"
        )
    if declared in VALUE_MEMBER:
        kind = declared  # the usual case: a normalized attribute says what it is
    else:
        if geojson.is_geometry_type(declared) and "coordinates" in value:
            value = {"type": GEO_PROPERTY, "value": value}  # concise GeoProperty
        kind = _kind_of(name, value)
    inst: Instance = {"type": kind}
    member = VALUE_MEMBER[kind]
    if member not in value:
        raise BadRequestData(f"{kind} {name!r} has no {member!r} member")
    inst[member] = _parse_value(name, kind, value[member], terms)
    for key, item in value.items():
        if key == member or key in _NOT_META:
            continue
        if key in _INSTANCE_MEMBERS:
            _meta(name, kind, key, item, inst, terms)
        else:
            sub = inst.setdefault("sub", {})
            iri = attribute_name(key, terms)
            if allow_null and item == NULL_URI:
                sub[iri] = []
            else:
                sub[iri] = attribute_instances(
                    key, item, terms, allow_null=allow_null, depth=depth + 1
                )
    return inst


def _kind_of(name: str, value: dict[str, Any]) -> str:
    declared = value.get("type")  # None or a string: ``instance`` refused any other type
    if declared in VALUE_MEMBER:
        return str(declared)
    if declared is not None:  # (a bare geometry with coordinates was made a GeoProperty)
        hint = (
            " (a GeoJSON geometry needs coordinates)" if geojson.is_geometry_type(declared) else ""
        )
        raise BadRequestData(
            f"attribute {name!r} has type {declared!r}, which is not an NGSI-LD attribute type"
            + hint
        )
    found = [kind for member, kind in _MEMBER_KIND.items() if member in value]
    if len(found) == 1:
        if found[0] == PROPERTY and geojson.looks_like_geometry(value["value"]):
            return GEO_PROPERTY
        return found[0]
    if not found:
        raise BadRequestData(
            f"attribute {name!r} has no type and none of value, object, languageMap, vocab, "
            "json, valueList, objectList: its kind cannot be told"
        )
    raise BadRequestData(f"attribute {name!r} has members of several kinds: {found}")


def _parse_value(name: str, kind: str, value: Any, terms: TermMap) -> Any:
    if value is None:
        raise BadRequestData(f"{kind} {name!r} has a null value")
    if kind == PROPERTY:
        return value
    if kind == RELATIONSHIP:
        items = value if isinstance(value, list) else [value]
        for item in items:
            _uri(item, f"object of relationship {name!r}")
        return value
    if kind == GEO_PROPERTY:
        try:
            geojson.validate_geometry(value)
        except ValueError as exc:
            raise BadRequestData(f"GeoProperty {name!r}: {exc}") from exc
        return value
    if kind == LANGUAGE_PROPERTY:
        return _language_map(name, value)
    if kind == VOCAB_PROPERTY:
        items = value if isinstance(value, list) else [value]
        if not items or not all(isinstance(i, str) and i for i in items):
            raise BadRequestData(f"vocab of {name!r} must be a term or a list of terms")
        expanded = [terms.expand(i) for i in items]
        return expanded if isinstance(value, list) else expanded[0]
    if kind == JSON_PROPERTY:
        return value
    if kind == LIST_PROPERTY:
        if not isinstance(value, list):
            raise BadRequestData(f"valueList of {name!r} must be an array")
        return value
    if kind == LIST_RELATIONSHIP:
        return _object_list(name, value)
    raise AssertionError(kind)


def _language_map(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not value:
        raise BadRequestData(f"languageMap of {name!r} must be an object of language -> string")
    for tag, text in value.items():
        if not _LANG_TAG.match(tag):
            raise BadRequestData(f"languageMap of {name!r}: {tag!r} is not a language tag")
        texts = text if isinstance(text, list) else [text]
        if not all(isinstance(t, str) for t in texts):
            raise BadRequestData(f"languageMap of {name!r}: the {tag!r} entry must be a string")
    return value


def _object_list(name: str, value: Any) -> list[str]:
    if not isinstance(value, list):
        raise BadRequestData(f"objectList of {name!r} must be an array")
    out = []
    for item in value:
        target = item.get("object") if isinstance(item, dict) else item
        out.append(_uri(target, f"objectList entry of {name!r}"))
    return out


def _meta(name: str, kind: str, key: str, item: Any, inst: Instance, terms: TermMap) -> None:
    if key in _VALUE_MEMBERS or key in ("previousValue", "previousObject"):
        raise BadRequestData(f"{kind} {name!r} cannot have a {key!r} member")
    if key == "observedAt":
        try:
            parse_datetime(item)
        except (ValueError, TypeError) as exc:
            raise BadRequestData(f"observedAt of {name!r} is not an ISO 8601 date-time") from exc
        inst[key] = item
    elif key == "unitCode":
        if not isinstance(item, str) or not item:
            raise BadRequestData(f"unitCode of {name!r} must be a non-empty string")
        inst[key] = item
    elif key == "datasetId":
        inst[key] = _uri(item, f"datasetId of {name!r}")
    elif key == "objectType":
        if kind not in (RELATIONSHIP, LIST_RELATIONSHIP):
            raise BadRequestData(f"objectType is only for relationships, not {kind} {name!r}")
        items = item if isinstance(item, list) else [item]
        if not all(isinstance(i, str) and i for i in items):
            raise BadRequestData(f"objectType of {name!r} must be a type name or list of them")
        inst[key] = (
            [terms.expand(i) for i in items] if isinstance(item, list) else terms.expand(item)
        )


def _uri(value: Any, what: str) -> str:
    if not isinstance(value, str) or not is_absolute_iri(value) or _has_space(value):
        raise BadRequestData(f"{what} is not a URI: {value!r}")
    return value


def _has_space(value: str) -> bool:
    return _SPACE.search(value) is not None
