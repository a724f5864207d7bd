"""Many rows per statement: every row is written once, the padding never."""

from __future__ import annotations

import sqlite3

import pytest

from twin_server.store import sqlite_bulk as bulk

INSERT = "INSERT INTO t (a, b) SELECT * FROM (VALUES {values}) WHERE column1 IS NOT NULL"


@pytest.mark.parametrize("count", [0, 1, 3, 64, 1023, 1025, 2500])
def test_every_row_is_inserted_once(count: int) -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (a INTEGER NOT NULL, b BLOB)")
    rows = [(n, f"r{n}".encode()) for n in range(count)]
    bulk.run(db, INSERT, rows)
    assert db.execute("SELECT a, b FROM t ORDER BY a").fetchall() == rows


def test_an_update_through_values_touches_only_the_rows_named() -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT)")
    db.executemany("INSERT INTO t VALUES (?, ?)", [(n, "old") for n in range(10)])
    update = "UPDATE t SET b = v.column2 FROM (VALUES {values}) AS v WHERE t.a = v.column1"
    bulk.run(db, update, [(2, "new"), (5, "new"), (7, "new")])  # padded to 4 rows
    assert [r[0] for r in db.execute("SELECT a FROM t WHERE b = 'new'")] == [2, 5, 7]
