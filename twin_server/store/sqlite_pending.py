"""The entity writes of a group commit, gathered while its operations run and written at its end in
a few statements (``sqlite_bulk``), however many entities they touch. Row ids of new entities are
handed out by the writer, so that creations need no statement of their own either.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from twin_server.store import sqlite_bulk as bulk
from twin_server.store.entity_cache import Key, Row
from twin_server.store.sqlite_history import HistoryBatch

MIN_SQLITE = (3, 33, 0)
"""UPDATE … FROM."""

_DELETE = "DELETE FROM entities WHERE eid IN (VALUES {values})"
_UNINDEX = "DELETE FROM {table} WHERE eid IN (VALUES {{values}})"
_WRITE = (
    "INSERT INTO entities (eid, tenant, id, doc) "
    "SELECT * FROM (VALUES {values}) WHERE column1 IS NOT NULL "
    "ON CONFLICT (eid) DO UPDATE SET doc = excluded.doc"
)
"""New rows and new documents of existing rows in one statement: an upsert on the row id finds
each existing row by its key, twice as fast as ``UPDATE … FROM (VALUES …)`` at a thousand rows
(that materializes the join first) and no dearer for new ones."""
_TYPES = (
    "INSERT INTO entity_types (tenant, type, eid) "
    "SELECT * FROM (VALUES {values}) WHERE column1 IS NOT NULL"
)
_ATTRS = (
    "INSERT INTO entity_attrs (tenant, attr, eid, kinds) "
    "SELECT * FROM (VALUES {values}) WHERE column1 IS NOT NULL"
)
_CHANGES = (
    "INSERT INTO changes (seq, tenant, id, kind, types, attrs, at) "
    "SELECT * FROM (VALUES {values}) WHERE column1 IS NOT NULL"
)


@dataclass(slots=True)
class Pending:
    """What a run of operations (a group, or one job of it) has written so far, by entity row id,
    and what is still to be written."""

    mine: dict[Key, Row | None] = field(default_factory=dict)
    """The entities as this run left them (None: deleted)."""
    docs: dict[int, tuple[str, str, bytes]] = field(default_factory=dict)
    """Each written entity's tenant, id and new document."""
    inserts: set[int] = field(default_factory=set)
    """The rows of ``docs`` that are new."""
    deletes: list[int] = field(default_factory=list)
    types: dict[int, tuple[str, Iterable[str]]] = field(default_factory=dict)
    attrs: dict[int, tuple[str, dict[str, str]]] = field(default_factory=dict)
    """The index terms of each entity whose terms changed, as the run left them."""
    changes: list[tuple[Any, ...]] = field(default_factory=list)
    history: HistoryBatch = field(default_factory=HistoryBatch)

    def create(self, eid: int, tenant: str, entity_id: str, doc: bytes) -> None:
        self.docs[eid] = (tenant, entity_id, doc)
        self.inserts.add(eid)

    def replace(self, eid: int, tenant: str, entity_id: str, doc: bytes) -> None:
        self.docs[eid] = (tenant, entity_id, doc)

    def delete(self, eid: int, tenant: str) -> None:
        self.docs.pop(eid, None)
        if eid in self.inserts:
            self.inserts.discard(eid)
        else:
            self.deletes.append(eid)
        self.types[eid] = (tenant, ())
        self.attrs[eid] = (tenant, {})

    def write(self, conn: sqlite3.Connection) -> None:
        """Write the entities, their index rows and the change log rows. Deletions go first: an
        entity deleted and created again in one run takes a new row, once the old is gone."""
        bulk.run(conn, _DELETE, [(eid,) for eid in self.deletes])
        for table, terms in (("entity_types", self.types), ("entity_attrs", self.attrs)):
            stale = [(eid,) for eid in terms if eid not in self.inserts]
            bulk.run(conn, _UNINDEX.format(table=table), stale)
        bulk.run(conn, _WRITE, [(e, t, i, d) for e, (t, i, d) in self.docs.items()])
        bulk.run(conn, _TYPES, [(t, n, e) for e, (t, names) in self.types.items() for n in names])
        bulk.run(
            conn, _ATTRS, [(t, a, e, k) for e, (t, ks) in self.attrs.items() for a, k in ks.items()]
        )
        bulk.run(conn, _CHANGES, self.changes)
