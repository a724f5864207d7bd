"""The event bus contract: publish committed change events, subscribe to them in commit order."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Protocol

from twin_server.core.events import ChangeEvent, Origin


class Subscription(Protocol):
    """A subscriber's view of the bus: events in publish order, until closed."""

    overflowed: int
    """Events this subscriber missed because it fell too far behind (counted, and logged)."""
    skipped: int
    """Events its ``accept`` filter turned away (they are not queued at all)."""

    @property
    def waiting(self) -> int:
        """Events queued for this subscriber and not taken yet."""
        ...

    def __aiter__(self) -> AsyncIterator[ChangeEvent]: ...

    async def get(self) -> ChangeEvent: ...

    def get_nowait(self) -> ChangeEvent:
        """The next event if one is waiting; else raise ``asyncio.QueueEmpty``."""
        ...

    def close(self) -> None: ...


class EventBus(Protocol):
    published: int
    """Events published so far."""

    @property
    def dropped(self) -> int:
        """Events current subscribers missed because they fell behind (counted, logged)."""
        ...

    def publish(self, event: ChangeEvent) -> None:
        """Hand an event to every subscriber without waiting for any of them."""

    def subscribe(
        self,
        *,
        max_pending: int = 10_000,
        accept: Callable[[ChangeEvent], bool] | None = None,
    ) -> Subscription:
        """A new subscription; it sees events published from now on (those ``accept``
        takes, when given: a filter run at publish time, so turned-away events cost the
        subscriber no queueing and no wake-up)."""

    async def aclose(self) -> None: ...


def concerning(
    watched: Callable[[], frozenset[str]], *, own: Origin
) -> Callable[[ChangeEvent], bool]:
    """An ``accept`` filter: the events whose entity has a type in ``watched()`` (called at each
    event, so it follows what is watched; ``ByTypes.types`` keeps it cheap), except those
    written by ``own`` (a consumer's own writes trigger nothing)."""

    def accept(event: ChangeEvent) -> bool:
        return event.origin != own and not watched().isdisjoint(event.types)

    return accept


async def hand_each(subscription: Subscription, handle: Callable[[ChangeEvent], None]) -> None:
    """Hand every event of ``subscription`` to ``handle``, for ever; an event ``handle`` fails
    on is logged and the next one goes on."""
    while True:
        event = await subscription.get()
        try:
            handle(event)
        except Exception:
            logging.getLogger(getattr(handle, "__module__", __name__)).exception(
                "a change event (%s of %s) could not be taken", event.seq, event.entity_id
            )
