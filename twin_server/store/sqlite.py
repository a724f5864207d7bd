"""The embedded store: one SQLite file in WAL mode, durable when a write returns.

Writes: one writer thread takes every queued write, runs the operations inside one transaction
against the current rows and commits once for all of them (group commit), then answers each
caller. Under load, one fsync serves many writes; a write is acknowledged only after its commit.

Reads: a separate connection on the event loop's thread (WAL readers never wait for the writer).

Indexes: ``entity_types`` (tenant, type) and ``entity_attrs`` (tenant, attribute) point at
entity rows, so lookups by id, type or attribute do not scan the table.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from twin_server.core.operations import Operation
from twin_server.core.timeutil import now_iso
from twin_server.core.types import Entity
from twin_server.errors import StoreUnavailable, TwinError
from twin_server.store import sqlite_bulk as bulk
from twin_server.store.base import (
    DEFAULT_TENANT,
    Applied,
    AttributeStat,
    Candidates,
    ChangeRecord,
    ModelRecord,
    change_summary,
)
from twin_server.store.checkpoint import (
    FALLBACK_PAGES,
    RESTART_FRAMES,
    Checkpointer,
    finish,
)
from twin_server.store.entity_cache import EntityCache, Key, Row
from twin_server.store.indexing import index_terms, same_index_terms
from twin_server.store.sqlite_history import SCHEMA as HISTORY_SCHEMA
from twin_server.store.sqlite_history import SqliteHistory
from twin_server.store.sqlite_pending import MIN_SQLITE, Pending

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tenants (name TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entities (
    eid INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    doc BLOB NOT NULL,
    UNIQUE (tenant, id)
);
CREATE TABLE IF NOT EXISTS entity_types (
    tenant TEXT NOT NULL, type TEXT NOT NULL, eid INTEGER NOT NULL,
    PRIMARY KEY (tenant, type, eid)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entity_attrs (
    tenant TEXT NOT NULL, attr TEXT NOT NULL, eid INTEGER NOT NULL, kinds TEXT NOT NULL,
    PRIMARY KEY (tenant, attr, eid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entities_by_tenant ON entities (tenant);
CREATE INDEX IF NOT EXISTS entity_types_by_entity ON entity_types (eid);
CREATE INDEX IF NOT EXISTS entity_attrs_by_entity ON entity_attrs (eid);
CREATE TABLE IF NOT EXISTS contexts (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, doc BLOB NOT NULL, created_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS changes (
    seq INTEGER PRIMARY KEY, tenant TEXT NOT NULL, id TEXT NOT NULL, kind TEXT NOT NULL,
    types BLOB NOT NULL, attrs BLOB NOT NULL, at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS subscriptions (
    tenant TEXT NOT NULL, id TEXT NOT NULL, record BLOB NOT NULL, PRIMARY KEY (tenant, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS documents (
    kind TEXT NOT NULL, id TEXT NOT NULL, record BLOB NOT NULL, PRIMARY KEY (kind, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS models (
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, doc BLOB NOT NULL,
    upload_time TEXT NOT NULL, decommissioned INTEGER NOT NULL DEFAULT 0
);
"""
_CHUNK = 500
_MAX_GROUP = 512


@dataclass(slots=True)
class _Job:
    tenant: str
    operations: Sequence[tuple[str, Operation]]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    raw: Callable[[sqlite3.Connection], Any] | None = None
    """A plain statement to run instead of entity operations."""
    results: list[Applied | Exception] = field(default_factory=list)
    failure: StoreUnavailable | None = None
    """Set when the job's writes were rolled back."""

    def fail(self, error: StoreUnavailable) -> None:
        self.failure = error
        self.results = [error for _ in self.operations]


