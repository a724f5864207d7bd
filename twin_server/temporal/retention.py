"""History retention: a background task that prunes each tenant's history by its policy
(``TWIN_TEMPORAL_RETENTION``: a maximum age, a maximum count per attribute, or both)."""

from __future__ import annotations

import asyncio
import logging
import time

from twin_server.config import Settings
from twin_server.store.base import DEFAULT_TENANT, Store
from twin_server.temporal.duration import duration_us

log = logging.getLogger(__name__)


class Retention:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.pruned = 0  # instances deleted since start (tests, metrics)

    async def run(self) -> None:
        if not self.settings.temporal_retention:
            return
        while True:
            try:
                await self.enforce()
            except Exception:  # a failed round is retried at the next one; the server goes on
                log.exception("history retention failed; retrying in the next round")
            await asyncio.sleep(self.settings.temporal_retention_interval)

    async def enforce(self) -> int:
        """Prune every tenant once; how many instances were deleted."""
        total = 0
        now = int(time.time() * 1_000_000)
        for tenant in [DEFAULT_TENANT, *await self.store.tenants()]:
            policy = self.settings.retention_for(tenant)
            if policy is None:
                continue
            older_than = now - duration_us(policy.max_age, "maxAge") if policy.max_age else None
            total += await self.store.history_prune(
                tenant, older_than=older_than, keep_last=policy.max_instances
            )
        if total:
            log.info("history retention deleted %d instances", total)
        self.pruned += total
        return total
