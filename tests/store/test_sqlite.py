"""What the SQLite store adds to the contract: persistence across reopen and group commit."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.store.test_contract import T, entity
from twin_server.core import operations
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
