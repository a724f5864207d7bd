"""The notifier: matches change events against subscriptions and hands what matches to each
subscription's delivery line.

Nothing destined for a subscription is dropped silently. Each subscription keeps a cursor (the
change-log seq it has been notified up to), saved as it moves. At start, and whenever the bus
dropped events because the notifier fell behind, it catches up from the store's change log,
reading each changed entity as it is now. After a clean stop nothing is lost or sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from twin_server.bus.base import EventBus
from twin_server.bus.base import Subscription as BusSubscription
from twin_server.core.events import (
    AttributeChange,
    ChangeEvent,
    EntityCreated,
    EntityDeleted,
    EntityUpdated,
)
from twin_server.store.base import Candidates, ChangeRecord, Store
from twin_server.subscriptions.delivery import BACKOFF, DeliveryLine, Pending
from twin_server.subscriptions.index import SubscriptionIndex
from twin_server.subscriptions.matching import fires, selected
from twin_server.subscriptions.model import Subscription
from twin_server.subscriptions.records import record
from twin_server.subscriptions.senders import Senders

log = logging.getLogger(__name__)
Key = tuple[str, str]
PAGE = 1000
SAVE_LAG = 10_000  # changes an idle subscription's saved cursor may lag behind
UNKNOWN = ({"type": "Property"},)  # an instance the change log does not remember


class Notifier:
    def __init__(
        self,
        store: Store,
        bus: EventBus,
        senders: Senders,
        *,
        flush_every: float = 2.0,
        retain_changes: int = 1_000_000,
    ) -> None:
        self.store = store
        self.bus = bus
        self.senders = senders
        self.flush_every = flush_every
        self.retain_changes = retain_changes
        self.retries: tuple[float, ...] = BACKOFF
        """Seconds before each retry of a failed notification."""
        self.subscriptions: dict[Key, Subscription] = {}
        self.lines: dict[Key, DeliveryLine] = {}
        self._queued: dict[Key, int] = {}  # the highest seq handed to each line
        self._periodic: dict[Key, asyncio.Task[None]] = {}
        self._dirty: set[Key] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._bus: BusSubscription | None = None
        self._index = SubscriptionIndex()
        self._seen = 0  # the highest seq dispatched from the bus
        self._catching_up = 0  # catch-ups running (replaying the change log)
        self._stored: dict[Key, int] = {}  # the cursor last saved for each subscription
        self.handled = 0  # events looked at (tests and tools wait on it)

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, loaded: list[Subscription]) -> None:
        self._bus = self.bus.subscribe(max_pending=100_000, accept=self._wanted)
        for subscription in loaded:
            self._add(subscription)
        for key in list(self.subscriptions):
            await self._catch_up(key)
        self._tasks = [
            asyncio.create_task(self._consume(), name="notifier"),
            asyncio.create_task(self._flush_loop(), name="notifier-flush"),
            asyncio.create_task(self._prune_loop(), name="notifier-prune"),
        ]

    async def stop(self) -> None:
        for task in [*self._tasks, *self._periodic.values()]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._periodic.values(), return_exceptions=True)
        await asyncio.gather(*(line.stop() for line in self.lines.values()))
        self._dirty.update(self.subscriptions)
        await self.flush()
        if self._bus is not None:
            self._bus.close()

    # -- the registry ------------------------------------------------------------------------

    def add(self, subscription: Subscription) -> None:
        self._add(subscription)

    async def replace(self, subscription: Subscription) -> None:
        key = (subscription.tenant, subscription.id)
        old = self.lines.get(key)
        await self.remove(key)
        if old is not None:  # keep what the old line had not sent yet
            subscription.cursor = old.subscription.cursor
        self._add(subscription)
        await self._catch_up(key)

    async def remove(self, key: Key) -> None:
        line = self.lines.pop(key, None)
        if line is not None:
            await line.stop()
        periodic = self._periodic.pop(key, None)
        if periodic is not None:
            periodic.cancel()
        self.subscriptions.pop(key, None)
        self._index.remove(key)
        self._queued.pop(key, None)
        self._stored.pop(key, None)
        self._dirty.discard(key)

    def _add(self, subscription: Subscription) -> None:
        key = (subscription.tenant, subscription.id)
        self.subscriptions[key] = subscription
        line = DeliveryLine(
            subscription, self.senders, on_progress=self._progressed, retries=self.retries
        )
        self.lines[key] = line
        self._index.add(key, subscription)
        self._queued[key] = subscription.cursor
        self._stored[key] = subscription.cursor
        line.start()
        if subscription.time_interval is not None:
            self._periodic[key] = asyncio.create_task(self._every(key), name=f"every {key[1]}")

    async def _progressed(self, subscription: Subscription) -> None:
        self._dirty.add((subscription.tenant, subscription.id))

    # -- matching ----------------------------------------------------------------------------

    async def _consume(self) -> None:
        assert self._bus is not None
        dropped = self._bus.overflowed
        while True:
            event = await self._bus.get()
            if self._bus.overflowed != dropped:
                dropped = self._bus.overflowed
                log.warning("the notifier fell behind the bus: catching up from the change log")
                for key in list(self.subscriptions):
                    await self._catch_up(key)
            self.dispatch(event)

    def _wanted(self, event: ChangeEvent) -> bool:
        """The bus filter: a change no subscription could concern is not queued (most changes,
        where devices stream telemetry). It counts as dispatched, and ``_seen`` moves past it
        when nothing is queued ahead of it and no catch-up is replaying: idle cursors then move
        past it too, while a change still to be offered is never skipped."""
        if self._index.concerns(event.tenant, event.entity_id, event.types):
            return True
        if self._bus is not None and self._bus.waiting == 0 and not self._catching_up:
            self._seen = max(self._seen, event.seq)
        self.handled += 1
        return False

    def dispatch(self, event: ChangeEvent, *, only: Key | None = None) -> None:
        """Offer ``event`` to the lines of the subscriptions it triggers (to ``only``'s when
        catching one up). Subscriptions the index rules out are not looked at: their cursors
        move with ``_seen`` when their lines are idle (``_advance_idle``)."""
        now = datetime.now(UTC)
        if only is not None:
            keys: Iterable[Key] = (only,)
        else:
            keys = self._index.candidates(event.tenant, event.entity_id, event.types)
            self._seen = max(self._seen, event.seq)
        for key in keys:
            subscription = self.subscriptions[key]
            if subscription.tenant != event.tenant or event.seq <= self._queued[key]:
                continue
            if subscription.time_interval is not None:
                continue  # periodic subscriptions are not told of each change
            self._queued[key] = event.seq
            if not subscription.active or subscription.expired(now):
                self._skip(subscription, event.seq)
                continue
            if fires(subscription, event):
                entity = event.before if isinstance(event, EntityDeleted) else event.after
                assert entity is not None
                self.lines[key].offer(Pending(event.seq, entity, event.changes))
            else:
                self._skip(subscription, event.seq)
        if only is None:
            self.handled += 1

    def _skip(self, subscription: Subscription, seq: int) -> None:
        """A change that does not concern the subscription moves its cursor (when nothing of
        it is waiting in its line); saved as ``_advance_idle`` saves."""
        line = self.lines[(subscription.tenant, subscription.id)]
        if line.settled:
            subscription.cursor = max(subscription.cursor, seq)

    async def _catch_up(self, key: Key) -> None:
        """Hand the subscription every logged change after what it was last given."""
        subscription = self.subscriptions.get(key)
        if subscription is None:
            return
        self._catching_up += 1
        try:
            await self._replay(key, subscription)
        finally:
            self._catching_up -= 1

    async def _replay(self, key: Key, subscription: Subscription) -> None:
        after = self._queued[key]
        while True:
            page = await self.store.changes_since(after, PAGE)
            if not page:
                return
            for change in page:
                if change.tenant == subscription.tenant:
                    event = await self._replayed(change)
                    if event is not None:
                        self.dispatch(event, only=key)
                after = change.seq
            self._queued[key] = max(self._queued[key], after)

    async def _replayed(self, change: ChangeRecord) -> ChangeEvent | None:
        """A change event rebuilt from the log and the entity as it is now."""
        current = await self.store.get(change.tenant, change.entity_id)
        base: dict[str, Any] = {
            "tenant": change.tenant,
            "entity_id": change.entity_id,
            "types": change.types,
            "origin": "system",
            "at": change.at,
            "seq": change.seq,
        }
        if change.kind == "deleted":
            gone = {"id": change.entity_id, "type": list(change.types), "attrs": {}}
            return EntityDeleted(changes=(), before=gone, after=None, **base)
        if current is None:
            return None  # deleted since: its deletion is further down the log
        attrs = current["attrs"]
        changes = tuple(
            AttributeChange(
                name, () if change.kind == "created" else UNKNOWN, tuple(attrs.get(name, ()))
            )
            for name in change.attrs
        )
        cls = EntityCreated if change.kind == "created" else EntityUpdated
        return cls(
            changes=changes, before=None if cls is EntityCreated else current, after=current, **base
        )

    # -- periodic subscriptions ----------------------------------------------------------------

    async def _every(self, key: Key) -> None:
        while True:
            subscription = self.subscriptions[key]
            assert subscription.time_interval is not None
            await asyncio.sleep(subscription.time_interval)
            if not subscription.active or subscription.expired(datetime.now(UTC)):
                continue
            entities = await self._matching(subscription)
            if entities:
                items = [Pending(subscription.cursor, e, ()) for e in entities]
                await self.lines[key].deliver(items)

    async def _matching(self, subscription: Subscription) -> list[Mapping[str, Any]]:
        types: set[str] = set()
        for selector in subscription.selectors:
            if selector.types is None:
                types = set()
                break
            types.update(selector.types.names())
        candidates = Candidates(types=frozenset(types) if types else None)
        found: list[Mapping[str, Any]] = []
        async for chunk in self.store.scan(subscription.tenant, candidates):
            found.extend(e for e in chunk if selected(subscription, e))
        return found

    # -- persistence -------------------------------------------------------------------------

    def _advance_idle(self) -> None:
        """Every change up to ``_seen`` has been offered; an idle line has sent all it was
        offered, so its subscription is notified up to ``_seen``. Saved when far behind (a
        restart then replays at most ``SAVE_LAG`` changes for it) and at a clean stop."""
        for key, subscription in self.subscriptions.items():
            line = self.lines[key]
            if subscription.cursor >= self._seen or not line.settled:
                continue
            subscription.cursor = self._seen
            self._queued[key] = max(self._queued[key], self._seen)
            if self._seen - self._stored.get(key, 0) >= SAVE_LAG:
                self._dirty.add(key)

    async def flush(self) -> None:
        self._advance_idle()
        dirty, self._dirty = self._dirty, set()
        saves = []
        for key in dirty:
            subscription = self.subscriptions.get(key)
            if subscription is not None:
                self._stored[key] = subscription.cursor
                saves.append((key[0], key[1], record(subscription)))
        if saves:
            await self.store.put_subscriptions(saves)

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self.flush_every)
            with contextlib.suppress(Exception):
                await self.flush()

    async def _prune_loop(self) -> None:
        while True:
            await asyncio.sleep(60)
            last = await self.store.last_seq()
            keep_from = last - self.retain_changes
            cursors = [s.cursor for s in self.subscriptions.values()]
            up_to = min([keep_from, *cursors]) if cursors else keep_from
            if up_to > 0:
                await self.store.prune_changes(up_to)
