"""Commands to devices: route each execution to the binding of its twin, deliver it through
the binding's adapter, and keep its lifecycle as twin state.

pending → delivered (the adapter handed it over: the broker acknowledged the publish, the
server took the write) → succeeded | failed (the device's answer) | timed-out (no answer
within the command's ``timeout``, or not deliverable within its ``ttl``). A command whose
device cannot be reached waits: executions are entities, so the queue is the store itself,
read again at start; waiting ones are tried again when a connection comes up, and every
``retry`` seconds. A command no binding routes fails at once, saying so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from twin_server.adapters.bindings import Binding
from twin_server.adapters.contract import Adapter, Delivery, DeliveryError
from twin_server.commands import model as m
from twin_server.core import operations
from twin_server.core.operations import Operation, Outcome
from twin_server.core.service import TwinGraph
from twin_server.core.timeutil import parse_datetime
from twin_server.core.types import Entity, json_prop, prop
from twin_server.errors import TwinError
from twin_server.store.base import Candidates

log = logging.getLogger(__name__)
OPEN = ("pending", "delivered")


@dataclass
class InFlight:
    delivery: Delivery
    adapter: Adapter
    expires: float  # monotonic: past it, an undelivered command times out
    answer_by: float | None = None  # monotonic: set once delivered


class CommandRouter:
    def __init__(
        self,
        graph: TwinGraph,
        bindings: Callable[[], list[Binding]],
        adapters: dict[str, Adapter],
        *,
        retry: float = 5.0,
    ) -> None:
        self.graph = graph
        self.bindings = bindings
        self.adapters = adapters
        self.retry = retry
        self.flights: dict[str, InFlight] = {}
        self.delivered = 0
        self.failed = 0
        self._wake = asyncio.Event()

    async def recover(self) -> None:
        """Take up the executions left open by the last run (the durable queue)."""
        for tenant in await self.graph.store.tenants():
            candidates = Candidates(types=frozenset({m.EXECUTION_TYPE}))
            async for chunk in self.graph.store.scan(tenant, candidates):
                for execution in chunk:
                    if m.value(execution, m.STATUS) in OPEN:
                        await self.submit(tenant, execution)

    async def submit(self, tenant: str, execution: Entity) -> None:
        """A new (or recovered) execution: route it, and deliver it when it can go."""
        twin_id = str(m.value(execution, m.TWIN))
        command = str(m.value(execution, m.COMMAND))
        route = self._route(tenant, twin_id, command)
        if route is None:
            reason = f"no binding routes command {command} of twin {twin_id}"
            await self._set(tenant, execution["id"], "failed", {"error": reason})
            return
        binding, names = route
        mapping = binding.command(command)
        assert mapping is not None
        age = _age(execution)
        delivery = Delivery(
            execution_id=execution["id"],
            tenant=tenant,
            twin_id=twin_id,
            command=command,
            payload=m.value(execution, m.PAYLOAD),
            binding=binding,
            names=names,
        )
        expires = time.monotonic() - age + mapping.ttl
        flight = InFlight(delivery, self.adapters[binding.adapter], expires)
        if m.value(execution, m.STATUS) == "delivered":
            flight.answer_by = time.monotonic() + mapping.timeout
        self.flights[execution["id"]] = flight
        if flight.answer_by is None:
            await self._try(flight)

    def connected(self) -> None:
        """A connection came up: waiting commands may go now."""
        self._wake.set()

    async def result(self, execution_id: str, status: str, response: Any) -> None:
        """The device answered."""
        flight = self.flights.pop(execution_id, None)
        if flight is None:
            log.warning("an answer to command execution %s, which is not open", execution_id)
            return
        await self._set(flight.delivery.tenant, execution_id, status, response)

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.retry)
            self._wake.clear()
            try:
                await self.sweep()
            except Exception:  # the router must never stop
                log.exception("the command router failed a round")

    async def sweep(self) -> None:
        """Time out what waited too long; try again what is still waiting."""
        now = time.monotonic()
        for execution_id, flight in list(self.flights.items()):
            tenant = flight.delivery.tenant
            if flight.answer_by is not None:
                if now > flight.answer_by:
                    del self.flights[execution_id]
                    await self._set(tenant, execution_id, "timed-out", {"error": "no answer"})
            elif now > flight.expires:
                del self.flights[execution_id]
                reason = "the device could not be reached within the command's ttl"
                await self._set(tenant, execution_id, "timed-out", {"error": reason})
            else:
                await self._try(flight)

    async def _try(self, flight: InFlight) -> None:
        delivery = flight.delivery
        mapping = delivery.binding.command(delivery.command)
        assert mapping is not None
        try:
            await flight.adapter.deliver(delivery)
        except DeliveryError as exc:
            log.info("command %s waits: %s", delivery.execution_id, exc)
            return
        except Exception as exc:  # an adapter bug: the command fails, the router goes on
            log.exception("adapter %s failed delivering %s", flight.adapter.name, delivery)
            self.flights.pop(delivery.execution_id, None)
            await self._set(delivery.tenant, delivery.execution_id, "failed", {"error": str(exc)})
            return
        flight.answer_by = time.monotonic() + mapping.timeout
        self.delivered += 1
        await self._set(delivery.tenant, delivery.execution_id, "delivered", None)

    def _route(
        self, tenant: str, twin_id: str, command: str
    ) -> tuple[Binding, dict[str, str]] | None:
        for binding in self.bindings():
            if binding.tenant != tenant or binding.command(command) is None:
                continue
            if binding.adapter not in self.adapters:
                continue
            names = binding.serves(twin_id)
            if names is not None:
                return binding, names
        return None

    async def _set(self, tenant: str, execution_id: str, status: str, response: Any) -> None:
        if status == "failed":
            self.failed += 1
        try:
            await self.graph.write(
                tenant, execution_id, _status(execution_id, status, response), origin="adapter"
            )
        except TwinError as exc:
            log.warning(
                "command execution %s: status %s not written: %s", execution_id, status, exc
            )


def _status(execution_id: str, status: str, response: Any) -> Operation:
    """Move an execution to ``status`` (only forward: a closed one stays as it is)."""
    attrs: dict[str, Any] = {m.STATUS: prop(status)}
    if response is not None:
        attrs[m.RESPONSE] = json_prop(response)

    def run(old: Entity | None, now: str) -> Outcome:
        if old is not None and m.value(old, m.STATUS) not in OPEN:
            return Outcome(old)  # answered or timed out already: nothing changes
        return operations.append(execution_id, attrs, no_overwrite=False)(old, now)

    return run


def _age(execution: Entity) -> float:
    """Seconds since the execution was recorded."""
    created = execution.get("createdAt")
    if not isinstance(created, str):
        return 0.0
    try:
        return max(0.0, time.time() - parse_datetime(created).timestamp())
    except ValueError:
        return 0.0
