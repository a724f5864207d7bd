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
_INSERT = (
    "INSERT INTO entities (eid, tenant, id, doc) "
    "SELECT * FROM (VALUES {values}) WHERE column1 IS NOT NULL"
)
_UPDATE = (
    "UPDATE entities SET doc = v.column2 FROM (VALUES {values}) AS v WHERE entities.eid = v.column1"
)
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
    inserts: dict[int, tuple[str, str, bytes]] = field(default_factory=dict)
    docs: dict[int, bytes] = field(default_factory=dict)
    """New documents of entities that already have a row."""
    deletes: list[int] = field(default_factory=list)
    types: dict[int, tuple[str, Iterable[str]]] = field(default_factory=dict)
    attrs: dict[int, tuple[str, dict[str, str]]] = field(default_factory=dict)
    """The index terms of each entity whose terms changed, as the run left them."""
    changes: list[tuple[Any, ...]] = field(default_factory=list)
    history: HistoryBatch = field(default_factory=HistoryBatch)

    def create(self, eid: int, tenant: str, entity_id: str, doc: bytes) -> None:
        self.inserts[eid] = (tenant, entity_id, doc)

    def replace(self, eid: int, doc: bytes) -> None:
        if eid in self.inserts:
            tenant, entity_id, _ = self.inserts[eid]
            self.inserts[eid] = (tenant, entity_id, doc)
        else:
            self.docs[eid] = doc

    def delete(self, eid: int, tenant: str) -> None:
        if self.inserts.pop(eid, None) is None:
            self.deletes.append(eid)
            self.docs.pop(eid, None)
        self.types[eid] = (tenant, ())
        self.attrs[eid] = (tenant, {})

    def write(self, conn: sqlite3.Connection) -> None:
        """Write the entities, their index rows and the change log rows. Deletions go first: an
        entity deleted and created again in one run takes a new row, once the old is gone."""
        bulk.run(conn, _DELETE, [(eid,) for eid in self.deletes])
        for table, terms in (("entity_types", self.types), ("entity_attrs", self.attrs)):
            stale = [(eid,) for eid in terms if eid not in self.inserts]
            bulk.run(conn, _UNINDEX.format(table=table), stale)
        bulk.run(conn, _INSERT, [(e, t, i, d) for e, (t, i, d) in self.inserts.items()])
        bulk.run(conn, _UPDATE, list(self.docs.items()))
        bulk.run(conn, _TYPES, [(t, n, e) for e, (t, names) in self.types.items() for n in names])
        bulk.run(
            conn, _ATTRS, [(t, a, e, k) for e, (t, ks) in self.attrs.items() for a, k in ks.items()]
        )
        bulk.run(conn, _CHANGES, self.changes)
