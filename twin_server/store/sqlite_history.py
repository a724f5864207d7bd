"""Entity history in the embedded SQLite store: written in the same transaction as the change
it records, so history is exactly as durable as the entity itself.

A series is one (tenant, entity, attribute); its instances are indexed by (series, time), so
``lastN`` reads only what it returns and an aggregation reads only its range, whatever else
is stored. Aggregations run in SQL over a numeric column.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from twin_server.core.types import Entity
from twin_server.errors import StoreUnavailable
from twin_server.store import sqlite_bulk as bulk
from twin_server.temporal.aggregate import Sums, bucket
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

SCHEMA = """
CREATE TABLE IF NOT EXISTS history_entities (
    tenant TEXT NOT NULL, id TEXT NOT NULL, types BLOB NOT NULL, PRIMARY KEY (tenant, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS history_series (
    series INTEGER PRIMARY KEY, tenant TEXT NOT NULL, id TEXT NOT NULL, attr TEXT NOT NULL,
    UNIQUE (tenant, id, attr)
);
CREATE TABLE IF NOT EXISTS history (
    iid INTEGER PRIMARY KEY, series INTEGER NOT NULL, ts INTEGER NOT NULL,
    created INTEGER NOT NULL, modified INTEGER NOT NULL, deleted INTEGER,
    dataset TEXT NOT NULL, num REAL, doc BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS history_by_time ON history (series, ts);
"""
# One statement per table, whatever the rows (see sqlite_bulk)
_HISTORY_ENTITIES = (
    "INSERT OR REPLACE INTO history_entities (tenant, id, types) "
    "SELECT * FROM (VALUES {values}) WHERE column1 IS NOT NULL"
)
_HISTORY_SERIES = (
    "INSERT OR IGNORE INTO history_series (tenant, id, attr) "
    "SELECT * FROM (VALUES {values}) WHERE column1 IS NOT NULL"
)
_HISTORY_ROWS = (
    "INSERT INTO history (series, ts, created, modified, deleted, dataset, num, doc) "
    "SELECT * FROM (VALUES {values}) WHERE column1 IS NOT NULL"
)
COLUMN = {
    "observedAt": "ts",
    "createdAt": "created",
    "modifiedAt": "modified",
    "deletedAt": "deleted",
}
SeriesKey = tuple[str, str, str]
T = TypeVar("T")
SERIES_CACHE = 50_000  # series ids the writer remembers


@dataclass(slots=True)
class HistoryBatch:
    """The history of one job of a group commit, written at its end."""

    entities: list[tuple[str, str, bytes]] = field(default_factory=list)
    rows: list[tuple[str, HistoryRow]] = field(default_factory=list)


class SqliteHistory:
    """The history half of ``SqliteStore`` (a mixin: it uses the store's connections)."""

    _series_ids: dict[SeriesKey, int]
    _history_executor: ThreadPoolExecutor
    _history_db: sqlite3.Connection | None

    if TYPE_CHECKING:  # provided by SqliteStore

        @property
        def _db(self) -> sqlite3.Connection: ...

        async def _run_raw(self, work: Callable[[sqlite3.Connection], Any]) -> None: ...

    # -- writing (in the writer thread) --------------------------------------------------------

    def _record_history(
        self,
        batch: HistoryBatch,
        tenant: str,
        before: Entity | None,
        after: Entity | None,
        at: str,
    ) -> None:
        """Gather the history of one committed change; ``_write_history`` writes a job's."""
        if after is None:
            return
        if before is None or before["type"] != after["type"]:
            batch.entities.append((tenant, after["id"], orjson.dumps(list(after["type"]))))
        batch.rows.extend((tenant, row) for row in rows_for_change(before, after, at))

    def _write_history(self, conn: sqlite3.Connection, batch: HistoryBatch) -> None:
        """Write a job's history in a few statements, whatever its size: series ids of every
        new (tenant, entity, attribute) are created and read back in bulk."""
        if batch.entities:
            bulk.run(conn, _HISTORY_ENTITIES, batch.entities)
        if not batch.rows:
            return
        keys = [(tenant, r.entity_id, r.attr) for tenant, r in batch.rows]
        self._resolve_series(conn, [k for k in dict.fromkeys(keys) if k not in self._series_ids])
        ids = self._series_ids
        rows = [
            (
                ids[key],
                r.observed,
                r.created,
                r.created,
                r.deleted,
                r.dataset,
                r.number,
                orjson.dumps(r.instance),
            )
            for key, (_, r) in zip(keys, batch.rows, strict=True)
        ]
        bulk.run(conn, _HISTORY_ROWS, rows)

    def _resolve_series(self, conn: sqlite3.Connection, missing: list[SeriesKey]) -> None:
        if len(self._series_ids) + len(missing) >= SERIES_CACHE:
            self._series_ids.clear()
        for start in range(0, len(missing), 500):
            chunk = missing[start : start + 500]
            bulk.run(conn, _HISTORY_SERIES, chunk)
            values = ",".join("(?, ?, ?)" for _ in chunk)
            rows = conn.execute(
                f"SELECT s.series, s.tenant, s.id, s.attr FROM (VALUES {values}) AS v "
                "JOIN history_series AS s ON s.tenant = v.column1 AND s.id = v.column2 "
                "AND s.attr = v.column3",
                [part for key in chunk for part in key],
            )
            for series, tenant, entity_id, attr in rows:
                self._series_ids[(tenant, entity_id, attr)] = series

    def _forget_series(self) -> None:
        """After a rollback: cached series ids may name rows that were never committed."""
        self._series_ids.clear()

    # -- reading -------------------------------------------------------------------------------

    async def history_entities(
        self, tenant: str, ids: frozenset[str] | None = None
    ) -> list[tuple[str, tuple[str, ...]]]:
        if ids is None:
            rows = self._db.execute(
                "SELECT id, types FROM history_entities WHERE tenant=? ORDER BY id", (tenant,)
            ).fetchall()
        else:  # by the primary key, not a scan of the tenant's entities
            wanted, rows = sorted(ids), []
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                rows += self._db.execute(
                    "SELECT id, types FROM history_entities WHERE tenant=? AND id IN "
                    f"({','.join('?' * len(chunk))})",
                    (tenant, *chunk),
                ).fetchall()
            rows.sort()
        return [(r[0], tuple(orjson.loads(r[1]))) for r in rows]

    def _series_of(
        self, tenant: str, entity_id: str, db: sqlite3.Connection | None = None
    ) -> list[tuple[int, str]]:
        rows = (db or self._db).execute(
            "SELECT series, attr FROM history_series WHERE tenant=? AND id=? ORDER BY attr",
            (tenant, entity_id),
        )
        return [(r[0], r[1]) for r in rows]

    async def _history_read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run a history read on the history reader's own thread and connection: a long one
        (an aggregation over a day of seconds) never holds up the event loop."""
        if self._history_db is None:
            raise StoreUnavailable("the store is not open")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._history_executor, work, self._history_db)

    async def history_series(self, tenant: str, entity_id: str, query: SeriesQuery) -> list[Series]:
        def work(db: sqlite3.Connection) -> list[Series]:
            found = []
            for series, attr in self._series_of(tenant, entity_id, db):
                if query.attrs is not None and attr not in query.attrs:
                    continue
                instances, truncated = _instances(db, series, query)
                if instances:
                    found.append(Series(attr, instances, truncated))
            return found

        return await self._history_read(work)

    async def history_aggregate(
        self, tenant: str, entity_id: str, attr: str, query: AggregateQuery
    ) -> list[Bucket]:
        def work(db: sqlite3.Connection) -> list[Bucket]:
            series = dict((a, s) for s, a in self._series_of(tenant, entity_id, db)).get(attr)
            return [] if series is None else _aggregate(db, series, query)

        return await self._history_read(work)

    # -- temporal API writes -------------------------------------------------------------------

    async def history_add(
        self, tenant: str, entity_id: str, types: Sequence[str], rows: Sequence[HistoryRow]
    ) -> None:
        batch = HistoryBatch([(tenant, entity_id, orjson.dumps(list(types)))])
        batch.rows.extend((tenant, row) for row in rows)
        await self._run_raw(lambda conn: self._write_history(conn, batch))

    async def history_delete(
        self,
        tenant: str,
        entity_id: str,
        *,
        attr: str | None = None,
        dataset: str | None = None,
        instance: int | None = None,
    ) -> int:
        series = [s for s, a in self._series_of(tenant, entity_id) if attr is None or a == attr]
        counted: list[int] = []

        def work(conn: sqlite3.Connection) -> None:
            total = 0
            for one in series:
                sql = "DELETE FROM history WHERE series=?"
                params: list[Any] = [one]
                if instance is not None:
                    sql, params = sql + " AND iid=?", [*params, instance]
                elif dataset is not None:
                    sql, params = sql + " AND dataset=?", [*params, dataset]
                total += conn.execute(sql, params).rowcount
            if attr is None and instance is None:
                key = (tenant, entity_id)
                conn.execute("DELETE FROM history_series WHERE tenant=? AND id=?", key)
                conn.execute("DELETE FROM history_entities WHERE tenant=? AND id=?", key)
                self._forget_series()
            counted.append(total)

        await self._run_raw(work)
        return counted[0] if counted else 0

    def history_entity_exists(self, tenant: str, entity_id: str) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM history_entities WHERE tenant=? AND id=?", (tenant, entity_id)
        ).fetchone()
        return row is not None

    async def history_modify(
        self, tenant: str, entity_id: str, attr: str, instance: int, row: HistoryRow
    ) -> bool:
        series = dict((a, s) for s, a in self._series_of(tenant, entity_id)).get(attr)
        if series is None:
            return False
        found = self._db.execute(
            "SELECT doc FROM history WHERE iid=? AND series=?", (instance, series)
        ).fetchone()
        if found is None:
            return False
        created_at = orjson.loads(found[0]).get("createdAt")
        doc = {**row.instance, "createdAt": created_at}
        await self._run_raw(
            lambda conn: conn.execute(
                "UPDATE history SET ts=?, modified=?, dataset=?, num=?, doc=? WHERE iid=?",
                (row.observed, row.created, row.dataset, row.number, orjson.dumps(doc), instance),
            )
        )
        return True

    async def history_prune(
        self, tenant: str, *, older_than: int | None = None, keep_last: int | None = None
    ) -> int:
        series = [
            r[0]
            for r in self._db.execute("SELECT series FROM history_series WHERE tenant=?", (tenant,))
        ]
        counted: list[int] = []

        def work(conn: sqlite3.Connection) -> None:
            total = 0
            for one in series:
                if older_than is not None:
                    total += conn.execute(
                        "DELETE FROM history WHERE series=? AND ts<?", (one, older_than)
                    ).rowcount
                if keep_last is not None:
                    total += conn.execute(
                        "DELETE FROM history WHERE iid IN (SELECT iid FROM history WHERE "
                        "series=? ORDER BY ts DESC, iid DESC LIMIT -1 OFFSET ?)",
                        (one, keep_last),
                    ).rowcount
            counted.append(total)

        await self._run_raw(work)
        return counted[0] if counted else 0


def _instances(
    db: sqlite3.Connection, series: int, query: SeriesQuery
) -> tuple[list[dict[str, Any]], bool]:
    where, params = _time_condition(series, query.time)
    column = COLUMN[query.time.prop]
    wanted = query.limit if query.last_n is None else min(query.last_n, query.limit)
    order = "DESC" if query.last_n is not None else "ASC"
    rows = db.execute(
        f"SELECT iid, doc FROM history WHERE {where} ORDER BY {column} {order}, iid {order} "
        "LIMIT ?",
        (*params, wanted + 1),
    ).fetchall()
    truncated = len(rows) > wanted and (query.last_n is None or query.last_n > query.limit)
    rows = rows[:wanted]
    if query.last_n is not None:
        rows.reverse()
    shown = [{**orjson.loads(doc), "instanceId": instance_id(iid)} for iid, doc in rows]
    return shown, truncated


def _aggregate(db: sqlite3.Connection, series: int, query: AggregateQuery) -> list[Bucket]:
    where, params = _time_condition(series, query.time)
    column = COLUMN[query.time.prop]
    start, end = query.start, query.time.end
    if start is None or end is None:  # the range of the instances themselves
        first, last = db.execute(
            f"SELECT MIN({column}), MAX({column}) FROM history WHERE {where}", params
        ).fetchone()
        if first is None:
            return []
        start = first if start is None else start
        end = last + 1 if end is None else end
    slot = f"({column} - ?) / ?" if query.period else "0"
    slot_params = (start, query.period) if query.period else ()
    distinct = (
        "COUNT(DISTINCT coalesce(json_extract(doc, '$.value'), json_extract(doc, '$.object')))"
        if "distinctCount" in query.methods
        else "0"
    )
    rows = db.execute(
        f"SELECT {slot} AS b, COUNT(*), COUNT(num), TOTAL(num), TOTAL(num * num), MIN(num), "
        f"MAX(num), {distinct} FROM history WHERE {where} AND deleted IS NULL "
        "GROUP BY b ORDER BY b",
        (*slot_params, *params),
    )
    out = []
    for index, count, numbers, total, squares, low, high, distinct_count in rows:
        sums = Sums(count, numbers, total, squares, low, high, distinct_count=distinct_count)
        out.append(bucket(index, start, query.period, end, sums, query.methods))
    return out


def _time_condition(series: int, time: TimeFilter) -> tuple[str, tuple[Any, ...]]:
    column = COLUMN[time.prop]
    where: list[str] = ["series=?"]
    params: list[Any] = [series]
    if time.prop == "deletedAt":
        where.append("deleted IS NOT NULL")
    if time.start is not None:
        where.append(f"{column}>=?")
        params.append(time.start)
    if time.end is not None:
        where.append(f"{column}<?")
        params.append(time.end)
    return " AND ".join(where), tuple(params)
