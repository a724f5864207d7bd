"""From a device's decoded message to NGSI-LD attributes, by the binding's mappings: a JSON
pointer picks the value, which is type-checked, scaled and offset, range-checked and stamped
with its unit and time. A value that does not fit is a ``Rejected`` with the reason; the twin
is not touched by that message."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from twin_server.adapters.bindings import AttributeMapping
from twin_server.core.timeutil import epoch_iso, parse_datetime

MISSING = object()
_TYPES: dict[str, tuple[type, ...]] = {
    "number": (int, float),
    "integer": (int,),
    "string": (str,),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


class Rejected(ValueError):
    """A message (or one of its values) that cannot update the twin, and why."""


def pointer(document: Any, path: str) -> Any:
    """The value at a JSON pointer (RFC 6901) in ``document``; ``MISSING`` when absent."""
    if path == "":
        return document
    if not path.startswith("/"):
        raise Rejected(f"{path!r} is not a JSON pointer (it starts with /)")
    current = document
    for raw in path[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(current, dict):
            if token not in current:
                return MISSING
            current = current[token]
        elif isinstance(current, list) and token.isdigit():
            index = int(token)
            if index >= len(current):
                return MISSING
            current = current[index]
        else:
            return MISSING
    return current


def attributes(
    mappings: Sequence[AttributeMapping], payload: Any, received: Callable[[], str]
) -> dict[str, dict[str, Any]]:
    """The NGSI-LD attributes (by mapped name) a JSON message carries. Absent values are left
    out; a value that does not fit raises ``Rejected``; nothing mapped is ``Rejected`` too.
    ``received`` gives the time a value without a time of its own is observed at (asked only
    then, and once)."""
    found: dict[str, dict[str, Any]] = {}
    now: str | None = None
    for mapping in mappings:
        raw = pointer(payload, mapping.source or "/" + mapping.name)
        if raw is MISSING:
            continue
        stamp = MISSING if mapping.observed_at is None else pointer(payload, mapping.observed_at)
        if stamp is not MISSING:
            observed = timestamp(stamp, mapping.name)
        else:
            observed = now = now or received()
        found[mapping.name] = attribute(mapping, raw, observed)
    if not found:
        wanted = sorted(m.source or "/" + m.name for m in mappings)
        raise Rejected(f"the message has none of the mapped values {wanted}")
    return found


def attribute(mapping: AttributeMapping, raw: Any, observed: str) -> dict[str, Any]:
    """One NGSI-LD Property from one device value."""
    value = convert(mapping, raw)
    instance: dict[str, Any] = {"type": "Property", "value": value, "observedAt": observed}
    if mapping.unit_code is not None:
        instance["unitCode"] = mapping.unit_code
    return instance


def convert(mapping: AttributeMapping, raw: Any) -> Any:
    """The value checked against the mapping's type and range, scaled and offset."""
    name = mapping.name
    if raw is None:
        raise Rejected(f"{name}: the value is null")
    if mapping.expect != "any":
        kinds = _TYPES[mapping.expect]
        if (isinstance(raw, bool) and mapping.expect != "boolean") or not isinstance(raw, kinds):
            raise Rejected(f"{name}: {raw!r} is not a {mapping.expect}")
    numeric = isinstance(raw, int | float) and not isinstance(raw, bool)
    if numeric:
        if not math.isfinite(raw):
            raise Rejected(f"{name}: {raw!r} is not a finite number")
        value: Any = raw * mapping.scale + mapping.offset if _scaled(mapping) else raw
        if mapping.minimum is not None and value < mapping.minimum:
            raise Rejected(f"{name}: {value} is below the minimum {mapping.minimum}")
        if mapping.maximum is not None and value > mapping.maximum:
            raise Rejected(f"{name}: {value} is above the maximum {mapping.maximum}")
        if mapping.expect == "integer" and isinstance(value, float) and value.is_integer():
            value = int(value)
        return value
    if _scaled(mapping) or mapping.minimum is not None or mapping.maximum is not None:
        raise Rejected(f"{name}: {raw!r} is not a number (the mapping scales or bounds it)")
    return raw


def timestamp(stamp: Any, name: str) -> str:
    """An ISO 8601 time (UTC, Z) from an ISO string or epoch seconds."""
    if isinstance(stamp, int | float) and not isinstance(stamp, bool) and math.isfinite(stamp):
        try:
            return epoch_iso(stamp)
        except (OverflowError, OSError, ValueError):
            raise Rejected(f"{name}: timestamp {stamp!r} is out of range") from None
    if isinstance(stamp, str):
        try:
            parse_datetime(stamp)
        except ValueError:
            raise Rejected(f"{name}: timestamp {stamp!r} is not an ISO 8601 date-time") from None
        return stamp
    raise Rejected(f"{name}: timestamp {stamp!r} is neither ISO 8601 nor epoch seconds")


def _scaled(mapping: AttributeMapping) -> bool:
    return mapping.scale != 1.0 or mapping.offset != 0.0
