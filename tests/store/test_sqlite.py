"""What the SQLite store adds to the contract: persistence across reopen and group commit."""

from __future__ import annotations

import asyncio
import struct
from pathlib import Path

import pytest

from tests.store.test_contract import T, collect, entity
from twin_server.core import operations
from twin_server.store.base import Applied, Candidates
from twin_server.store.sqlite import SqliteStore

pytestmark = pytest.mark.anyio


async def test_writes_survive_closing_and_reopening(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/t.db"
    store = SqliteStore(url)
    await store.open()
    await store.apply("acme", [("urn:ngsi-ld:E:1", operations.create(entity(1, speed=5)))])
    await store.close()
    again = SqliteStore(url)
    await again.open()
    got = await again.get("acme", "urn:ngsi-ld:E:1")
    assert got is not None
    assert await again.tenant_exists("acme")
    await again.close()


async def test_concurrent_writes_share_commits(tmp_path: Path) -> None:
    store = SqliteStore(f"sqlite:///{tmp_path}/t.db")
    await store.open()
    writes = [
        store.apply("", [(f"urn:ngsi-ld:E:{n}", operations.create(entity(n)))]) for n in range(200)
    ]
    await asyncio.gather(*writes)
    assert store.commits < 200
    await store.close()


async def test_unknown_store_scheme_is_an_error() -> None:
    from twin_server.store import open_store

    with pytest.raises(ValueError, match="unknown store URL"):
        open_store("postgres://x")


async def test_cached_entities_follow_updates_and_deletes(tmp_path: Path) -> None:
    store = SqliteStore(f"sqlite:///{tmp_path}/t.db", cache_size=2)
    await store.open()
    eid = "urn:ngsi-ld:E:1"
    await store.apply("", [(eid, operations.create(entity(1, speed=1)))])
    first = await store.get("", eid)
    assert first is not None
    update = operations.update(eid, {T + "speed": [{"type": "Property", "value": 2}]})
    await store.apply("", [(eid, update)])
    second = await store.get("", eid)
    assert second is not None
    assert second["attrs"][T + "speed"][0]["value"] == 2
    assert first["attrs"][T + "speed"][0]["value"] == 1, "operations must not modify inputs"
    for n in range(2, 6):
        await store.apply("", [(f"urn:ngsi-ld:E:{n}", operations.create(entity(n)))])
    again = await store.get("", eid)
    assert again is not None
    assert again["attrs"][T + "speed"][0]["value"] == 2
    await store.apply("", [(eid, operations.delete(eid))])
    assert await store.get("", eid) is None
    await store.close()


async def test_a_write_the_store_cannot_commit_is_reported_not_swallowed(tmp_path: Path) -> None:
    import sqlite3

    from twin_server.errors import StoreUnavailable

    store = SqliteStore(f"sqlite:///{tmp_path}/t.db")
    await store.open()
    saboteur = sqlite3.connect(store.path)
    saboteur.execute("DROP TABLE contexts")  # the next context write fails inside the writer
    saboteur.commit()
    saboteur.close()
    with pytest.raises(StoreUnavailable):
        await store.put_context("c1", "Hosted", {"@context": {}})
    (result,) = await store.apply("", [("urn:ngsi-ld:E:1", operations.create(entity(1)))])
    assert not isinstance(result, Exception), "the store keeps working after a failed write"
    await store.close()


async def test_one_job_updating_deleting_and_reusing_a_row_keeps_every_document(
    tmp_path: Path,
) -> None:
    """Updates of existing entities are written together at the end of a job; a deletion or a
    creation in between (which can take the deleted row's id) must not receive them."""
    url = f"sqlite:///{tmp_path}/t.db"
    store = SqliteStore(url)
    await store.open()
    await store.apply("", [(f"urn:ngsi-ld:E:{n}", operations.create(entity(n))) for n in (1, 2)])
    last, new = "urn:ngsi-ld:E:2", "urn:ngsi-ld:E:3"  # E:2 holds the highest row id
    speed = {T + "speed": [{"type": "Property", "value": 7}]}
    results = await store.apply(
        "",
        [
            ("urn:ngsi-ld:E:1", operations.append("urn:ngsi-ld:E:1", speed, no_overwrite=False)),
            (last, operations.append(last, speed, no_overwrite=False)),
            (last, operations.delete(last)),
            (new, operations.create(entity(3, speed=9))),
        ],
    )
    assert not [r for r in results if isinstance(r, Exception)]
    await store.close()
    again = SqliteStore(url)  # read from the file, not the writer's cache
    await again.open()
    one, gone, three = [await again.get("", f"urn:ngsi-ld:E:{n}") for n in (1, 2, 3)]
    assert one is not None
    assert one["attrs"][T + "speed"][0]["value"] == 7
    assert gone is None
    assert three is not None
    assert three["attrs"][T + "speed"][0]["value"] == 9
    await again.close()


async def test_a_job_failing_in_a_group_fails_alone_and_the_others_are_durable(
    tmp_path: Path,
) -> None:
    """The writer runs a group's jobs together; when a statement fails, it runs them again one
    at a time, so that only the job at fault is refused."""
    import sqlite3

    from twin_server.errors import StoreUnavailable

    store = await _opened(tmp_path)
    saboteur = sqlite3.connect(store.path)
    saboteur.execute("DROP TABLE contexts")
    saboteur.commit()
    saboteur.close()
    creates = [
        store.apply("acme", [(f"urn:ngsi-ld:E:{n}", operations.create(entity(n, speed=n)))])
        for n in range(20)
    ]
    failing = store.put_context("c1", "Hosted", {"@context": {}})
    outcomes = await asyncio.gather(failing, *creates, return_exceptions=True)
    assert isinstance(outcomes[0], StoreUnavailable)
    for results in outcomes[1:]:
        assert isinstance(results, list)
        assert not [r for r in results if isinstance(r, Exception)]
    again = await _reopened(store)
    pumps = Candidates(types=frozenset({T + "Pump"}))
    assert await again.count("acme", pumps) == 20
    assert await again.tenant_exists("acme")
    seqs = [c.seq for c in await again.changes_since(0, 100)]
    assert seqs == list(range(1, 21)), "the change log has no gap and no duplicate"
    await again.close()


async def test_thousands_of_creations_in_one_job_are_all_written_and_indexed(
    tmp_path: Path,
) -> None:
    store = await _opened(tmp_path)
    count = 2_500  # more rows than one bulk statement takes, and not a power of two
    results = await store.apply(
        "",
        [(f"urn:ngsi-ld:E:{n}", operations.create(entity(n, speed=n))) for n in range(count)],
    )
    assert not [r for r in results if isinstance(r, Exception)]
    again = await _reopened(store)
    assert await again.count("", Candidates(types=frozenset({T + "Pump"}))) == count
    assert await again.count("", Candidates(attrs=frozenset({T + "speed"}))) == count
    got = await again.get("", "urn:ngsi-ld:E:2499")
    assert got is not None
    assert got["attrs"][T + "speed"][0]["value"] == 2499
    # row ids go on after a restart: a new entity takes none of the existing rows
    new = f"urn:ngsi-ld:E:{count}"
    (created,) = await again.apply("", [(new, operations.create(entity(count)))])
    assert not isinstance(created, Exception)
    assert await again.count("", Candidates(types=frozenset({T + "Pump"}))) == count + 1
    await again.close()


async def test_an_entity_deleted_and_created_again_in_one_job_is_indexed_once(
    tmp_path: Path,
) -> None:
    store = await _opened(tmp_path)
    eid = "urn:ngsi-ld:E:1"
    await store.apply("", [(eid, operations.create(entity(1, "Pump", speed=1)))])
    results = await store.apply(
        "",
        [
            (eid, operations.delete(eid)),
            (eid, operations.create(entity(1, "Valve", level=2))),
        ],
    )
    assert not [r for r in results if isinstance(r, Exception)]
    again = await _reopened(store)
    assert await collect(again, "", Candidates(types=frozenset({T + "Valve"}))) == [eid]
    assert await collect(again, "", Candidates(types=frozenset({T + "Pump"}))) == []
    assert await collect(again, "", Candidates(attrs=frozenset({T + "level"}))) == [eid]
    assert await collect(again, "", Candidates(attrs=frozenset({T + "speed"}))) == []
    got = await again.get("", eid)
    assert got is not None
    assert list(got["attrs"]) == [T + "level"]
    await again.close()


async def _opened(tmp_path: Path) -> SqliteStore:
    store = SqliteStore(f"sqlite:///{tmp_path}/t.db")
    await store.open()
    return store


async def _reopened(store: SqliteStore) -> SqliteStore:
    """The store closed and opened again: what it reads comes from the file, not its cache."""
    await store.close()
    again = SqliteStore(store.url)
    await again.open()
    return again


def _wal_frames(db: Path) -> int:
    """The frames the WAL holds now (mxFrame, from the wal-index header in the -shm file)."""
    shm = Path(f"{db}-shm").read_bytes()
    (frames,) = struct.unpack_from("=I", shm, 16)
    return int(frames)


async def test_a_writer_that_never_pauses_still_rewinds_the_log(tmp_path: Path) -> None:
    # Writes are fed so that some always wait: the writer goes from one group straight to the
    # next, and a background checkpoint never catches up before the next transaction begins.
    # Without the writer's help the log grows by every frame written (to 1 GiB in long runs).
    db = tmp_path / "t.db"
    store = SqliteStore(f"sqlite:///{db}", checkpoint_every=0.005, restart_frames=200)
    await store.open()
    ids = [f"urn:ngsi-ld:E:{n}" for n in range(50)]
    await store.apply(
        "", [(eid, operations.create(entity(n, speed=0))) for n, eid in enumerate(ids)]
    )
    big = "x" * 1000
    tasks: list[asyncio.Task[list[Applied | Exception]]] = []
    pending: set[asyncio.Task[list[Applied | Exception]]] = set()
    for n in range(20_000):
        eid = ids[n % 50]
        update = operations.update(eid, {T + "speed": [{"type": "Property", "value": f"{n}{big}"}]})
        task = asyncio.ensure_future(store.apply("", [(eid, update)]))
        tasks.append(task)
        pending.add(task)
        task.add_done_callback(pending.discard)
        if len(pending) > 2000:
            await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    results = await asyncio.gather(*tasks)
    assert all(isinstance(r, Applied) for (r,) in results)
    frames = _wal_frames(db)
    await store.close()
    assert frames < 2000, f"the log was never rewound: {frames} frames after 20,000 writes"
