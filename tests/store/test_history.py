"""The history half of the store contract (the temporal API's storage), on every backend."""

from __future__ import annotations

from typing import Any

import pytest

from twin_server.core import operations
from twin_server.core.types import Entity
from twin_server.store import Store
from twin_server.temporal.model import (
    AggregateQuery,
    SeriesQuery,
    TimeFilter,
    history_row,
    micros,
    parse_instance_id,
)

pytestmark = pytest.mark.anyio
T = "https://example.org/"
E = "urn:ngsi-ld:Pump:1"
HOUR = 3_600_000_000


def pump(**attrs: Any) -> Entity:
    return {"id": E, "type": [T + "Pump"], "attrs": {T + k: [v] for k, v in attrs.items()}}


def observed(value: Any, at: str) -> dict[str, Any]:
    return {"type": "Property", "value": value, "observedAt": at}


async def write(store: Store, entity: Entity, tenant: str = "") -> None:
    (result,) = await store.apply(tenant, [(E, operations.upsert(entity, update_mode=False))])
    assert not isinstance(result, Exception), result


def values(series: Any) -> list[Any]:
    return [i.get("value") for i in series.instances]


async def test_each_committed_change_of_an_attribute_becomes_one_instance(store: Store) -> None:
    await write(
        store, pump(speed={"type": "Property", "value": 1}, mode={"type": "Property", "value": "a"})
    )
    await write(
        store, pump(speed={"type": "Property", "value": 2}, mode={"type": "Property", "value": "a"})
    )
    await write(
        store, pump(speed={"type": "Property", "value": 3}, mode={"type": "Property", "value": "a"})
    )
    assert await store.history_entities("") == [(E, (T + "Pump",))]
    series = {s.attr: s for s in await store.history_series("", E, SeriesQuery())}
    assert values(series[T + "speed"]) == [1, 2, 3]
    assert values(series[T + "mode"]) == ["a"]  # unchanged: recorded once
    first = series[T + "speed"].instances[0]
    assert parse_instance_id(first["instanceId"]) is not None
    assert first["createdAt"] == first["modifiedAt"]


async def test_series_are_ordered_by_observed_time_and_filtered_by_it(store: Store) -> None:
    for value, at in (
        (3, "2026-01-01T03:00:00Z"),
        (1, "2026-01-01T01:00:00Z"),
        (2, "2026-01-01T02:00:00Z"),
    ):
        await write(store, pump(speed=observed(value, at)))
    everything = await store.history_series("", E, SeriesQuery())
    assert values(everything[0]) == [1, 2, 3]
    after = TimeFilter(start=micros("2026-01-01T02:00:00Z"))
    assert values((await store.history_series("", E, SeriesQuery(time=after)))[0]) == [2, 3]
    before = TimeFilter(end=micros("2026-01-01T02:00:00Z"))
    assert values((await store.history_series("", E, SeriesQuery(time=before)))[0]) == [1]
    (last_two,) = await store.history_series("", E, SeriesQuery(last_n=2))
    assert values(last_two) == [2, 3]
    (capped,) = await store.history_series("", E, SeriesQuery(limit=2))
    assert (values(capped), capped.truncated) == ([1, 2], True)
    assert await store.history_series("", E, SeriesQuery(attrs=frozenset({T + "x"}))) == []


async def test_a_deleted_attribute_leaves_a_marker_with_deleted_at(store: Store) -> None:
    await write(
        store, pump(speed={"type": "Property", "value": 1}, mode={"type": "Property", "value": "a"})
    )
    await write(store, pump(mode={"type": "Property", "value": "a"}))
    (speed,) = await store.history_series("", E, SeriesQuery(attrs=frozenset({T + "speed"})))
    assert values(speed) == [1, "urn:ngsi-ld:null"]
    assert "deletedAt" in speed.instances[1]
    deletions = await store.history_series("", E, SeriesQuery(time=TimeFilter(prop="deletedAt")))
    assert [s.attr for s in deletions] == [T + "speed"]


