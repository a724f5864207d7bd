"""Every committed change produces exactly one change event, in commit order."""

from __future__ import annotations

import pytest

from tests.store.test_contract import T, entity
from twin_server.bus import MemoryBus
from twin_server.core import operations
from twin_server.core.events import EntityCreated, EntityDeleted, EntityUpdated
from twin_server.core.service import TwinGraph
from twin_server.errors import AlreadyExists
from twin_server.store.memory import MemoryStore

pytestmark = pytest.mark.anyio


async def test_writes_emit_one_event_each_with_old_and_new_values() -> None:
    bus = MemoryBus()
    graph = TwinGraph(MemoryStore(), bus)
    events = bus.subscribe()
    eid = "urn:ngsi-ld:E:1"
    await graph.write("", eid, operations.create(entity(1, speed=1)))
    with pytest.raises(AlreadyExists):
        await graph.write("", eid, operations.create(entity(1)))
    update = operations.update(eid, {T + "speed": [{"type": "Property", "value": 2}]})
    await graph.write("", eid, update, origin="adapter")
    await graph.write(
        "", eid, operations.update(eid, {T + "nope": [{"type": "Property", "value": 1}]})
    )
    await graph.write("", eid, operations.delete(eid))

    created, updated, deleted = [await events.get() for _ in range(3)]
    assert isinstance(created, EntityCreated)
    assert isinstance(updated, EntityUpdated)
    assert updated.origin == "adapter"
    (change,) = updated.changes
    assert change.name == T + "speed"
    assert change.old[0]["value"] == 1
    assert change.new[0]["value"] == 2
    assert isinstance(deleted, EntityDeleted)
    assert deleted.after is None
    assert bus.published == 3
