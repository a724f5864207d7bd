"""One subscription's delivery line: its pending changes in order, throttling, retries with
backoff, statistics. A slow or failing receiver delays only its own subscription."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from twin_server.core.events import AttributeChange
from twin_server.core.timeutil import now_iso
from twin_server.subscriptions.model import Subscription
from twin_server.subscriptions.payload import notification
from twin_server.subscriptions.senders import DeliveryError, Senders

log = logging.getLogger(__name__)
MAX_BATCH = 100  # entities in one notification when changes queue up
BACKOFF = (0.5, 1.0, 2.0, 4.0)  # seconds before each retry


@dataclass(frozen=True, slots=True)
class Pending:
    seq: int
    entity: Mapping[str, Any]
    changes: Sequence[AttributeChange]


class DeliveryLine:
    def __init__(
        self,
        subscription: Subscription,
        senders: Senders,
        *,
        on_progress: Callable[[Subscription], Awaitable[None]],
        retries: Sequence[float] = BACKOFF,
    ) -> None:
        self.subscription = subscription
        self.senders = senders
        self.on_progress = on_progress
        self.retries = retries
        self.pending: deque[Pending] = deque()
        """Offered and not yet sent; an item leaves only once its notification is done."""
        self._wake = asyncio.Event()
        self._last_sent = 0.0
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._idle = asyncio.Event()
        self._idle.set()

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name=f"notify {self.subscription.id}")

    async def stop(self, grace: float = 5.0) -> None:
        """Stop; a notification on its way is given ``grace`` seconds to arrive, so that what
        was sent is also counted as sent (and not sent again after a restart). No new one
        starts meanwhile; what was not sent stays pending."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._task), grace)
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._task = None

    @property
    def busy(self) -> bool:
        """A notification of this line is on its way."""
        return not self._idle.is_set()

    @property
    def settled(self) -> bool:
        """Everything offered so far has been sent (or given up on)."""
        return not self.pending and not self.busy

    def offer(self, item: Pending) -> None:
        self.pending.append(item)
        self._wake.set()

    async def _run(self) -> None:
        while not self._stopping:
            if not self.pending:
                self._wake.clear()
                await self._wake.wait()
                continue
            throttling = self.subscription.throttling
            if throttling:
                wait = self._last_sent + throttling - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                    continue  # stopping may have come meanwhile
            batch = list(itertools.islice(self.pending, MAX_BATCH))
            self._idle.clear()
            try:
                await self.deliver(batch)
            finally:
                self._idle.set()
            for _ in batch:
                self.pending.popleft()

    async def deliver(self, batch: Sequence[Pending]) -> bool:
        """Send one notification for ``batch``, retrying with backoff; True when it arrived."""
        subscription = self.subscription
        at = now_iso()
        items = [(p.entity, p.changes) for p in batch]
        body, headers = notification(subscription, items, notified_at=at)
        stats = subscription.stats
        delivered = False
        for attempt in range(len(self.retries) + 1):
            stats.last_notification = at if attempt == 0 else now_iso()
            try:
                await self.senders.send(subscription.endpoint, body, headers)
            except DeliveryError as exc:
                stats.times_failed += 1
                stats.last_failure = now_iso()
                stats.last_error = str(exc)
                if attempt < len(self.retries):
                    await asyncio.sleep(self.retries[attempt])
                    continue
                log.warning(
                    "subscription %s: giving up on a notification: %s", subscription.id, exc
                )
            else:
                stats.times_sent += 1
                stats.last_success = now_iso()
                delivered = True
            break
        self._last_sent = time.monotonic()
        subscription.cursor = max(subscription.cursor, max(p.seq for p in batch))
        await self.on_progress(subscription)
        return delivered