async def test_aggregates_per_period_skip_deleted_markers(store: Store) -> None:
    rows = [
        history_row(E, T + "speed", observed(v, at), "2026-02-01T00:00:00Z")
        for v, at in (
            (1, "2026-01-01T00:10:00Z"),
            (3, "2026-01-01T00:50:00Z"),
            (3, "2026-01-01T01:20:00Z"),
            (10, "2026-01-01T03:00:00Z"),
        )
    ]
    await store.history_add("", E, [T + "Pump"], rows)
    start = micros("2026-01-01T00:00:00Z")
    methods = ("totalCount", "distinctCount", "sum", "avg", "min", "max", "stddev", "sumsq")
    query = AggregateQuery(methods, start=start, period=HOUR)
    buckets = await store.history_aggregate("", E, T + "speed", query)
    assert [(b.start - start) // HOUR for b in buckets] == [0, 1, 3]
    first = buckets[0].values
    assert (first["totalCount"], first["distinctCount"], first["sum"], first["avg"]) == (2, 2, 4, 2)
    assert (first["min"], first["max"], first["sumsq"], first["stddev"]) == (1, 3, 10, 1)
    assert buckets[1].end - buckets[1].start == HOUR
    whole = await store.history_aggregate(
        "", E, T + "speed", AggregateQuery(("avg", "distinctCount"))
    )
    assert [b.values for b in whole] == [{"avg": 17 / 4, "distinctCount": 3}]


async def test_instances_are_added_modified_and_deleted_directly(store: Store) -> None:
    at = "2026-02-01T00:00:00Z"
    rows = [
        history_row(E, T + "speed", observed(v, f"2026-01-01T0{v}:00:00Z"), at) for v in (1, 2, 3)
    ]
    rows.append(history_row(E, T + "mode", {"type": "Property", "value": "x"}, at))
    await store.history_add("", E, [T + "Pump"], rows)
    (speed,) = await store.history_series("", E, SeriesQuery(attrs=frozenset({T + "speed"})))
    middle = parse_instance_id(speed.instances[1]["instanceId"])
    assert middle is not None
    replacement = history_row(
        E, T + "speed", observed(20, "2026-01-01T02:00:00Z"), "2026-03-01T00:00:00Z"
    )
    assert await store.history_modify("", E, T + "speed", middle, replacement)
    assert not await store.history_modify("", E, T + "speed", 10**12, replacement)
    (speed,) = await store.history_series("", E, SeriesQuery(attrs=frozenset({T + "speed"})))
    assert values(speed) == [1, 20, 3]
    assert speed.instances[1]["createdAt"] != speed.instances[1]["modifiedAt"]
    assert await store.history_delete("", E, attr=T + "speed", instance=middle) == 1
    assert await store.history_delete("", E, attr=T + "mode") == 1
    assert [s.attr for s in await store.history_series("", E, SeriesQuery())] == [T + "speed"]
    assert await store.history_delete("", E) == 2
    assert await store.history_entities("") == []
    assert await store.history_series("", E, SeriesQuery()) == []


async def test_retention_prunes_by_age_and_by_count(store: Store) -> None:
    for v in range(1, 6):
        await write(store, pump(speed=observed(v, f"2026-01-0{v}T00:00:00Z")))
    assert await store.history_prune("", older_than=micros("2026-01-02T00:00:00Z")) == 1
    assert await store.history_prune("", keep_last=2) == 2
    (speed,) = await store.history_series("", E, SeriesQuery())
    assert values(speed) == [4, 5]


async def test_tenants_have_separate_histories(store: Store) -> None:
    await write(store, pump(speed={"type": "Property", "value": 1}), tenant="east")
    assert await store.history_entities("") == []
    assert [e for e, _ in await store.history_entities("east")] == [E]
    assert await store.history_prune("", keep_last=0) == 0
