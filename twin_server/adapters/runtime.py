"""The adapter runtime: loads the adapters, keeps the bindings (stored, and loaded from files
at start), hands each adapter its bindings, commits what they read, and tracks health.

Bindings are managed at run time (``/adapters/bindings``): a binding is checked (its shared
parts here, its protocol parts by its adapter) before it is stored, and applied at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

from twin_server.adapters.bindings import Binding, parse_binding, read_binding_files
from twin_server.adapters.commands import CommandRouter
from twin_server.adapters.contract import Adapter
from twin_server.adapters.health import Health
from twin_server.adapters.ingest import Ingest, Reading
from twin_server.adapters.loader import load, manifests
from twin_server.adapters.throttle import LogThrottle
from twin_server.core.service import TwinGraph
from twin_server.core.types import Entity
from twin_server.errors import BadRequestData, NotFound
from twin_server.jsonld.termmap import TermMap
from twin_server.store.base import Applied, Store

log = logging.getLogger(__name__)
KIND = "adapter-binding"
PRESSURE_BATCHES = 4  # readings waiting, in batches, past which adapters hold back
Terms = Callable[[list[str] | None], Awaitable[TermMap]]


class AdapterRuntime:
    def __init__(
        self,
        graph: TwinGraph,
        store: Store,
        terms: Terms,
        *,
        folder: Path,
        binding_files: Path | None = None,
        queue_limit: int,
        batch: int,
        health_interval: float,
    ) -> None:
        """``queue_limit``, ``batch`` and ``health_interval``: the settings ``adapter_queue``,
        ``adapter_batch`` and ``adapter_health_interval`` (their defaults are kept there)."""
        self.graph = graph
        self.store = store
        self._terms = terms
        self.folder = folder
        self.binding_files = binding_files
        self.adapters: dict[str, Adapter] = {}
        self.descriptions: dict[str, str] = {}
        self.bindings: dict[str, Binding] = {}
        self.health = Health(graph, interval=health_interval)
        self.router = CommandRouter(graph, lambda: list(self.bindings.values()), self.adapters)
        self._pending: set[asyncio.Task[None]] = set()
        self.ingest = Ingest(graph, self._binding_terms, self._done, limit=queue_limit, batch=batch)
        self.received: Counter[str] = Counter()  # messages per binding
        self.committed: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()  # per binding ("" for unknown sources)
        self._tasks: list[asyncio.Task[None]] = []
        self._term_cache: dict[tuple[str, ...] | None, TermMap] = {}
        self._lock = asyncio.Lock()
        self._warnings = LogThrottle()

    # -- life cycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        for manifest in manifests(self.folder) if self.folder.is_dir() else []:
            adapter = load(manifest)
            self.adapters[manifest.name] = adapter
            self.descriptions[manifest.name] = manifest.description
        for binding_id, document in await self.store.list_documents(KIND):
            try:
                self.bindings[binding_id] = self._checked(parse_binding(document))
            except BadRequestData as exc:
                log.error("stored binding %s is no longer valid, left out: %s", binding_id, exc)
        if self.binding_files is not None:
            for binding in read_binding_files(self.binding_files):
                self._checked(binding)
                await self.store.put_document(KIND, binding.id, binding.document())
                self.bindings[binding.id] = binding
        for adapter in self.adapters.values():
            await adapter.start(self)
        self._tasks = [
            asyncio.create_task(self.ingest.run(), name="adapter-ingest"),
            asyncio.create_task(self.health.run(), name="adapter-health"),
            asyncio.create_task(self.router.run(), name="adapter-commands"),
        ]
        for name in self.adapters:
            await self._apply(name)
        await self.router.recover()
        log.info(
            "adapters: %s; %d bindings", ", ".join(self.adapters) or "none", len(self.bindings)
        )

    async def stop(self) -> None:
        for adapter in self.adapters.values():
            try:
                await adapter.stop()
            except Exception:
                log.exception("adapter %s did not stop cleanly", adapter.name)
        for task in [*self._tasks, *self._pending]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- bindings -----------------------------------------------------------------------------

    async def put_binding(self, data: Any) -> tuple[Binding, bool]:
        """Store and apply a binding (replacing one of the same id); (it, created)."""
        binding = self._checked(parse_binding(data))
        async with self._lock:
            created = binding.id not in self.bindings
            previous = self.bindings.get(binding.id)
            await self.store.put_document(KIND, binding.id, binding.document())
            self.bindings[binding.id] = binding
            self._term_cache.pop(_key(binding.context), None)
            self.health.forget(binding.id)
            for name in {binding.adapter, previous.adapter if previous else binding.adapter}:
                await self._apply(name)
        return binding, created

    async def delete_binding(self, binding_id: str) -> None:
        async with self._lock:
            binding = self.bindings.pop(binding_id, None)
            if binding is None:
                raise NotFound(f"binding {binding_id} does not exist")
            await self.store.delete_document(KIND, binding_id)
            self.health.forget(binding_id)
            await self._apply(binding.adapter)

    def _checked(self, binding: Binding) -> Binding:
        adapter = self.adapters.get(binding.adapter)
        if adapter is None:
            raise BadRequestData(
                f"binding {binding.id}: there is no adapter {binding.adapter!r} (adapters: "
                f"{sorted(self.adapters)})"
            )
        problems = adapter.check(binding)
        missing = set() if problems else set(binding.twin_template.names) - adapter.names(binding)
        if missing:
            problems.append(
                f"twin {binding.twin!r} uses {sorted(missing)}, which the source does not name"
            )
        if problems:
            raise BadRequestData(f"binding {binding.id}: " + "; ".join(problems))
        return binding

    async def _apply(self, adapter_name: str) -> None:
        adapter = self.adapters.get(adapter_name)
        if adapter is not None:
            mine = [b for b in self.bindings.values() if b.adapter == adapter_name]
            await adapter.apply(mine)

    # -- what adapters report (the Host protocol) ---------------------------------------------

    def reading(
        self,
        binding: Binding,
        twin_id: str,
        attributes: dict[str, dict[str, Any]],
        *,
        flagged: dict[str, str] | None = None,
    ) -> None:
        self.received[binding.id] += 1
        reading = Reading(binding, twin_id, attributes, flagged)
        if not self.ingest.put(reading):
            self.refused[binding.id] += 1
            if self.ingest.dropped % 1000 == 1:
                log.warning(
                    "device readings dropped: the queue is full (%d so far)", self.ingest.dropped
                )

    def rejected(self, binding: Binding | None, where: str, reason: str) -> None:
        self.refused[binding.id if binding else ""] += 1
        self._warnings.warn(where, "adapter message from %s rejected: %s", where, reason)

    def connection(self, adapter: str, name: str, connected: bool, error: str | None) -> None:
        self.health.connection(adapter, name, connected, error)
        if connected:
            self.router.connected()

    def command_result(self, execution_id: str, status: str, response: Any = None) -> None:
        self._soon(self.router.result(execution_id, status, response))

    def pressure(self) -> bool:
        return self.ingest.waiting > self.ingest.batch * PRESSURE_BATCHES

    def dispatch(self, tenant: str, execution: Entity) -> None:
        """A new command execution (the command service's dispatcher): route and deliver it."""
        self._soon(self.router.submit(tenant, execution))

    def _soon(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    # -- inside -------------------------------------------------------------------------------

    async def _binding_terms(self, binding: Binding) -> TermMap:
        key = _key(binding.context)
        found = self._term_cache.get(key)
        if found is None:
            found = self._term_cache[key] = await self._terms(binding.context)
        return found

    def models_changed(self) -> None:
        """The models' context changed: names resolve again."""
        self._term_cache.clear()

    def _done(self, reading: Reading, result: Applied | Exception) -> None:
        binding = reading.binding
        if isinstance(result, Exception):
            self.refused[binding.id] += 1
            self.health.failed(binding, reading.twin_id, str(result))
            self._warnings.warn(
                reading.twin_id,
                "device update of %s (binding %s) refused: %s",
                reading.twin_id,
                binding.id,
                result,
            )
            return
        self.committed[binding.id] += 1
        self.health.reported(binding, reading.twin_id)


def _key(context: list[str] | None) -> tuple[str, ...] | None:
    return tuple(context) if context is not None else None
