"""Does a JSON value conform to a DTDL schema? Answers with the reason when it does not."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from twin_server.modeling.model import Element, ModelSet

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$")
TIME = re.compile(r"^\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?$")
DURATION = re.compile(
    r"^P(?!$)(?:\d+(?:\.\d+)?Y)?(?:\d+(?:\.\d+)?M)?(?:\d+(?:\.\d+)?W)?(?:\d+(?:\.\d+)?D)?"
    r"(?:T(?!$)(?:\d+(?:\.\d+)?H)?(?:\d+(?:\.\d+)?M)?(?:\d+(?:\.\d+)?S)?)?$"
)
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
GEOJSON = {
    "point": "Point",
    "multiPoint": "MultiPoint",
    "lineString": "LineString",
    "multiLineString": "MultiLineString",
    "polygon": "Polygon",
    "multiPolygon": "MultiPolygon",
}
_STRINGS = {"Date": DATE, "DateTime": DATE_TIME, "Time": TIME, "Duration": DURATION}


def schema_name(schema: Element) -> str:
    """How to name a schema in a message: its term for standard ones, else class and id."""
    if schema.standard:
        return schema.id.rsplit(":", 1)[-1].split(";")[0]
    return f"{schema.cls} {schema.id}"


def problem(models: ModelSet, schema_id: str, value: Any, path: str = "") -> str | None:
    """Why ``value`` does not conform to the schema ``schema_id`` (None when it does)."""
    schema = models.get(schema_id)
    if schema is None:
        return None  # a schema the server does not know: nothing to check against
    fits = _FITS.get(schema.cls)
    if fits is not None and fits(value):
        return None  # the common case, a primitive that fits: no message is made
    at = f" at {path}" if path else ""
    if schema.standard and schema.id.startswith("dtmi:standard:schema:geospatial:"):
        wanted = GEOJSON.get(schema_name(schema))
        if not (isinstance(value, dict) and value.get("type") == wanted):
            return f"the value{at} is not a GeoJSON {wanted}"
        return None
    check = _CHECKS.get(schema.cls)
    return check(models, schema, value, at, path) if check else None


def _boolean(models: ModelSet, schema: Element, value: Any, at: str, path: str) -> str | None:
    return None if isinstance(value, bool) else f"{value!r}{at} is not a boolean"


def _integer(models: ModelSet, schema: Element, value: Any, at: str, path: str) -> str | None:
    low, high = INT32 if schema.cls == "Integer" else INT64
    if isinstance(value, bool) or not isinstance(value, int):
        return f"{value!r}{at} is not an integer"
    if not low <= value <= high:
        return f"{value}{at} is out of the range of {schema.cls.lower()}"
    return None


def _number(models: ModelSet, schema: Element, value: Any, at: str, path: str) -> str | None:
    return None if _finite(value) else f"{value!r}{at} is not a finite number"


def _string(models: ModelSet, schema: Element, value: Any, at: str, path: str) -> str | None:
    if not isinstance(value, str):
        return f"{value!r}{at} is not a string"
    pattern = _STRINGS.get(schema.cls)
    if pattern is not None and not pattern.match(value):
        return f"{value!r}{at} is not a {schema.cls[0].lower() + schema.cls[1:]}"
    return None


def _enum(models: ModelSet, schema: Element, value: Any, at: str, path: str) -> str | None:
    allowed = [models[v].literals.get("enumValue") for v in schema.objects.get("enumValues", [])]
    if isinstance(value, bool) or value not in allowed:
        return f"{value!r}{at} is not one of the enum values {allowed}"
    return None


def _object(models: ModelSet, schema: Element, value: Any, at: str, path: str) -> str | None:
    if not isinstance(value, dict):
        return f"the value{at} is not a JSON object"
    fields = {models[f].name or "": models[f] for f in schema.objects.get("fields", [])}
    for key, item in value.items():
        field = fields.get(key)
        if field is None:
            return f"{key!r}{at} is not a field of the Object (fields: {sorted(fields)})"
        found = problem(models, field.one("schema") or "", item, f"{path}.{key}".lstrip("."))
        if found:
            return found
    return None


def _map(models: ModelSet, schema: Element, value: Any, at: str, path: str) -> str | None:
    if not isinstance(value, dict):
        return f"the value{at} is not a JSON object (a Map)"
    map_value = models.get(schema.one("mapValue") or "")
    if map_value is None:
        return None
    for key, item in value.items():
        found = problem(models, map_value.one("schema") or "", item, f"{path}[{key!r}]")
        if found:
            return found
    return None


def _array(models: ModelSet, schema: Element, value: Any, at: str, path: str) -> str | None:
    if not isinstance(value, list):
        return f"the value{at} is not a JSON array"
    element_schema = schema.one("elementSchema") or ""
    for index, item in enumerate(value):
        found = problem(models, element_schema, item, f"{path}[{index}]")
        if found:
            return found
    return None


def _finite(value: Any) -> bool:
    return isinstance(value, float | int) and not isinstance(value, bool) and math.isfinite(value)


def _int_in(low: int, high: int) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and low <= v <= high


_FITS: dict[str, Callable[[Any], bool]] = {
    "Boolean": lambda v: isinstance(v, bool),
    "Integer": _int_in(*INT32),
    "Long": _int_in(*INT64),
    "Double": _finite,
    "Float": _finite,
    "String": lambda v: isinstance(v, str),
}
"""Quick tests of the primitive schemas' values, passed before the checks that explain a
misfit (the validator runs at every write of a twin)."""

_CHECKS = {
    "Boolean": _boolean,
    "Integer": _integer,
    "Long": _integer,
    "Double": _number,
    "Float": _number,
    "String": _string,
    "Date": _string,
    "DateTime": _string,
    "Time": _string,
    "Duration": _string,
    "Enum": _enum,
    "Object": _object,
    "Map": _map,
    "Array": _array,
}
