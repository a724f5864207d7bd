"""Keeps the semantic graph's twin part in step with the twin graph: a full sync at start,
then change events, batched. Telemetry-only changes are skipped; if the mirror ever falls
behind the bus and events are dropped, it syncs again from the store."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from twin_server.bus.base import EventBus
from twin_server.core.events import ChangeEvent
from twin_server.semantic.graph import SemanticGraph
from twin_server.store.base import DEFAULT_TENANT, Candidates, Store

log = logging.getLogger(__name__)
MAX_BATCH = 2000
Entity = Mapping[str, Any]


class Mirror:
    def __init__(self, graph: SemanticGraph, store: Store, bus: EventBus) -> None:
        self.graph = graph
        self.store = store
        self.bus = bus
        self.state = "starting"
        self.applied = 0
        self._progress = asyncio.Condition()

    async def run(self) -> None:
        subscription = self.bus.subscribe(max_pending=100_000)
        try:
            await self.sync()
            dropped = subscription.overflowed
            while True:
                batch = [await subscription.get()]
                while len(batch) < MAX_BATCH:
                    try:
                        batch.append(subscription.get_nowait())
                    except asyncio.QueueEmpty:
                        break
                now_dropped = subscription.overflowed
                if now_dropped != dropped:
                    log.warning(
                        "semantic mirror fell behind (%d events dropped): resyncing",
                        now_dropped - dropped,
                    )
                    dropped = now_dropped
                    await self.sync()
                    continue
                await self.apply(batch)
        finally:
            subscription.close()

    async def sync(self) -> None:
        """Rebuild every tenant's twin graph from the store."""
        self.state = "syncing"
        for tenant in [DEFAULT_TENANT, *await self.store.tenants()]:
            await asyncio.to_thread(self.graph.reset_tenant, tenant)
            async for chunk in self.store.scan(tenant, Candidates()):
                pairs = [(e["id"], e) for e in chunk]
                await asyncio.to_thread(self.graph.replace_entities, tenant, pairs)
        self.state = "live"
        await self._advance()

    async def apply(self, events: list[ChangeEvent]) -> None:
        # per entity: the state before its first event of the batch, and after its last
        by_tenant: dict[str, dict[str, tuple[Entity | None, Entity | None]]] = {}
        for event in events:
            if _structural(event):
                entities = by_tenant.setdefault(event.tenant, {})
                first = entities.get(event.entity_id, (event.before, None))[0]
                entities[event.entity_id] = (first, event.after)
        for tenant, entities in by_tenant.items():
            changes = [(i, before, after) for i, (before, after) in entities.items()]
            await asyncio.to_thread(self.graph.update_entities, tenant, changes)
        self.applied += len(events)
        await self._advance()

    async def _advance(self) -> None:
        async with self._progress:
            self._progress.notify_all()

    async def caught_up(self, published: int) -> None:
        """Wait until the mirror is live and has taken ``published`` events (tests, tools)."""
        async with self._progress:
            await self._progress.wait_for(
                lambda: self.state == "live" and self.applied >= published
            )


def _structural(event: ChangeEvent) -> bool:
    """Whether the event changes types, relationships or static properties: changes that only
    touch telemetry (instances with observedAt, before and after) are skipped."""
    if event.before is None or event.after is None:
        return True
    if event.before.get("type") != event.after.get("type"):
        return True
    for change in event.changes:
        instances = (*change.old, *change.new)
        if not instances or any("observedAt" not in i for i in instances):
            return True
    return False
