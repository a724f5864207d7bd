"""The vocabulary of entity history (the NGSI-LD temporal API, GS CIM 009 V1.9.1 clause 5.7).

Every committed change of an attribute instance becomes one *history instance*: the instance as
it was written (expanded form), stamped with ``createdAt`` / ``modifiedAt`` (when the history
instance was recorded or last modified) and an ``instanceId``. A deleted attribute instance is
recorded as an instance whose value is ``urn:ngsi-ld:null`` with a ``deletedAt``. Instances of
one (tenant, entity, attribute) form a *series*, ordered by time: ``observedAt`` when the
instance has one, else the commit time. Times are kept as integer microseconds since the epoch.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, NamedTuple

from twin_server.core.timeutil import iso_utc, parse_datetime
from twin_server.core.types import VALUE_MEMBER, Instance

TimeProperty = Literal["observedAt", "createdAt", "modifiedAt", "deletedAt"]
TIME_PROPERTIES: tuple[TimeProperty, ...] = ("observedAt", "createdAt", "modifiedAt", "deletedAt")
NULL_URI = "urn:ngsi-ld:null"
INSTANCE_PREFIX = "urn:ngsi-ld:Instance:"
AGGREGATIONS = (
    "totalCount",
    "distinctCount",
    "sum",
    "avg",
    "min",
    "max",
    "stddev",
    "sumsq",
)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


@functools.lru_cache(maxsize=4096)
def micros(text: str) -> int:
    """An ISO 8601 date-time as microseconds since the epoch (ValueError if it is not one).
    Cached: every change of a group commit has the same time, and devices repeat theirs."""
    return (parse_datetime(text) - EPOCH) // MICROSECOND


def iso(us: int) -> str:
    """Microseconds since the epoch as the server writes times (UTC, ``Z``)."""
    return iso_utc(EPOCH + timedelta(microseconds=us))


def instance_id(iid: int) -> str:
    return f"{INSTANCE_PREFIX}{iid}"


def parse_instance_id(text: str) -> int | None:
    """The number of one of our instance ids, or None when it is not one."""
    if not text.startswith(INSTANCE_PREFIX):
        return None
    tail = text[len(INSTANCE_PREFIX) :]
    return int(tail) if tail.isdigit() and len(tail) < 19 else None


class HistoryRow(NamedTuple):
    """One history instance, ready to store (a named tuple: every committed change of an
    attribute makes one; made by ``_row`` and ``_deleted``)."""

    entity_id: str
    attr: str
    instance: Instance
    """Expanded, with createdAt / modifiedAt (and deletedAt) set; no instanceId yet."""
    observed: int
    created: int
    deleted: int | None
    number: float | None
    """The numeric value aggregations work on (None: not a number, or deleted)."""
    dataset: str


@dataclass(frozen=True, slots=True)
class TimeFilter:
    """A temporal query's time condition (``timerel`` / ``timeAt`` / ``endTimeAt``) on one
    time property; bounds are microseconds, ``start`` inclusive and ``end`` exclusive."""

    prop: TimeProperty = "observedAt"
    start: int | None = None
    end: int | None = None

    def admits(self, us: int | None) -> bool:
        if us is None:
            return False
        return (self.start is None or us >= self.start) and (self.end is None or us < self.end)


@dataclass(frozen=True, slots=True)
class SeriesQuery:
    """What to read of each series of one entity."""

    attrs: frozenset[str] | None = None
    """Expanded attribute names (None: every attribute)."""
    time: TimeFilter = TimeFilter()
    last_n: int | None = None
    """Only the last N instances (in time) of each series."""
    limit: int = 10_000
    """At most this many instances per series; more is reported as truncated."""


@dataclass(frozen=True, slots=True)
class Series:
    """The instances read of one attribute, oldest first."""

    attr: str
    instances: list[Instance]
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class AggregateQuery:
    """Aggregated values of one series: ``methods`` over each ``period`` from ``start``
    (None: from its first instance in ``time``); a period of None is the whole range."""

    methods: tuple[str, ...]
    time: TimeFilter = TimeFilter()
    start: int | None = None
    period: int | None = None


@dataclass(frozen=True, slots=True)
class Bucket:
    """Aggregated values of one period of a series."""

    start: int
    end: int
    values: dict[str, Any]


def rows_for_change(
    before: dict[str, Any] | None, after: dict[str, Any] | None, at: str
) -> list[HistoryRow]:
    """The history instances a committed change adds: every attribute instance that is new or
    changed, and a deletion marker for every instance that is gone (while the entity stays)."""
    if after is None:
        return []
    created = micros(at)
    entity_id = after["id"]
    new_attrs = after["attrs"]
    old_attrs = before["attrs"] if before is not None else {}
    rows = []
    kept = 0  # attributes of before that after still has
    for name, instances in new_attrs.items():
        before_instances = old_attrs.get(name)
        if before_instances is not None:
            kept += 1
            if before_instances is instances:
                continue  # untouched by the change (operations keep what they do not change)
            if len(before_instances) == 1 and len(instances) == 1:  # the usual attribute
                previous, inst = before_instances[0], instances[0]
                if previous.get("datasetId") == inst.get("datasetId"):
                    if previous is not inst and _differs(previous, inst):
                        rows.append(_row(entity_id, name, inst, at, created))
                    continue
        old = {i.get("datasetId"): i for i in before_instances or ()}
        for inst in instances:
            previous = old.pop(inst.get("datasetId"), None)
            if previous is None or (previous is not inst and _differs(previous, inst)):
                rows.append(_row(entity_id, name, inst, at, created))
        for gone in old.values():
            rows.append(_deleted(entity_id, name, gone, at, created))
    if kept < len(old_attrs):  # some attributes were deleted
        for name, instances in old_attrs.items():
            if name not in new_attrs:
                rows.extend(_deleted(entity_id, name, gone, at, created) for gone in instances)
    return rows


def history_row(entity_id: str, attr: str, instance: Instance, at: str) -> HistoryRow:
    """A history instance given directly (temporal API writes)."""
    return _row(entity_id, attr, instance, at, micros(at))


_SYSTEM = frozenset(("createdAt", "modifiedAt"))


def _differs(old: Instance, new: Instance) -> bool:
    """Whether an instance changed in anything but its system times (usually its value, the
    second member looked at)."""
    for key, value in new.items():
        if key not in _SYSTEM and (key not in old or old[key] != value):
            return True
    return any(key not in new and key not in _SYSTEM for key in old)


def _row(entity_id: str, attr: str, inst: Instance, at: str, created: int) -> HistoryRow:
    stamped = dict(inst)
    stamped["createdAt"] = at
    stamped["modifiedAt"] = at
    observed = inst.get("observedAt")
    value = inst.get("value")
    number = (
        float(value)
        if inst.get("type") == "Property"
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        else None
    )
    return HistoryRow(
        entity_id,
        attr,
        stamped,
        micros(observed) if observed else created,
        created,
        None,
        number,
        str(inst.get("datasetId", "")),
    )


def _deleted(entity_id: str, attr: str, gone: Instance, at: str, created: int) -> HistoryRow:
    kind = gone.get("type", "Property")
    marker: Instance = {"type": kind, VALUE_MEMBER.get(kind, "value"): NULL_URI}
    if "datasetId" in gone:
        marker["datasetId"] = gone["datasetId"]
    marker.update(createdAt=at, modifiedAt=at, deletedAt=at)
    return HistoryRow(
        entity_id, attr, marker, created, created, created, None, str(gone.get("datasetId", ""))
    )
