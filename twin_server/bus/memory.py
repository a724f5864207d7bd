"""The in-process event bus: a bounded queue per subscriber; publishing never waits."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

from twin_server.core.events import ChangeEvent

log = logging.getLogger(__name__)


class MemorySubscription:
    def __init__(
        self,
        bus: MemoryBus,
        max_pending: int,
        accept: Callable[[ChangeEvent], bool] | None = None,
    ) -> None:
        self._bus = bus
        self._queue: asyncio.Queue[ChangeEvent] = asyncio.Queue(max_pending)
        self._accept = accept
        self.overflowed = 0
        self.skipped = 0

    @property
    def waiting(self) -> int:
        return self._queue.qsize()

    def offer(self, event: ChangeEvent) -> None:
        if self._accept is not None and not self._accept(event):
            self.skipped += 1
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed += 1
            if self.overflowed == 1 or self.overflowed % 1000 == 0:
                log.warning("event subscriber is behind: %d events dropped", self.overflowed)

    async def get(self) -> ChangeEvent:
        return await self._queue.get()

    def get_nowait(self) -> ChangeEvent:
        return self._queue.get_nowait()

    async def __aiter__(self) -> AsyncIterator[ChangeEvent]:
        while True:
            yield await self._queue.get()

    def close(self) -> None:
        self._bus.unsubscribe(self)


class MemoryBus:
    def __init__(self) -> None:
        self._subscribers: list[MemorySubscription] = []
        self.published = 0

    def publish(self, event: ChangeEvent) -> None:
        self.published += 1
        for subscriber in self._subscribers:
            subscriber.offer(event)

    @property
    def dropped(self) -> int:
        """Events the current subscribers missed because they fell behind."""
        return sum(s.overflowed for s in self._subscribers)

    def subscribe(
        self,
        *,
        max_pending: int = 10_000,
        accept: Callable[[ChangeEvent], bool] | None = None,
    ) -> MemorySubscription:
        subscription = MemorySubscription(self, max_pending, accept)
        self._subscribers.append(subscription)
        return subscription

    def unsubscribe(self, subscription: MemorySubscription) -> None:
        if subscription in self._subscribers:
            self._subscribers.remove(subscription)

    async def aclose(self) -> None:
        self._subscribers.clear()
