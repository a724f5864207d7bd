"""Device readings are committed in batches: those that wait are taken together, up to a batch,
in the order they came; one that arrives while nothing waits is committed too; a full queue
refuses readings (counted) and writes nothing for them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from twin_server.adapters.bindings import Binding, parse_binding
from twin_server.adapters.ingest import Ingest, Reading
from twin_server.bus.memory import MemoryBus
from twin_server.core.service import TwinGraph
from twin_server.jsonld.resolver import ContextResolver
from twin_server.jsonld.termmap import TermMap
from twin_server.store.base import Applied
from twin_server.store.memory import MemoryStore

pytestmark = pytest.mark.anyio
SPEED = "https://uri.etsi.org/ngsi-ld/default-context/speed"


def binding() -> Binding:
    return parse_binding(
        {
            "id": "pumps",
            "adapter": "mqtt",
            "source": {"topic": "plant/{deviceId}/state"},
            "twin": "urn:ngsi-ld:Pump:{deviceId}",
            "type": "Pump",
            "attributes": [{"name": "speed", "source": "/rpm"}],
        }
    )


class Rig:
    def __init__(self, *, limit: int, batch: int, store: MemoryStore | None = None) -> None:
        self.store = store or MemoryStore("memory://")
        self.graph = TwinGraph(self.store, MemoryBus())
        self.resolver = ContextResolver(fetch_timeout=1, max_bytes=10_000, cache_size=8)
        self.results: list[tuple[str, Applied | Exception]] = []
        self.ingest = Ingest(self.graph, self.terms, self.done, limit=limit, batch=batch)
        self.binding = binding()

    async def terms(self, binding: Binding) -> TermMap:
        return await self.resolver.term_map(None)

    def done(self, reading: Reading, result: Applied | Exception) -> None:
        self.results.append((reading.twin_id, result))

    def reading(self, device: int, speed: Any) -> Reading:
        value = {"type": "Property", "value": speed, "observedAt": "2026-12-03T10:00:00Z"}
        return Reading(self.binding, f"urn:ngsi-ld:Pump:{device}", {"speed": value}, None)

    async def settle(self, count: int) -> None:
        while len(self.results) < count:  # noqa: ASYNC110 - the done callback has no event
            await asyncio.sleep(0.005)


async def test_waiting_readings_are_committed_in_batches_in_their_order() -> None:
    rig = Rig(limit=100, batch=3)
    await rig.store.open()
    for n in range(7):
        assert rig.ingest.put(rig.reading(n, n * 10))
    assert rig.ingest.waiting == 7
    task = asyncio.create_task(rig.ingest.run())
    try:
        await asyncio.wait_for(rig.settle(7), 5)
        assert rig.ingest.commits == 3  # 3 + 3 + 1
        assert [twin for twin, _ in rig.results] == [f"urn:ngsi-ld:Pump:{n}" for n in range(7)]
        assert all(isinstance(result, Applied) for _, result in rig.results)
        # one that comes while the taker waits is committed as well
        assert rig.ingest.waiting == 0
        assert rig.ingest.put(rig.reading(1, 99))
        await asyncio.wait_for(rig.settle(8), 5)
        twin = await rig.store.get("", "urn:ngsi-ld:Pump:1")
        assert twin is not None
        assert twin["attrs"][SPEED][0]["value"] == 99
    finally:
        task.cancel()
        await rig.store.close()


async def test_a_full_queue_refuses_readings_and_writes_nothing_for_them() -> None:
    rig = Rig(limit=2, batch=10)
    await rig.store.open()
    assert rig.ingest.put(rig.reading(1, 1))
    assert rig.ingest.put(rig.reading(2, 2))
    assert not rig.ingest.put(rig.reading(3, 3))
    assert rig.ingest.dropped == 1
    task = asyncio.create_task(rig.ingest.run())
    try:
        await asyncio.wait_for(rig.settle(2), 5)
        assert await rig.store.get("", "urn:ngsi-ld:Pump:3") is None
        assert await rig.store.get("", "urn:ngsi-ld:Pump:2") is not None
    finally:
        task.cancel()
        await rig.store.close()


class HeldStore(MemoryStore):
    """The real in-memory store, committing in call order (as every store does), whose answer
    to the first commit waits until it is let go."""

    def __init__(self) -> None:
        super().__init__("memory://")
        self.release = asyncio.Event()
        self.committed: list[list[str]] = []

    async def apply(self, tenant: str, operations: Any) -> list[Applied | Exception]:
        results = await super().apply(tenant, operations)
        self.committed.append([entity_id for entity_id, _ in operations])
        if len(self.committed) == 1:
            await self.release.wait()
        return results


async def test_the_next_batch_commits_while_one_is_committing() -> None:
    store = HeldStore()
    rig = Rig(limit=100, batch=2, store=store)
    await store.open()
    for n in range(6):
        assert rig.ingest.put(rig.reading(n, n))
    task = asyncio.create_task(rig.ingest.run())
    try:
        for _ in range(100):  # the next batches are committed while the first is unanswered
            if len(store.committed) == 3:
                break
            await asyncio.sleep(0.01)
        pumps = [f"urn:ngsi-ld:Pump:{n}" for n in range(6)]
        assert [twin for twin, _ in rig.results] == pumps[2:]
        assert rig.ingest.waiting == 0
        store.release.set()
        await asyncio.wait_for(rig.settle(6), 5)
        assert store.committed == [pumps[0:2], pumps[2:4], pumps[4:6]]
        assert sorted(twin for twin, _ in rig.results) == pumps
    finally:
        task.cancel()
        await store.close()
