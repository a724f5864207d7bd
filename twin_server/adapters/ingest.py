"""Device readings to committed twin updates, in batches.

Adapters queue readings (never waiting); one task takes whatever has queued, up to a batch,
and commits it with one ``write_many`` per tenant, so a stream of messages costs one
transaction per batch rather than one per message. Two batches commit at once
(``IN_FLIGHT``); while both do, the next fills.
A full queue refuses readings (counted as dropped, the device's flood never slows the server).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from twin_server.adapters import state
from twin_server.adapters.bindings import Binding
from twin_server.commands import model as m
from twin_server.core import ingest, operations
from twin_server.core.operations import Operation, Outcome
from twin_server.core.service import TwinGraph
from twin_server.core.types import Entity, json_prop, prop
from twin_server.errors import BadRequestData, TwinError
from twin_server.jsonld.termmap import TermMap
from twin_server.store.base import Applied

log = logging.getLogger(__name__)
IN_FLIGHT = 2
"""Batches committing at once. With one, the event loop had nothing to do while a commit ran
its SQLite statements and its fsync, which hold no GIL; with two, one batch is prepared, or
its results handed out, while the other commits. The writer still commits them in order."""
CONVERTED = frozenset({"type", "value", "observedAt", "unitCode"})  # what convert.attribute makes


@dataclass(slots=True)
class Reading:
    binding: Binding
    twin_id: str
    attributes: dict[str, dict[str, Any]]
    flagged: dict[str, str] | None


Terms = Callable[[Binding], Awaitable[TermMap]]
Done = Callable[[Reading, Applied | Exception], None]


class Ingest:
    def __init__(
        self, graph: TwinGraph, terms: Terms, done: Done, *, limit: int, batch: int
    ) -> None:
        self.graph = graph
        self.terms = terms
        self.done = done
        self.batch = batch
        self.limit = limit
        self._waiting: deque[Reading] = deque()
        self._wake: asyncio.Future[None] | None = None  # the taker's, while nothing waits
        self.dropped = 0
        self.commits = 0
        self._types: dict[str, tuple[TermMap, list[str]]] = {}  # a type, expanded by those terms
        self._names: dict[str, tuple[TermMap, dict[str, str]]] = {}  # per binding

    @property
    def waiting(self) -> int:
        """Readings queued and not yet taken into a batch."""
        return len(self._waiting)

    def put(self, reading: Reading) -> bool:
        waiting = self._waiting
        if len(waiting) >= self.limit:
            self.dropped += 1
            return False
        waiting.append(reading)
        wake = self._wake
        if wake is not None and not wake.done():
            wake.set_result(None)
        return True

    async def _take(self) -> list[Reading]:
        """The readings waiting, up to a batch; waits for one when none is."""
        waiting = self._waiting
        while not waiting:
            self._wake = asyncio.get_running_loop().create_future()
            try:
                await self._wake
            finally:
                self._wake = None
        if len(waiting) <= self.batch:
            batch = list(waiting)
            waiting.clear()
            return batch
        return [waiting.popleft() for _ in range(self.batch)]

    async def run(self) -> None:
        slots = asyncio.Semaphore(IN_FLIGHT)
        committing: set[asyncio.Task[None]] = set()
        try:
            while True:
                await slots.acquire()  # then take: readings fill the batch while none is free
                batch = await self._take()
                task = asyncio.create_task(self._commit_in(slots, batch))
                committing.add(task)
                task.add_done_callback(committing.discard)
        finally:
            for task in committing:
                task.cancel()

    async def _commit_in(self, slots: asyncio.Semaphore, batch: list[Reading]) -> None:
        try:
            await self.commit(batch)
        except Exception:  # never let ingestion die: log, count, go on
            log.exception("committing %d device readings failed", len(batch))
            for reading in batch:
                self.done(reading, RuntimeError("the readings could not be committed"))
        finally:
            slots.release()

    async def commit(self, batch: list[Reading]) -> None:
        by_tenant: defaultdict[str, list[tuple[Reading, Operation]]] = defaultdict(list)
        terms: dict[int, TermMap | TwinError] = {}  # by binding: resolved once a batch
        for reading in batch:
            binding = reading.binding  # alive while the batch is: its id() is its own
            found = terms.get(id(binding))
            if found is None:
                try:
                    found = await self.terms(binding)
                except TwinError as exc:
                    found = exc
                terms[id(binding)] = found
            if isinstance(found, TwinError):
                self.done(reading, found)
                continue
            try:
                operation = self._operation(reading, found)
            except TwinError as exc:
                self.done(reading, exc)
                continue
            by_tenant[reading.binding.tenant].append((reading, operation))
        for tenant, items in by_tenant.items():
            results = await self.graph.write_many(
                tenant, [(r.twin_id, op) for r, op in items], origin="adapter"
            )
            self.commits += 1
            for (reading, _), result in zip(items, results, strict=True):
                self.done(reading, result)

    def _operation(self, reading: Reading, terms: TermMap) -> Operation:
        binding = reading.binding
        attrs = self._attrs(binding, reading.attributes, terms) if reading.attributes else {}
        types = None
        if binding.type:
            cached = self._types.get(binding.type)
            if cached is None or cached[0] is not terms:
                cached = self._types[binding.type] = (
                    terms,
                    ingest.entity_types(binding.type, terms),
                )
            types = cached[1]
        good = set(reading.attributes)
        return device_update(reading.twin_id, attrs, good, reading.flagged or {}, types)

    def _attrs(
        self, binding: Binding, values: dict[str, dict[str, Any]], terms: TermMap
    ) -> dict[str, Any]:
        """The readings' attributes, expanded. The instances the adapters' conversion makes
        (a Property with its value, ``observedAt`` and maybe ``unitCode``, all checked there)
        are taken as they are, under the binding's expanded names; anything else goes
        through the NGSI-LD parser."""
        cached = self._names.get(binding.id)
        if cached is None or cached[0] is not terms:
            cached = self._names[binding.id] = (terms, {})
        names = cached[1]
        attrs: dict[str, Any] = {}
        for name, value in values.items():
            if (
                value.get("type") == "Property"
                and value.get("value") is not None
                and value.keys() <= CONVERTED
            ):
                iri = names.get(name)
                if iri is None:
                    iri = names[name] = ingest.attribute_name(name, terms)
                parsed = {iri: [dict(value)]}
            else:
                parsed = ingest.attrs_from_payload({name: value}, terms)
            if not attrs.keys().isdisjoint(parsed):
                raise BadRequestData(f"attribute {name!r} is mapped twice (under two names)")
            attrs.update(parsed)
        return attrs


def device_update(
    twin_id: str,
    attrs: dict[str, Any],
    good: set[str],
    flagged: dict[str, str],
    types: list[str] | None,
) -> Operation:
    """New attribute values from a device, with the twin's quality flags (by the binding's
    attribute names) kept up to date: a good value clears its flag, a bad one sets it; a stale
    mark is lifted. Creates the twin when it is missing and ``types`` is given; else a missing
    twin is an error."""

    def run(old: Entity | None, now: str) -> Outcome:
        extra: dict[str, Any] = {}
        quality = m.value(old, state.QUALITY) or {}
        if not isinstance(quality, dict):
            quality = {}
        kept = {k: v for k, v in quality.items() if k not in good} | flagged
        if kept != quality:
            extra[state.QUALITY] = json_prop(kept)
        if m.value(old, state.STALE) is True:
            extra[state.STALE] = prop(False)
        changes = {**attrs, **extra}
        if old is None and types:
            entity = {"id": twin_id, "type": types, "attrs": changes}
            return operations.create(entity)(None, now)
        return operations.append(twin_id, changes, no_overwrite=False)(old, now)

    return run