class SqliteStore(SqliteHistory):
    def __init__(
        self,
        url: str,
        *,
        synchronous: str = "FULL",
        cache_size: int = 20_000,
        checkpoint_every: float = 0.5,
        restart_frames: int = RESTART_FRAMES,
    ) -> None:
        self.url = url
        self._checkpoint_every = checkpoint_every
        self._restart_frames = restart_frames
        self.path = Path(url.removeprefix("sqlite:///"))
        self._synchronous = synchronous
        self._cache = EntityCache(cache_size)
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._checkpointer: Checkpointer | None = None
        self._reader: sqlite3.Connection | None = None
        self._tenants: set[str] = {DEFAULT_TENANT}
        self._series_ids: dict[tuple[str, str, str], int] = {}
        self._history_executor = ThreadPoolExecutor(1, thread_name_prefix="sqlite-history")
        self._history_db: sqlite3.Connection | None = None
        self.commits = 0
        self._next_seq = 1
        """The change log position the next change takes (the writer numbers them itself, so
        a job logs its changes in one statement)."""
        self._next_eid = 1
        """The row id the next new entity takes (handed out here, so that creations are
        written together)."""

    # -- lifecycle ---------------------------------------------------------------------------

    async def open(self) -> None:
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            raise StoreUnavailable(
                f"SQLite {sqlite3.sqlite_version} is too old: the store needs "
                f"{'.'.join(map(str, MIN_SQLITE))} or later"
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        writer = self._connect()
        # Checkpoints run in the background (``checkpoint``); the writer only checkpoints
        # itself as a safety net, should that thread fall far behind.
        writer.execute(f"PRAGMA wal_autocheckpoint={FALLBACK_PAGES}")
        writer.execute("PRAGMA journal_size_limit=67108864")  # the WAL file, once reset
        writer.executescript(_SCHEMA + HISTORY_SCHEMA)
        self._tenants.update(r[0] for r in writer.execute("SELECT name FROM tenants"))
        self._next_seq = _last_seq(writer) + 1
        self._next_eid = _last_eid(writer) + 1
        self._reader = self._connect()
        self._history_db = self._connect()
        self._history_executor = ThreadPoolExecutor(1, thread_name_prefix="sqlite-history")
        self._writer = threading.Thread(
            target=self._write_loop, args=(writer,), name="sqlite-writer", daemon=True
        )
        self._writer.start()
        self._checkpointer = Checkpointer(
            self._connect, every=self._checkpoint_every, restart_frames=self._restart_frames
        )
        self._checkpointer.start()

    async def close(self) -> None:
        if self._checkpointer is not None:
            await asyncio.to_thread(self._checkpointer.stop)
            self._checkpointer = None
        if self._writer is not None:
            self._queue.put(None)
            await asyncio.to_thread(self._writer.join)
            self._writer = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._history_db is not None:
            db, self._history_db = self._history_db, None
            await asyncio.get_running_loop().run_in_executor(self._history_executor, db.close)
            self._history_executor.shutdown()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            isolation_level=None,
            check_same_thread=False,
            cached_statements=bulk.CACHED_STATEMENTS,
        )
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self._synchronous}")
        conn.execute("PRAGMA busy_timeout=10000")
        conn.execute("PRAGMA cache_size=-65536")
        return conn

    @property
    def _db(self) -> sqlite3.Connection:
        if self._reader is None:
            raise StoreUnavailable("the store is not open")
        return self._reader

    # -- reads -------------------------------------------------------------------------------

    async def get(self, tenant: str, entity_id: str) -> Entity | None:
        """The entity, shared with the cache: callers must not modify it."""
        key = (tenant, entity_id)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        generation = self._cache.generation
        row = self._select(self._db, key)
        if row is None:
            return None
        self._cache.fill(key, row, generation)
        return row[1]

    async def scan(self, tenant: str, candidates: Candidates) -> AsyncIterator[list[Entity]]:
        sql, params = _candidate_sql(tenant, candidates)
        last = -1
        while True:
            rows = self._db.execute(sql, (*params, last, _CHUNK)).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield [orjson.loads(r[1]) for r in rows]
            if len(rows) < _CHUNK:
                return
            await asyncio.sleep(0)

    async def count(self, tenant: str, candidates: Candidates) -> int:
        only = _single_index(candidates)
        if only is not None:  # the index alone answers: no entity row is read
            table, column, value = only
            sql = f"SELECT COUNT(*) FROM {table} WHERE tenant=? AND {column}=?"
            return int(self._db.execute(sql, (tenant, value)).fetchone()[0])
        source, where, params, _ = _candidates(tenant, candidates)
        row = self._db.execute(f"SELECT COUNT(*) FROM {source} WHERE {where}", params).fetchone()
        return int(row[0])

    async def tenant_exists(self, tenant: str) -> bool:
        return tenant in self._tenants

    async def tenants(self) -> list[str]:
        return sorted(t for t in self._tenants if t != DEFAULT_TENANT)

    async def type_counts(self, tenant: str) -> dict[str, int]:
        rows = self._db.execute(
            "SELECT type, COUNT(*) FROM entity_types WHERE tenant=? GROUP BY type", (tenant,)
        )
        return dict(rows.fetchall())

    async def attribute_stats(self, tenant: str) -> list[AttributeStat]:
        rows = self._db.execute(
            "SELECT a.attr, GROUP_CONCAT(DISTINCT a.kinds), GROUP_CONCAT(DISTINCT t.type),"
            " COUNT(DISTINCT a.eid) FROM entity_attrs a JOIN entity_types t"
            " ON t.tenant=a.tenant AND t.eid=a.eid WHERE a.tenant=? GROUP BY a.attr",
            (tenant,),
        ).fetchall()
        return [
            AttributeStat(name, frozenset(kinds.split(",")), frozenset(_split(types)), count)
            for name, kinds, types, count in rows
        ]

    # -- writes ------------------------------------------------------------------------------

    async def apply(
        self, tenant: str, operations: Sequence[tuple[str, Operation]]
    ) -> list[Applied | Exception]:
        if self._writer is None:
            raise StoreUnavailable("the store is not open")
        loop = asyncio.get_running_loop()
        job = _Job(tenant, operations, loop, loop.create_future())
        self._queue.put(job)
        await job.future
        return job.results

    def _write_loop(self, conn: sqlite3.Connection) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            jobs = [first]
            while len(jobs) < _MAX_GROUP:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stopping = True
                    break
                jobs.append(nxt)
            try:
                self._commit_group(conn, jobs)
            except Exception:  # never let the one writer die: every later write would hang
                log.exception("the writer failed a group; its writes are refused")
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                self._rolled_back(_Mark(_last_seq(conn) + 1, _last_eid(conn) + 1))
                for job in jobs:
                    job.fail(StoreUnavailable("the store failed to write; see the server log"))
                self._answer(jobs)
            checkpointer = self._checkpointer
            if checkpointer is not None and checkpointer.take_finish():
                finish(conn)  # after the group is answered: its writes do not wait for it
        conn.close()

    def _commit_group(self, conn: sqlite3.Connection, jobs: list[_Job]) -> None:
        """Run the jobs in one transaction: together first, their writes gathered into a few
        statements. Should one of those fail, the group is rolled back and run again with each
        job in a savepoint of its own, so that only the job at fault fails. Only a failed
        COMMIT fails them all."""
        mark = self._mark()
        try:
            conn.execute("BEGIN IMMEDIATE")
            now = now_iso()  # the group commits at once: one modification time for all of it
            try:
                written = self._run_together(conn, jobs, now)
            except Exception:
                log.warning("a group's writes failed together; running them one job at a time")
                conn.execute("ROLLBACK")
                self._rolled_back(mark)
                self._tenants.intersection_update(_committed_tenants(conn))
                conn.execute("BEGIN IMMEDIATE")
                written = {}
                for job in jobs:
                    self._run_apart(conn, job, written, now)
            conn.execute("COMMIT")
            self.commits += 1
            self._cache.apply(written)
        except sqlite3.Error as exc:
            log.exception("commit failed; %d writes are refused", len(jobs))
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._rolled_back(mark)
            for job in jobs:
                job.fail(StoreUnavailable(f"the store could not commit: {exc}"))
        if any(job.failure is not None for job in jobs):
            self._tenants.intersection_update(_committed_tenants(conn))
        self._answer(jobs)

    def _mark(self) -> _Mark:
        return _Mark(self._next_seq, self._next_eid)

    def _rolled_back(self, mark: _Mark) -> None:
        """After a rollback: the change log numbering and the row ids resume at ``mark``, and
        the series ids the writer remembers are forgotten (some may be of rows rolled back)."""
        self._next_seq, self._next_eid = mark
        self._forget_series()

    @staticmethod
    def _answer(jobs: list[_Job]) -> None:
        """Hand each job its results: one wake-up of each event loop for the whole group."""
        by_loop: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
        for job in jobs:
            by_loop.setdefault(job.loop, []).append(job)
        for loop, waiting in by_loop.items():
            loop.call_soon_threadsafe(_resolve_all, waiting)

    def _run_together(
        self, conn: sqlite3.Connection, jobs: list[_Job], now: str
    ) -> dict[Key, Row | None]:
        """Every job's operations, then all their writes at once; raises if a write fails."""
        pending = Pending()
        for job in jobs:
            self._run_job(conn, job, {}, pending, now)
        self._write_pending(conn, pending)
        return pending.mine

    def _run_apart(
        self, conn: sqlite3.Connection, job: _Job, written: dict[Key, Row | None], now: str
    ) -> None:
        """One job in a savepoint of its own: if it fails, it alone is rolled back."""
        pending = Pending()
        mark = self._mark()
        conn.execute("SAVEPOINT job")
        try:
            self._run_job(conn, job, written, pending, now)
            self._write_pending(conn, pending)
        except Exception as exc:  # sqlite3.Error, or a bug: this job is rolled back alone
            log.exception("a write failed and was rolled back")
            conn.execute("ROLLBACK TO job")
            self._rolled_back(mark)
            job.fail(StoreUnavailable(f"the store could not write: {exc}"))
        else:
            written.update(pending.mine)
        conn.execute("RELEASE job")

    def _run_job(
        self,
        conn: sqlite3.Connection,
        job: _Job,
        written: dict[Key, Row | None],
        pending: Pending,
        now: str,
    ) -> None:
        """A job's statement or operations, their writes gathered in ``pending``."""
        if job.raw is not None:
            job.raw(conn)
        job.results = [
            self._run(conn, job.tenant, eid, op, written, pending, now)
            for eid, op in job.operations
        ]

    def _write_pending(self, conn: sqlite3.Connection, pending: Pending) -> None:
        pending.write(conn)
        self._write_history(conn, pending.history)

    def _run(
        self,
        conn: sqlite3.Connection,
        tenant: str,
        entity_id: str,
        operation: Operation,
        written: dict[Key, Row | None],
        pending: Pending,
        now: str,
    ) -> Applied | Exception:
        """One operation inside the group's transaction. Operations never modify their input,
        so the cached (or earlier-in-this-group) entity is handed to them as it is."""
        key = (tenant, entity_id)
        mine = pending.mine
        if key in mine:
            found = mine[key]
        elif key in written:
            found = written[key]
        else:
            found = self._cache.row(key) or self._select(conn, key)
        eid, before = found if found is not None else (None, None)
        try:
            outcome = operation(before, now)
            after = outcome.entity
            changed = after != before
            doc = orjson.dumps(after) if changed and after is not None else None
        except TwinError as exc:
            return exc
        except Exception as exc:  # a bug, or an entity that is not JSON: this one fails alone
            log.exception("operation on %s failed", entity_id)
            return exc
        seq = 0
        if changed:
            eid = self._write(conn, tenant, eid, before, after, doc, pending)
            mine[key] = (eid, after) if after is not None else None
            seq = self._log(pending.changes, tenant, entity_id, before, after, now)
            self._record_history(pending.history, tenant, before, after, now)
        return Applied(before, after, outcome, now, seq)

    def _log(
        self,
        changes: list[tuple[Any, ...]],
        tenant: str,
        entity_id: str,
        before: Entity | None,
        after: Entity | None,
        at: str,
    ) -> int:
        """Number the change and gather its change log row (written with the run's others)."""
        kind, types, attrs = change_summary(before, after)
        seq = self._next_seq
        self._next_seq += 1
        changes.append((seq, tenant, entity_id, kind, orjson.dumps(types), orjson.dumps(attrs), at))
        return seq

    @staticmethod
    def _select(conn: sqlite3.Connection, key: Key) -> Row | None:
        found = conn.execute("SELECT eid, doc FROM entities WHERE tenant=? AND id=?", key)
        row = found.fetchone()
        return (row[0], orjson.loads(row[1])) if row else None

    def _write(
        self,
        conn: sqlite3.Connection,
        tenant: str,
        eid: int | None,
        before: Entity | None,
        after: Entity | None,
        doc: bytes | None,
        pending: Pending,
    ) -> int:
        """Gather the change (``doc``: ``after`` as JSON); return the entity's row id (a new
        entity's is handed out here)."""
        if after is None:
            assert eid is not None
            pending.delete(eid, tenant)
            return eid
        assert doc is not None
        if eid is None:
            if tenant not in self._tenants:
                conn.execute("INSERT OR IGNORE INTO tenants VALUES (?)", (tenant,))
                self._tenants.add(tenant)
            eid = self._next_eid
            self._next_eid += 1
            pending.create(eid, tenant, after["id"], doc)
        else:
            pending.replace(eid, tenant, after["id"], doc)
        if before is not None and same_index_terms(before, after):
            return eid  # the usual update: new values, the same attributes and kinds
        old_types, old_attrs = index_terms(before)
        new_types, new_attrs = index_terms(after)
        if old_types != new_types:
            pending.types[eid] = (tenant, new_types)
        if old_attrs != new_attrs:
            pending.attrs[eid] = (tenant, new_attrs)
        return eid

    # -- hosted @contexts --------------------------------------------------------------------

    async def put_context(self, context_id: str, kind: str, document: Any) -> None:
        await self._exec(
            "INSERT OR REPLACE INTO contexts VALUES (?, ?, ?, ?)",
            (context_id, kind, orjson.dumps(document), now_iso()),
        )

    async def get_context(self, context_id: str) -> tuple[str, Any, str] | None:
        row = self._db.execute(
            "SELECT kind, doc, created_at FROM contexts WHERE id=?", (context_id,)
        ).fetchone()
        return (row[0], orjson.loads(row[1]), row[2]) if row else None

    async def list_contexts(self) -> list[tuple[str, str, str]]:
        rows = self._db.execute("SELECT id, kind, created_at FROM contexts ORDER BY created_at")
        return [(r[0], r[1], r[2]) for r in rows]

    async def delete_context(self, context_id: str) -> bool:
        existed = await self.get_context(context_id) is not None
        await self._exec("DELETE FROM contexts WHERE id=?", (context_id,))
        return existed

    # -- change log -----------------------------------------------------------------------------

    async def changes_since(self, seq: int, limit: int) -> list[ChangeRecord]:
        rows = self._db.execute(
            "SELECT seq, tenant, id, kind, types, attrs, at FROM changes WHERE seq > ? "
            "ORDER BY seq LIMIT ?",
            (seq, limit),
        )
        return [
            ChangeRecord(
                r[0], r[1], r[2], r[3], tuple(orjson.loads(r[4])), tuple(orjson.loads(r[5])), r[6]
            )
            for r in rows
        ]

    async def last_seq(self) -> int:
        return _last_seq(self._db)

    async def prune_changes(self, up_to: int) -> None:
        await self._exec("DELETE FROM changes WHERE seq <= ?", (up_to,))

    # -- NGSI-LD subscriptions ----------------------------------------------------------------

    async def put_subscription(self, tenant: str, subscription_id: str, record: Any) -> None:
        await self._exec(
            "INSERT OR REPLACE INTO subscriptions VALUES (?, ?, ?)",
            (tenant, subscription_id, orjson.dumps(record)),
        )

    async def put_subscriptions(self, records: Sequence[tuple[str, str, Any]]) -> None:
        rows = [(t, i, orjson.dumps(r)) for t, i, r in records]
        await self._run_raw(
            lambda conn: conn.executemany(
                "INSERT OR REPLACE INTO subscriptions VALUES (?, ?, ?)", rows
            )
        )

    async def list_subscriptions(self) -> list[tuple[str, str, Any]]:
        rows = self._db.execute("SELECT tenant, id, record FROM subscriptions ORDER BY tenant, id")
        return [(r[0], r[1], orjson.loads(r[2])) for r in rows]

    async def delete_subscription(self, tenant: str, subscription_id: str) -> bool:
        found = self._db.execute(
            "SELECT 1 FROM subscriptions WHERE tenant=? AND id=?", (tenant, subscription_id)
        ).fetchone()
        await self._exec(
            "DELETE FROM subscriptions WHERE tenant=? AND id=?", (tenant, subscription_id)
        )
        return found is not None

    # -- configuration documents (adapter bindings, …) -------------------------------------

    async def put_document(self, kind: str, document_id: str, record: Any) -> None:
        await self._exec(
            "INSERT OR REPLACE INTO documents VALUES (?, ?, ?)",
            (kind, document_id, orjson.dumps(record)),
        )

    async def list_documents(self, kind: str) -> list[tuple[str, Any]]:
        rows = self._db.execute(
            "SELECT id, record FROM documents WHERE kind=? ORDER BY id", (kind,)
        )
        return [(r[0], orjson.loads(r[1])) for r in rows]

    async def delete_document(self, kind: str, document_id: str) -> bool:
        found = self._db.execute(
            "SELECT 1 FROM documents WHERE kind=? AND id=?", (kind, document_id)
        ).fetchone()
        await self._exec("DELETE FROM documents WHERE kind=? AND id=?", (kind, document_id))
        return found is not None

    # -- DTDL models --------------------------------------------------------------------------

    async def put_models(self, records: Sequence[ModelRecord], contexts: dict[str, Any]) -> None:
        at = now_iso()
        model_rows = [(r.id, orjson.dumps(r.document), r.upload_time, 0) for r in records]
        context_rows = [(cid, "Hosted", orjson.dumps(doc), at) for cid, doc in contexts.items()]

        def write(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT INTO models (id, doc, upload_time, decommissioned) VALUES (?, ?, ?, ?)",
                model_rows,
            )
            conn.executemany("INSERT OR REPLACE INTO contexts VALUES (?, ?, ?, ?)", context_rows)

        await self._run_raw(write)

    async def list_models(self) -> list[ModelRecord]:
        rows = self._db.execute(
            "SELECT id, doc, upload_time, decommissioned FROM models ORDER BY seq"
        )
        return [ModelRecord(r[0], orjson.loads(r[1]), r[2], bool(r[3])) for r in rows]

    async def decommission_model(self, model_id: str) -> bool:
        found = self._db.execute("SELECT 1 FROM models WHERE id=?", (model_id,)).fetchone()
        await self._exec("UPDATE models SET decommissioned=1 WHERE id=?", (model_id,))
        return found is not None

    async def delete_model(self, model_id: str) -> bool:
        found = self._db.execute("SELECT 1 FROM models WHERE id=?", (model_id,)).fetchone()

        def write(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM models WHERE id=?", (model_id,))
            conn.execute("DELETE FROM contexts WHERE id=?", (model_id,))

        await self._run_raw(write)
        return found is not None

    async def _exec(self, sql: str, params: tuple[Any, ...]) -> None:
        """Run one statement through the writer thread, committed like every write."""
        await self._run_raw(lambda conn: conn.execute(sql, params))

    async def _run_raw(self, work: Callable[[sqlite3.Connection], Any]) -> None:
        """Run statements through the writer thread, in one transaction with its group."""
        if self._writer is None:
            raise StoreUnavailable("the store is not open")
        loop = asyncio.get_running_loop()
        job = _Job("", (), loop, loop.create_future(), raw=work)
        self._queue.put(job)
        await job.future
        if job.failure is not None:
            raise job.failure


def _resolve_all(jobs: list[_Job]) -> None:
    for job in jobs:
        if not job.future.done():
            job.future.set_result(job.results)


class _Mark(NamedTuple):
    """Where the writer's numbering stands: the next change log position and entity row id."""

    seq: int
    eid: int


def _last_eid(conn: sqlite3.Connection) -> int:
    last: int = conn.execute("SELECT COALESCE(MAX(eid), 0) FROM entities").fetchone()[0]
    return last


def _last_seq(conn: sqlite3.Connection) -> int:
    """The change log position of the last committed change (0: none)."""
    last: int = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM changes").fetchone()[0]
    return last


def _committed_tenants(conn: sqlite3.Connection) -> set[str]:
    return {DEFAULT_TENANT, *(r[0] for r in conn.execute("SELECT name FROM tenants"))}


def _split(joined: str | None) -> list[str]:
    return joined.split(",") if joined else []


def _single_index(c: Candidates) -> tuple[str, str, str] | None:
    """(table, column, value) when one type or one attribute is the whole selection."""
    if c.ids is not None or (c.types is not None and c.attrs is not None):
        return None
    if c.types is not None and len(c.types) == 1:
        return ("entity_types", "type", next(iter(c.types)))
    if c.attrs is not None and len(c.attrs) == 1:
        return ("entity_attrs", "attr", next(iter(c.attrs)))
    return None


def _candidate_sql(tenant: str, c: Candidates) -> tuple[str, tuple[Any, ...]]:
    """SQL returning (eid, doc) of candidates after a given eid, in eid order, limited."""
    source, where, params, order = _candidates(tenant, c)
    sql = f"SELECT e.eid, e.doc FROM {source} WHERE {where} AND {order}>? ORDER BY {order} LIMIT ?"
    return sql, params


def _candidates(tenant: str, c: Candidates) -> tuple[str, str, tuple[Any, ...], str]:
    """(FROM, WHERE, parameters, ordering column) selecting the candidate entities.

    A single type (or else a single attribute) drives the scan from its index, which is already
    in eid order, so a page costs what it returns. Other filters are EXISTS probes on the
    per-entity indexes while walking entities in eid order.
    """
    params: list[Any] = []
    where: list[str] = []
    source = "entities e"
    driver = None
    if c.types is not None and len(c.types) == 1:
        driver = ("entity_types", "type", next(iter(c.types)))
    elif c.types is None and c.attrs is not None and len(c.attrs) == 1:
        driver = ("entity_attrs", "attr", next(iter(c.attrs)))
    if driver is not None:
        table, column, value = driver
        source = f"{table} d JOIN entities e ON e.eid = d.eid"
        where.append(f"d.tenant=? AND d.{column}=?")
        params.extend([tenant, value])
        order = "d.eid"
    else:
        where.append("e.tenant=?")
        params.append(tenant)
        order = "e.eid"
    if c.ids is not None:
        where.append(f"e.id IN ({','.join('?' * len(c.ids))})")
        params.extend(sorted(c.ids))
    for table, column, values in (
        ("entity_types", "type", c.types),
        ("entity_attrs", "attr", c.attrs),
    ):
        if values is None or (driver is not None and driver[0] == table):
            continue
        where.append(
            f"EXISTS (SELECT 1 FROM {table} x WHERE x.eid = e.eid AND x.{column} IN "
            f"({','.join('?' * len(values))}))"
        )
        params.extend(sorted(values))
    return source, " AND ".join(where), tuple(params), order
