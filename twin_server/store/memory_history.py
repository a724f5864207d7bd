"""Entity history in the in-memory store: the reference behaviour of the history contract."""

from __future__ import annotations

import bisect
import copy
import itertools
from collections.abc import Sequence
from typing import Any

import orjson

from twin_server.core.types import Entity
from twin_server.temporal.aggregate import Sums, bucket, bucket_index
from twin_server.temporal.model import (
    AggregateQuery,
    Bucket,
    HistoryRow,
    Series,
    SeriesQuery,
    TimeFilter,
    instance_id,
    rows_for_change,
)

SeriesKey = tuple[str, str, str]


class Stored:
    __slots__ = ("created", "deleted", "iid", "instance", "modified", "number", "observed")

    def __init__(self, iid: int, row: HistoryRow) -> None:
        self.iid = iid
        self.observed = row.observed
        self.created = row.created
        self.modified = row.created
        self.deleted = row.deleted
        self.number = row.number
        self.instance = copy.deepcopy(row.instance)

    def time(self, prop: str) -> int | None:
        return {
            "observedAt": self.observed,
            "createdAt": self.created,
            "modifiedAt": self.modified,
            "deletedAt": self.deleted,
        }[prop]

    def shown(self) -> dict[str, Any]:
        return {**copy.deepcopy(self.instance), "instanceId": instance_id(self.iid)}


class MemoryHistory:
    """The history half of ``MemoryStore`` (a mixin)."""

    def __init__(self) -> None:
        self._history_types: dict[tuple[str, str], tuple[str, ...]] = {}
        self._series: dict[SeriesKey, list[Stored]] = {}  # each ordered by observed time
        self._iids = itertools.count(1)

    def _record_history(
        self, tenant: str, before: Entity | None, after: Entity | None, at: str
    ) -> None:
        if after is None:
            return
        self._history_types[(tenant, after["id"])] = tuple(after["type"])
        self._insert(tenant, rows_for_change(before, after, at))

    def _insert(self, tenant: str, rows: Sequence[HistoryRow]) -> None:
        for row in rows:
            orjson.dumps(row.instance)
            series = self._series.setdefault((tenant, row.entity_id, row.attr), [])
            stored = Stored(next(self._iids), row)
            series.insert(bisect.bisect(series, (stored.observed, stored.iid), key=_order), stored)

    def _of(self, tenant: str, entity_id: str) -> list[tuple[str, list[Stored]]]:
        return sorted(
            (attr, series)
            for (t, e, attr), series in self._series.items()
            if t == tenant and e == entity_id
        )

    async def history_entities(
        self, tenant: str, ids: frozenset[str] | None = None
    ) -> list[tuple[str, tuple[str, ...]]]:
        return sorted(
            (e, types)
            for (t, e), types in self._history_types.items()
            if t == tenant and (ids is None or e in ids)
        )

    async def history_series(self, tenant: str, entity_id: str, query: SeriesQuery) -> list[Series]:
        found = []
        for attr, series in self._of(tenant, entity_id):
            if query.attrs is not None and attr not in query.attrs:
                continue
            chosen = sorted(
                (s for s in series if _admits(s, query.time)),
                key=lambda s: (s.time(query.time.prop) or 0, s.iid),
            )
            wanted = query.limit if query.last_n is None else min(query.last_n, query.limit)
            if query.last_n is not None:
                truncated = query.last_n > query.limit and len(chosen) > wanted
                chosen = chosen[-wanted:] if wanted else []
            else:
                truncated = len(chosen) > wanted
                chosen = chosen[:wanted]
            if chosen:
                found.append(Series(attr, [s.shown() for s in chosen], truncated))
        return found

    async def history_aggregate(
        self, tenant: str, entity_id: str, attr: str, query: AggregateQuery
    ) -> list[Bucket]:
        series = self._series.get((tenant, entity_id, attr), [])
        chosen = [s for s in series if _admits(s, query.time)]
        if not chosen:
            return []
        times = [s.time(query.time.prop) or 0 for s in chosen]
        start = query.start if query.start is not None else min(times)
        end = query.time.end if query.time.end is not None else max(times) + 1
        sums: dict[int, Sums] = {}
        for stored, at in zip(chosen, times, strict=True):
            if stored.deleted is not None:
                continue
            value = stored.instance.get("value", stored.instance.get("object"))
            index = bucket_index(at, start, query.period)
            sums.setdefault(index, Sums()).add(stored.number, orjson.dumps(value))
        return [bucket(i, start, query.period, end, sums[i], query.methods) for i in sorted(sums)]

    async def history_add(
        self, tenant: str, entity_id: str, types: Sequence[str], rows: Sequence[HistoryRow]
    ) -> None:
        self._history_types[(tenant, entity_id)] = tuple(types)
        self._insert(tenant, rows)

    async def history_delete(
        self,
        tenant: str,
        entity_id: str,
        *,
        attr: str | None = None,
        dataset: str | None = None,
        instance: int | None = None,
    ) -> int:
        total = 0
        for name, series in self._of(tenant, entity_id):
            if attr is not None and name != attr:
                continue
            keep = [
                s
                for s in series
                if (instance is not None and s.iid != instance)
                or (instance is None and dataset is not None and _dataset(s) != dataset)
            ]
            total += len(series) - len(keep)
            series[:] = keep
        if attr is None and instance is None:
            for key in [k for k in self._series if k[0] == tenant and k[1] == entity_id]:
                del self._series[key]
            self._history_types.pop((tenant, entity_id), None)
        return total

    async def history_modify(
        self, tenant: str, entity_id: str, attr: str, instance: int, row: HistoryRow
    ) -> bool:
        series = self._series.get((tenant, entity_id, attr), [])
        for index, stored in enumerate(series):
            if stored.iid == instance:
                created = stored.instance.get("createdAt")
                replacement = Stored(instance, row)
                replacement.created = stored.created
                replacement.modified = row.created
                replacement.instance["createdAt"] = created
                del series[index]
                series.insert(
                    bisect.bisect(series, (row.observed, instance), key=_order), replacement
                )
                return True
        return False

    async def history_prune(
        self, tenant: str, *, older_than: int | None = None, keep_last: int | None = None
    ) -> int:
        total = 0
        for (t, _, _), series in self._series.items():
            if t != tenant:
                continue
            keep = [s for s in series if older_than is None or s.observed >= older_than]
            if keep_last is not None:
                keep = keep[-keep_last:] if keep_last else []
            total += len(series) - len(keep)
            series[:] = keep
        return total


def _order(stored: Stored) -> tuple[int, int]:
    return stored.observed, stored.iid


def _admits(stored: Stored, time: TimeFilter) -> bool:
    if time.prop == "deletedAt" and stored.deleted is None:
        return False
    return (time.start is None and time.end is None) or time.admits(stored.time(time.prop))


def _dataset(stored: Stored) -> str:
    return str(stored.instance.get("datasetId", ""))
