"""The inference runtime: hooks fed by change events and by their period, micro-batched
scoring off the event loop, predictions committed as twin state (origin ``inference``).

A trigger queues the twin. Twins wait in one pending map, the latest per (hook, twin): a twin
that changes again before it is scored is scored once, on its newest state, so a slow model
never backs up ingestion. One task takes up to ``batch`` twins of a hook, reads their features
(related twins from the store, windows from memory), scores them with each version the
model's deployment names (one onnxruntime call per version, in a worker thread) and writes
every prediction in one ``write_many``. Changes made by inference itself trigger nothing.

Health (batch outcomes, drift, stale inputs) is watched by ``watch.HealthWatch``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from twin_server.bus.base import EventBus, concerning, hand_each
from twin_server.bus.base import Subscription as BusSubscription
from twin_server.bus.watched import ByTypes
from twin_server.core import operations
from twin_server.core.events import ChangeEvent
from twin_server.core.qlang import Query, parse_q
from twin_server.core.service import TwinGraph
from twin_server.core.timeutil import now_iso
from twin_server.core.types import Entity
from twin_server.errors import BadRequestData, NotFound
from twin_server.inference import predictions as p
from twin_server.inference.features import Source, Windows, number, related_id
from twin_server.inference.hooks import KIND, Hook, parse_hook
from twin_server.inference.registry import ModelRegistry
from twin_server.inference.session import ModelSession
from twin_server.inference.watch import HealthWatch
from twin_server.jsonld.termmap import TermMap
from twin_server.store.base import Candidates, Store

log = logging.getLogger(__name__)
Terms = Callable[[list[str] | None], Awaitable[TermMap]]
Subtypes = Callable[[str], list[str]]
Key = tuple[str, str, str]  # (hook, tenant, twin)
# Batches scoring or committing at once. A batch spends most of its time waiting for its
# commit, so the runtime scores at most IN_FLIGHT x batch twins per commit round trip: with 4,
# 2,500 twins a second fell into a standing ~1 s backlog; with 16 every twin was scored and
# p99 was 236-521 ms (bench/inference.py).
IN_FLIGHT = 16
TICK = 1.0  # seconds between checks of periods and stale inputs


@dataclass
class Compiled:
    """A hook, ready: its expanded names and the types it matches."""

    hook: Hook
    terms: TermMap
    base: str  # the hook's type, expanded
    types: frozenset[str]  # it and its DTDL subtypes
    watch: frozenset[str]  # expanded; empty: every attribute
    sources: dict[str, Source]  # every input of every version of the model
    local: frozenset[str]  # the twin's own attributes the sources read
    query: Query | None  # the hook's q

    def outputs(self, session: ModelSession) -> list[tuple[str, str, float, float, str | None]]:
        """(tensor, property IRI, scale, offset, confidence tensor) of a version."""
        return [
            (o.tensor, self.terms.expand(o.property), o.scale, o.offset, o.confidence)
            for o in session.manifest.outputs
        ]


@dataclass
class HookStats:
    scored: int = 0
    shadow: int = 0
    batches: int = 0
    errors: int = 0
    incomplete: int = 0  # twins lacking a feature
    latencies: list[float] = field(default_factory=list)  # trigger to committed, ms

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
        registry: ModelRegistry,
        batch: int = 64,
        pending_limit: int = 100_000,
        drift_threshold: float = 0.2,
        drift_window: int = 1000,
    ) -> None:
        self.graph = graph
        self.bus = bus
        self.store = store
        self.terms = terms
        self.subtypes = subtypes
        self.registry = registry
        self.batch = batch
        self.pending_limit = pending_limit
        self.hooks: dict[str, Hook] = {}
        self.compiled: ByTypes[Compiled] = ByTypes()
        self.stats: defaultdict[str, HookStats] = defaultdict(HookStats)
        self.dropped: Counter[str] = Counter()
        self.pending: OrderedDict[Key, tuple[Mapping[str, Any], float]] = OrderedDict()
        self.windows = Windows()
        self.watch = HealthWatch(
            graph, registry, drift_threshold=drift_threshold, drift_window=drift_window
        )
        self.hooks_changed: Callable[[], Awaitable[None]] | None = None  # the GraphQL schema
        self._due: dict[str, float] = {}
        self._ready = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._bus: BusSubscription | None = None

    async def start(self, bundled: list[dict[str, Any]] | None = None) -> None:
        """Load the stored hooks, then the hooks the model folders bring (``bundled``) whose
        ids are not stored, and start listening."""
        stored = dict(await self.store.list_documents(KIND))
        for hook_id, document in stored.items():
            await self._install_quietly(hook_id, document, "stored")
        for document in bundled or []:
            hook_id = str(document.get("id"))
            if hook_id not in stored:
                await self._install_quietly(hook_id, document, "bundled")
        # the events no hook could concern are not queued for the runtime at all
        self._bus = self.bus.subscribe(
            max_pending=100_000,
            accept=concerning(self.compiled.types, own="inference"),
        )
        self._tasks = [
            asyncio.create_task(hand_each(self._bus, self.offer), name="inference-listen"),
            asyncio.create_task(self._score_loop(), name="inference-score"),
            asyncio.create_task(self._tick_loop(), name="inference-tick"),
        ]

    async def _install_quietly(self, hook_id: str, document: Any, where: str) -> None:
        try:
            hook = parse_hook(document)
            self.compiled[hook.id] = await self._compile(hook)
            self.hooks[hook.id] = hook
        except (BadRequestData, NotFound) as exc:
            log.error("%s hook %s is not valid, left out: %s", where, hook_id, exc)

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
        self._forget_hook(hook.id)
        await self._hooks_changed()
        return hook, created

    async def delete_hook(self, hook_id: str) -> None:
        if hook_id not in self.hooks:
            raise NotFound(f"hook {hook_id} does not exist")
        await self.store.delete_document(KIND, hook_id)
        del self.hooks[hook_id], self.compiled[hook_id]
        self._forget_hook(hook_id)
        await self._hooks_changed()

    async def recompile(self, model_id: str) -> None:
        """A model got a version: its hooks read that version's inputs too."""
        for hook_id, hook in list(self.hooks.items()):
            if hook.model == model_id:
                self.compiled[hook_id] = await self._compile(hook)
        await self._hooks_changed()

    async def _hooks_changed(self) -> None:
        self.windows.want([s for c in self.compiled.values() for s in c.sources.values()])
        if self.hooks_changed is not None:
            await self.hooks_changed()

    def _forget_hook(self, hook_id: str) -> None:
        self.watch.forget(hook_id)
        self._due.pop(hook_id, None)

    def outputs(self) -> dict[str, list[str]]:
        """The prediction outputs attached to each type's twins (for the GraphQL schema)."""
        found: defaultdict[str, list[str]] = defaultdict(list)
        for compiled in self.compiled.values():
            model = self.registry.models.get(compiled.hook.model)
            if model is None:
                continue
            names = {o.property for s in model.versions.values() for o in s.manifest.outputs}
            found[compiled.base].extend(sorted(names - set(found[compiled.base])))
        return dict(found)

    def written_by(self, hook_id: str) -> tuple[frozenset[str], frozenset[str]]:
        """(the prediction attribute IRIs a hook writes, the types it scores)."""
        compiled = self.compiled.get(hook_id)
        model = self.registry.models.get(compiled.hook.model) if compiled else None
        if compiled is None or model is None:
            return frozenset(), frozenset()
        names = {o[1] for s in model.versions.values() for o in compiled.outputs(s)}
        return frozenset(names), compiled.types

    async def _compile(self, hook: Hook) -> Compiled:
        model = self.registry.models.get(hook.model)
        if model is None:
            raise BadRequestData(
                f"hook {hook.id}: there is no model {hook.model!r} "
                f"(models: {sorted(self.registry.models)})"
            )
        inputs = sorted({n for s in model.versions.values() for n in s.manifest.features()})
        unknown = set(hook.features) - set(inputs)
        if unknown:
            raise BadRequestData(
                f"hook {hook.id}: {sorted(unknown)} are not inputs of {hook.model} "
                f"(its inputs: {inputs})"
            )
        terms = await self.terms(hook.context)
        sources = {}
        for name in inputs:
            spec = hook.spec(name)
            attribute, *path = spec.attribute.split("/")
            sources[name] = Source(
                terms.expand(attribute),
                tuple(path),
                terms.expand(spec.via) if spec.via else None,
                spec.window,
                spec.aggregate,
            )
        base = terms.expand(hook.type)
        types = frozenset([base, *self.subtypes(base)])
        watch = frozenset(terms.expand(w) for w in hook.watch)
        local = frozenset(s.via or s.attribute for s in sources.values())
        query = parse_q(hook.q, terms.expand) if hook.q is not None else None
        return Compiled(hook, terms, base, types, watch, sources, local, query)

    # triggers -----------------------------------------------------------------------------------

    def offer(self, event: ChangeEvent) -> None:
        """An event the bus filter let through: record windows, queue the twins to score."""
        if event.after is None:
            self.windows.forget(event.tenant, event.entity_id)
            return
        after = cast(Entity, event.after)  # what the store committed: a plain dict
        changed = {c.name for c in event.changes}
        if self.windows.spans:
            for c in event.changes:
                self.windows.record(event.tenant, event.entity_id, c.name, c.new, event.at)
        for hook_id, compiled in self.compiled.items():
            hook = compiled.hook
            if not hook.enabled or hook.tenant != event.tenant:
                continue
            if compiled.types.isdisjoint(event.types):
                continue
            key = (hook_id, event.tenant, event.entity_id)
            if not compiled.local.isdisjoint(changed):
                self.watch.input_seen(key, hook.model, time.monotonic())
            if not hook.on_change or (compiled.watch and compiled.watch.isdisjoint(changed)):
                continue
            if compiled.query is not None and not compiled.query.matches(after):
                continue
            self._queue(key, after)

    def _queue(self, key: Key, entity: Mapping[str, Any]) -> None:
        if key in self.pending:
            self.pending.move_to_end(key)  # scored once, on its newest state
        elif len(self.pending) >= self.pending_limit:
            self.pending.popitem(last=False)
            self.dropped[key[0]] += 1
        self.pending[key] = (entity, time.monotonic())
        self._ready.set()

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(TICK)
            try:
                await self._tick()
            except Exception:
                log.exception("inference: a periodic round failed")

    async def _tick(self) -> None:
        now = time.monotonic()
        for hook_id, compiled in list(self.compiled.items()):
            hook = compiled.hook
            if not hook.enabled:
                continue
            if hook.every is not None and now >= self._due.get(hook_id, 0.0):
                self._due[hook_id] = now + hook.every
                await self._queue_all(hook_id, compiled)
            if hook.stale_after is not None:
                self.watch.check_stale(hook_id, hook.model, hook.stale_after, now)

    async def _queue_all(self, hook_id: str, compiled: Compiled) -> None:
        tenant = compiled.hook.tenant
        async for chunk in self.store.scan(tenant, Candidates(types=compiled.types)):
            for entity in chunk:
                if compiled.query is None or compiled.query.matches(entity):
                    self._queue((hook_id, tenant, entity["id"]), entity)

    # health -------------------------------------------------------------------------------------

    def hook_state(self, hook_id: str) -> str:
        compiled = self.compiled.get(hook_id)
        return self.watch.model_state(compiled.hook.model) if compiled else "no hook"

    # twins → predictions ------------------------------------------------------------------------

    async def _score_loop(self) -> None:
        """Take batches while twins wait; up to ``IN_FLIGHT`` of them score and commit at once
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
            entries = [self.pending.pop(k) for k in batch]
            task = asyncio.create_task(self._guarded(hook_id, batch, entries, slots))
            running.add(task)
            task.add_done_callback(running.discard)

    async def _guarded(
        self,
        hook_id: str,
        keys: list[Key],
        entries: list[tuple[Mapping[str, Any], float]],
        slots: asyncio.Semaphore,
    ) -> None:
        try:
            await self._score(hook_id, keys, entries)
        except Exception:
            self.stats[hook_id].errors += 1
            log.exception("hook %s: scoring a batch of %d failed", hook_id, len(keys))
        finally:
            slots.release()

    async def _features(
        self, compiled: Compiled, tenant: str, twin_id: str, entity: Mapping[str, Any]
    ) -> dict[str, float | None]:
        found = self._own_features(compiled, tenant, twin_id, entity)
        for name, source in compiled.sources.items():
            if source.via is not None:
                target = related_id(entity, source.via)
                related = await self.store.get(tenant, target) if target else None
                found[name] = number(related, source.attribute, source.path) if related else None
        return found

    def _own_features(
        self, compiled: Compiled, tenant: str, twin_id: str, entity: Mapping[str, Any]
    ) -> dict[str, float | None]:
        """The features read from the twin itself and its windows (not related twins)."""
        found: dict[str, float | None] = {}
        for name, source in compiled.sources.items():
            if source.window is not None:
                found[name] = self.windows.aggregate(tenant, twin_id, source)
            elif source.via is None:
                found[name] = number(entity, source.attribute, source.path)
        return found

    async def _score(
        self, hook_id: str, keys: list[Key], entries: list[tuple[Mapping[str, Any], float]]
    ) -> None:
        compiled = self.compiled.get(hook_id)
        model = self.registry.models.get(compiled.hook.model) if compiled else None
        if compiled is None or model is None:
            return  # deleted meanwhile
        stats = self.stats[hook_id]
        pairs = zip(keys, entries, strict=True)
        twins = [(tenant, twin, entity) for (_, tenant, twin), (entity, _) in pairs]
        if any(s.via is not None for s in compiled.sources.values()):
            features = [await self._features(compiled, *twin) for twin in twins]
        else:  # the twins' own attributes: no store reads, no awaiting
            features = [self._own_features(compiled, *twin) for twin in twins]
        groups: defaultdict[tuple[str, bool], list[int]] = defaultdict(list)
        for index, (_, _, twin) in enumerate(keys):
            groups[(model.acting(twin).manifest.version, False)].append(index)
            for other in model.shadows():
                groups[(other.manifest.version, True)].append(index)
        stamp = now_iso()
        attrs: defaultdict[int, dict[str, list[dict[str, Any]]]] = defaultdict(dict)
        used: list[ModelSession] = []
        for (version, shadow), indexes in groups.items():
            session = model.versions[version]
            names = session.manifest.features()
            ready = [i for i in indexes if all(features[i][n] is not None for n in names)]
            if not shadow:
                stats.incomplete += len(indexes) - len(ready)
            if not ready:
                continue
            matrix = np.array([[features[i][n] for n in names] for i in ready], dtype=np.float32)
            health = self.watch.version(session)
            used.append(session)
            try:
                scores = await asyncio.to_thread(session.score, matrix)
            except Exception as exc:
                health.record(False, str(exc)[:300])
                stats.errors += 1
                log.warning(
                    "model %s %s failed a batch of %d: %s", model.id, version, len(ready), exc
                )
                continue
            health.record(True)
            health.drift.add(matrix)
            outputs = compiled.outputs(session)
            for row, index in enumerate(ready):
                inputs = {n: float(v) for n, v in zip(names, matrix[row].tolist(), strict=True)}
                for tensor, prop, scale, offset, confidence in outputs:
                    value = float(scores[tensor][row][0]) * scale + offset
                    sure = (
                        min(1.0, max(0.0, float(scores[confidence][row][0])))
                        if confidence
                        else None
                    )
                    attrs[index].setdefault(prop, []).append(
                        p.prediction_instance(
                            value,
                            stamp,
                            model.id,
                            version,
                            confidence=sure,
                            inputs=inputs,
                            shadow=shadow,
                        )
                    )
                if shadow:
                    stats.shadow += 1
        stats.batches += 1
        by_tenant: defaultdict[str, list[tuple[str, Any]]] = defaultdict(list)
        for index, written in attrs.items():
            _, tenant, twin = keys[index]
            by_tenant[tenant].append((twin, operations.append(twin, written, no_overwrite=False)))
        for tenant, items in by_tenant.items():
            results = await self.graph.write_many(tenant, items, origin="inference")
            for result in results:
                if isinstance(result, Exception):
                    stats.errors += 1
                else:
                    stats.scored += 1
        now = time.monotonic()
        for index in attrs:
            stats.add_latency((now - entries[index][1]) * 1000)
        await self.watch.after_batch(hook_id, model.id, used)
