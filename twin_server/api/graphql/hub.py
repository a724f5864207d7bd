"""Fan-out of change events to GraphQL subscribers: one bus subscription for all of them, and
an index by twin id and type, so an event wakes only the subscribers it concerns (1,000
subscribers each watching one twin cost one lookup per event, not 1,000 wake-ups).

Each subscriber has a bounded queue; one that falls further behind is marked and dropped by
its resolver, without slowing the others or the writers.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict, deque
from collections.abc import Iterable

from twin_server.bus.base import EventBus
from twin_server.bus.base import Subscription as BusSubscription
from twin_server.core.events import ChangeEvent

log = logging.getLogger(__name__)
Key = tuple[str, str]  # (tenant, twin id or type)


class HubSubscription:
    def __init__(self, hub: Hub, tenant: str, limit: int) -> None:
        self.hub = hub
        self.tenant = tenant
        self.limit = limit
        self.events: deque[ChangeEvent] = deque()
        self.overflowed = False
        self._wake = asyncio.Event()

    def offer(self, event: ChangeEvent) -> None:
        if len(self.events) >= self.limit:
            self.overflowed = True
        else:
            self.events.append(event)
        self._wake.set()

    async def get(self) -> ChangeEvent:
        """The next event; ``Overflowed`` once this subscriber fell too far behind."""
        while not self.events:
            if self.overflowed:
                raise Overflowed
            self._wake.clear()
            await self._wake.wait()
        if self.overflowed:
            raise Overflowed
        return self.events.popleft()

    def close(self) -> None:
        self.hub.remove(self)


class Overflowed(Exception):
    """The subscriber fell further behind than its queue allows."""


class Hub:
    def __init__(self, bus: EventBus, *, limit: int) -> None:
        self.bus = bus
        self.limit = limit
        self._by_id: defaultdict[Key, set[HubSubscription]] = defaultdict(set)
        self._by_type: defaultdict[Key, set[HubSubscription]] = defaultdict(set)
        self._all: defaultdict[str, set[HubSubscription]] = defaultdict(set)
        self._filed: dict[HubSubscription, list[set[HubSubscription]]] = {}
        self._bus: BusSubscription | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        # with no GraphQL subscriber, events are turned away as they are published
        self._bus = self.bus.subscribe(max_pending=100_000, accept=lambda _: bool(self._filed))
        self._task = asyncio.create_task(self._run(), name="graphql-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._bus is not None:
            self._bus.close()

    def subscribe(
        self, tenant: str, *, ids: Iterable[str] = (), types: Iterable[str] = ()
    ) -> HubSubscription:
        """A subscriber to the changes of these twins and types (neither: every change)."""
        subscription = HubSubscription(self, tenant, self.limit)
        buckets = [self._by_id[(tenant, i)] for i in ids]
        buckets += [self._by_type[(tenant, t)] for t in types]
        if not buckets:
            buckets = [self._all[tenant]]
        for bucket in buckets:
            bucket.add(subscription)
        self._filed[subscription] = buckets
        return subscription

    def remove(self, subscription: HubSubscription) -> None:
        for bucket in self._filed.pop(subscription, ()):
            bucket.discard(subscription)

    @property
    def subscribers(self) -> int:
        return len(self._filed)

    async def _run(self) -> None:
        assert self._bus is not None
        while True:
            event = await self._bus.get()
            if self._bus.overflowed:  # the hub itself fell behind: every subscriber missed some
                log.warning("GraphQL subscriptions fell behind the bus: dropping subscribers")
                for subscription in list(self._filed):
                    subscription.overflowed = True
                    subscription.offer(event)
                self._bus.overflowed = 0
                continue
            self.dispatch(event)

    def dispatch(self, event: ChangeEvent) -> None:
        tenant = event.tenant
        found = set(self._all.get(tenant, ()))
        found.update(self._by_id.get((tenant, event.entity_id), ()))
        for name in event.types:
            found.update(self._by_type.get((tenant, name), ()))
        for subscription in found:
            subscription.offer(event)
