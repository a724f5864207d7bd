"""The GraphQL schema follows the models: when models are uploaded or deleted, a schema with
the new typed part is built off the event loop and swapped in. Operations already running
(subscriptions included) finish on the schema they started with; new ones use the new one."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from twin_server.api.graphql.schema import build_typed_schema
from twin_server.config import Settings
from twin_server.modeling.dtmi import sort_key
from twin_server.modeling.model import ModelSet
from twin_server.modeling.repository import ModelRepository

log = logging.getLogger(__name__)


Outputs = Callable[[], Mapping[str, Sequence[str]]]


class LiveSchema:
    """``outputs`` gives the inference outputs attached to each Interface's twins; whoever
    changes them (the inference hooks) calls ``refresh``."""

    def __init__(
        self,
        settings: Settings,
        router: Any,
        repository: ModelRepository,
        outputs: Outputs = dict,
    ) -> None:
        self.settings = settings
        self.router = router
        self.repository = repository
        self.outputs = outputs
        self._lock = asyncio.Lock()
        self.swaps = 0

    async def start(self) -> None:
        await self.refresh()
        self.repository.listeners.append(self._changed)

    async def _changed(self, models: ModelSet) -> None:
        await self.refresh()

    async def refresh(self) -> None:
        async with self._lock:  # one build at a time, each of the newest model set
            models = self.repository.models
            records = self.repository.records.values()
            order = [r.id for r in sorted(records, key=lambda r: (r.upload_time, sort_key(r.id)))]
            outputs = self.outputs()
            schema = await asyncio.to_thread(
                build_typed_schema, self.settings, models, order, outputs
            )
            self.router.schema = schema
            self.swaps += 1
            typed = schema.typed
            log.info("GraphQL schema: %d model types", len(typed.twins) if typed else 0)
