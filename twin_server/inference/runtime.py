"""The inference runtime: models loaded once, hooks fed by change events, micro-batched
scoring off the event loop, predictions committed as twin state (origin ``inference``).

A change of a watched attribute of a hooked twin queues the twin's feature row. Rows wait in
one pending map, the latest per (hook, twin): a twin that changes again before it is scored
is scored once, on its newest state, so a slow model never backs up ingestion. One task takes
up to ``batch`` rows of a hook, scores them in a worker thread (one onnxruntime call for the
batch) and writes every prediction in one ``write_many``. Changes made by inference itself
trigger nothing (no loops).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from twin_server.bus.base import EventBus, hand_each
from twin_server.bus.base import Subscription as BusSubscription
from twin_server.core import operations
from twin_server.core.events import ChangeEvent
from twin_server.core.service import TwinGraph
from twin_server.core.timeutil import now_iso
from twin_server.errors import BadRequestData, NotFound
from twin_server.inference import predictions as p
from twin_server.inference.hooks import KIND, Hook, feature, parse_hook
from twin_server.inference.manifest import Manifest, read_manifest
from twin_server.inference.session import ModelSession
from twin_server.jsonld.termmap import TermMap
from twin_server.store.base import Store

log = logging.getLogger(__name__)
Terms = Callable[[list[str] | None], Awaitable[TermMap]]
Subtypes = Callable[[str], list[str]]
IN_FLIGHT = 4  # batches scoring or committing at once


@dataclass
class Compiled:
    """A hook, ready: its model, expanded names and the types it matches."""

    hook: Hook
    session: ModelSession
    base: str  # the hook's type, expanded
    types: frozenset[str]  # it and its DTDL subtypes
    watch: frozenset[str]  # expanded; empty: every attribute
    columns: list[tuple[str, list[str]]]  # per model input: (attribute IRI, path in value)
    outputs: list[tuple[str, str, float, float]]  # (tensor, property IRI, scale, offset)


@dataclass
class HookStats:
    scored: int = 0
    batches: int = 0
    errors: int = 0
    incomplete: int = 0  # twins lacking a feature
    latencies: list[float] = field(default_factory=list)  # change to committed, ms

    def add_latency(self, ms: float) -> None:
        if len(self.latencies) >= 10_000:
            del self.latencies[:5_000]
        self.latencies.append(ms)


class InferenceRuntime:
    def __init__(
        self,
        graph: TwinGraph,
        bus: EventBus,
        store: Store,
        terms: Terms,
        subtypes: Subtypes,
        *,
        folder: Path,
        batch: int = 64,
        pending_limit: int = 100_000,
    ) -> None:
        self.graph = graph
        self.bus = bus
        self.store = store
        self.terms = terms
        self.subtypes = subtypes
        self.folder = folder
        self.batch = batch
        self.pending_limit = pending_limit
        self.models: dict[str, ModelSession] = {}
        self.hooks: dict[str, Hook] = {}
        self.compiled: dict[str, Compiled] = {}
        self.stats: defaultdict[str, HookStats] = defaultdict(HookStats)
        self.dropped: Counter[str] = Counter()
        self.pending: OrderedDict[tuple[str, str, str], tuple[list[float], float]] = OrderedDict()
        self._ready = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._bus: BusSubscription | None = None
        self.hooks_changed: Callable[[], Awaitable[None]] | None = None  # the GraphQL schema

    async def start(self) -> None:
        for path in sorted(self.folder.glob("*/manifest.json")) if self.folder.is_dir() else []:
            try:
                manifest = read_manifest(path.parent)
                self.models[manifest.id] = ModelSession(manifest, path.parent)
            except Exception as exc:  # one bad model folder leaves the others working
                log.error("model in %s not loaded: %s", path.parent, exc)
        for hook_id, document in await self.store.list_documents(KIND):
            try:
                hook = parse_hook(document)
                self.compiled[hook_id] = await self._compile(hook)
                self.hooks[hook_id] = hook
            except BadRequestData as exc:
                log.error("stored hook %s is no longer valid, left out: %s", hook_id, exc)
        self._bus = self.bus.subscribe(max_pending=100_000)
        self._tasks = [
            asyncio.create_task(hand_each(self._bus, self.offer), name="inference-listen"),
            asyncio.create_task(self._score_loop(), name="inference-score"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._bus is not None:
            self._bus.close()

    # hooks ------------------------------------------------------------------------------------

    async def put_hook(self, data: Any) -> tuple[Hook, bool]:
        hook = parse_hook(data)
        compiled = await self._compile(hook)
        created = hook.id not in self.hooks
        await self.store.put_document(KIND, hook.id, hook.document())
        self.hooks[hook.id], self.compiled[hook.id] = hook, compiled
        if self.hooks_changed is not None:
            await self.hooks_changed()
        return hook, created

    async def delete_hook(self, hook_id: str) -> None:
        if hook_id not in self.hooks:
            raise NotFound(f"hook {hook_id} does not exist")
        await self.store.delete_document(KIND, hook_id)
        del self.hooks[hook_id], self.compiled[hook_id]
        if self.hooks_changed is not None:
            await self.hooks_changed()

    def outputs(self) -> dict[str, list[str]]:
        """The prediction outputs attached to each type's twins (for the GraphQL schema)."""
        found: defaultdict[str, list[str]] = defaultdict(list)
        for compiled in self.compiled.values():
            for output in compiled.session.manifest.outputs:
                found[compiled.base].append(output.property)
        return dict(found)

    async def _compile(self, hook: Hook) -> Compiled:
        session = self.models.get(hook.model)
        if session is None:
            raise BadRequestData(
                f"hook {hook.id}: there is no model {hook.model!r} (models: {sorted(self.models)})"
            )
        manifest: Manifest = session.manifest
        terms = await self.terms(hook.context)
        columns = []
        for name in manifest.features():
            source = hook.features.get(name, name)
            attribute, *path = source.split("/")
            columns.append((terms.expand(attribute), path))
        unknown = set(hook.features) - set(manifest.features())
        if unknown:
            raise BadRequestData(
                f"hook {hook.id}: {sorted(unknown)} are not inputs of {hook.model} "
                f"(its inputs: {manifest.features()})"
            )
        base = terms.expand(hook.type)
        types = frozenset([base, *self.subtypes(base)])
        outputs = [
            (o.tensor, terms.expand(o.property), o.scale, o.offset) for o in manifest.outputs
        ]
        watch = frozenset(terms.expand(w) for w in hook.watch)
        return Compiled(hook, session, base, types, watch, columns, outputs)

    # events → rows ------------------------------------------------------------------------------

    def offer(self, event: ChangeEvent) -> None:
        if event.origin == "inference" or event.after is None:
            return
        changed = {c.name for c in event.changes}
        for hook_id, compiled in self.compiled.items():
            hook = compiled.hook
            if not hook.enabled or hook.tenant != event.tenant:
                continue
            if compiled.types.isdisjoint(event.types):
                continue
            if compiled.watch and compiled.watch.isdisjoint(changed):
                continue
            row = [feature(dict(event.after), a, path) for a, path in compiled.columns]
            if any(v is None for v in row):
                self.stats[hook_id].incomplete += 1
                continue
            key = (hook_id, event.tenant, event.entity_id)
            if key in self.pending:
                self.pending.move_to_end(key)  # scored once, on its newest state
            elif len(self.pending) >= self.pending_limit:
                self.pending.popitem(last=False)
                self.dropped[hook_id] += 1
            self.pending[key] = ([float(v) for v in row if v is not None], time.monotonic())
            self._ready.set()

    # rows → predictions -------------------------------------------------------------------------

    async def _score_loop(self) -> None:
        """Take batches while rows wait; up to ``IN_FLIGHT`` of them score and commit at once
        (a batch waiting for its commit does not hold up the next)."""
        slots = asyncio.Semaphore(IN_FLIGHT)
        running: set[asyncio.Task[None]] = set()
        while True:
            await self._ready.wait()
            if not self.pending:
                self._ready.clear()
                continue
            await slots.acquire()
            hook_id = next(iter(self.pending))[0]
            batch = [k for k in itertools.islice(self.pending, self.batch * 4) if k[0] == hook_id]
            batch = batch[: self.batch]
            rows = [self.pending.pop(k) for k in batch]
            task = asyncio.create_task(self._guarded(hook_id, batch, rows, slots))
            running.add(task)
            task.add_done_callback(running.discard)

    async def _guarded(
        self,
        hook_id: str,
        keys: list[tuple[str, str, str]],
        rows: list[tuple[list[float], float]],
        slots: asyncio.Semaphore,
    ) -> None:
        try:
            await self._score(hook_id, keys, rows)
        except Exception:
            self.stats[hook_id].errors += 1
            log.exception("hook %s: scoring a batch of %d failed", hook_id, len(keys))
        finally:
            slots.release()

    async def _score(
        self, hook_id: str, keys: list[tuple[str, str, str]], rows: list[tuple[list[float], float]]
    ) -> None:
        compiled = self.compiled.get(hook_id)
        if compiled is None:
            return  # deleted meanwhile
        matrix = np.array([r for r, _ in rows], dtype=np.float32)
        scores = await asyncio.to_thread(compiled.session.score, matrix)
        manifest = compiled.session.manifest
        stamp = now_iso()
        by_tenant: defaultdict[str, list[tuple[str, Any]]] = defaultdict(list)
        for index, (_, tenant, twin_id) in enumerate(keys):
            attrs = {}
            for tensor, prop, scale, offset in compiled.outputs:
                value = float(scores[tensor][index][0]) * scale + offset
                attrs[prop] = [p.prediction_instance(value, stamp, manifest.id, manifest.version)]
            by_tenant[tenant].append(
                (twin_id, operations.append(twin_id, attrs, no_overwrite=False))
            )
        stats = self.stats[hook_id]
        stats.batches += 1
        for tenant, items in by_tenant.items():
            results = await self.graph.write_many(tenant, items, origin="inference")
            for result in results:
                if isinstance(result, Exception):
                    stats.errors += 1
                else:
                    stats.scored += 1
        now = time.monotonic()
        for _, queued in rows:
            stats.add_latency((now - queued) * 1000)
