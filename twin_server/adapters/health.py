"""Health of devices and connections, kept as twin state.

Each device (the twin a binding updates) has a device twin (type ``Device`` in the server's
namespace): the twin it controls, its state (ok, stale, error), when it last reported, its
messages, rate and errors. Each adapter connection has one too (connected, last error). They
are written every ``interval`` seconds when something changed, not on every message. A
device silent for longer than its binding's ``expectedInterval`` is stale: so is its twin
(``stale`` true) until it reports again.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from twin_server.adapters import state
from twin_server.adapters.bindings import Binding
from twin_server.core import operations
from twin_server.core.operations import Operation
from twin_server.core.service import TwinGraph
from twin_server.core.timeutil import iso_utc
from twin_server.core.types import prop

log = logging.getLogger(__name__)
CHUNK = 25
"""Device twins per commit in a health round. A round of 1,000 devices in one commit held the
device readings queued behind it for 180-320 ms every round (bench/mqtt_ingest.py p99); in
chunks of 100 the round still reached 119 ms, in chunks of 25 it is within the readings'
ordinary 40-55 ms maximum (4,000 messages/s)."""
_UNSAFE = re.compile(r"[^A-Za-z0-9._:-]")


@dataclass
class DeviceHealth:
    binding: Binding
    twin_id: str
    device_id: str
    messages: int = 0
    errors: int = 0
    last_error: str | None = None
    reported_at: float | None = None  # time.time() of the last committed message
    last_seen: float = 0.0
    window_start: float = 0.0
    window_messages: int = 0
    rate: float = 0.0
    stale: bool = False
    dirty: bool = True

    @property
    def status(self) -> str:
        return "stale" if self.stale else "error" if self.last_error and not self.messages else "ok"


@dataclass
class ConnectionHealth:
    adapter: str
    name: str
    connected: bool
    error: str | None
    dirty: bool = True

    @property
    def device_id(self) -> str:
        name = _UNSAFE.sub("_", self.name.replace("://", ":"))
        return f"urn:ngsi-ld:Device:{self.adapter}:{name}"


class Health:
    def __init__(self, graph: TwinGraph, *, interval: float) -> None:
        self.graph = graph
        self.interval = interval
        self.devices: dict[tuple[str, str], DeviceHealth] = {}
        self._by_twin: dict[tuple[str, str], DeviceHealth] = {}  # (binding id, twin id)
        self.connections: dict[tuple[str, str], ConnectionHealth] = {}

    def device(self, binding: Binding, twin_id: str) -> DeviceHealth:
        found = self._by_twin.get((binding.id, twin_id))
        if found is not None and found.binding is binding:
            return found  # the hot path: one lookup per committed reading
        key = (binding.tenant, binding.device_id(twin_id))
        found = self.devices.get(key)
        if found is None or found.binding is not binding:
            now = time.monotonic()
            found = DeviceHealth(binding, twin_id, key[1], last_seen=now, window_start=now)
            self.devices[key] = found
        self._by_twin[(binding.id, twin_id)] = found
        return found

    def reported(self, binding: Binding, twin_id: str) -> None:
        """A message of the device was committed."""
        device = self.device(binding, twin_id)
        device.messages += 1
        device.window_messages += 1
        device.last_seen = time.monotonic()
        device.reported_at = time.time()
        device.stale = False
        device.dirty = True

    def failed(self, binding: Binding, twin_id: str, reason: str) -> None:
        device = self.device(binding, twin_id)
        device.errors += 1
        device.last_error = reason
        device.dirty = True

    def connection(self, adapter: str, name: str, connected: bool, error: str | None) -> None:
        key = (adapter, name)
        found = self.connections.get(key)
        if found is None or found.connected != connected or found.error != error:
            self.connections[key] = ConnectionHealth(adapter, name, connected, error)

    def forget(self, binding_id: str) -> None:
        """A binding is gone: its devices are no longer watched."""
        for key in [k for k, d in self.devices.items() if d.binding.id == binding_id]:
            del self.devices[key]
        for twin in [k for k in self._by_twin if k[0] == binding_id]:
            del self._by_twin[twin]

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.write()
            except Exception:  # health must never stop: the next round tries again
                log.exception("writing device health failed")

    async def write(self) -> None:
        """One round: rates, stale devices, then the device twins that changed, ``CHUNK`` to a
        commit, so that the readings committed meanwhile wait for one chunk, not the round."""
        now = time.monotonic()
        writes: defaultdict[str, list[tuple[str, Operation]]] = defaultdict(list)
        for device in self.devices.values():
            elapsed = now - device.window_start
            if elapsed >= self.interval:
                rate = round(device.window_messages / elapsed, 3)
                device.dirty |= rate != device.rate
                device.rate, device.window_messages, device.window_start = rate, 0, now
            expected = device.binding.expected_interval
            if expected is not None and not device.stale and now - device.last_seen > expected:
                device.stale = device.dirty = True
                writes[device.binding.tenant].append((device.twin_id, _mark_stale(device.twin_id)))
            if device.dirty:
                device.dirty = False
                writes[device.binding.tenant].append((device.device_id, _device_twin(device)))
        for connection in self.connections.values():
            if connection.dirty:
                connection.dirty = False
                writes[""].append((connection.device_id, _connection_twin(connection)))
        for tenant, items in writes.items():
            for start in range(0, len(items), CHUNK):
                chunk = items[start : start + CHUNK]
                results = await self.graph.write_many(tenant, chunk, origin="adapter")
                for (entity_id, _), result in zip(chunk, results, strict=True):
                    if isinstance(result, Exception):
                        log.debug("health of %s not written: %s", entity_id, result)


def _mark_stale(twin_id: str) -> Operation:
    return operations.append(twin_id, {state.STALE: prop(True)}, no_overwrite=False)


def _device_twin(device: DeviceHealth) -> Operation:
    attrs: dict[str, Any] = {
        state.CONTROLLED_ASSET: [{"type": "Relationship", "object": device.twin_id}],
        state.DEVICE_STATE: prop(device.status),
        state.MESSAGES: prop(device.messages),
        state.RATE: prop(device.rate),
        state.ERRORS: prop(device.errors),
        state.ADAPTER: prop(device.binding.adapter),
        state.BINDING: prop(device.binding.id),
    }
    if device.reported_at is not None:
        reported = iso_utc(datetime.fromtimestamp(device.reported_at, UTC))
        attrs[state.LAST_VALUE] = prop(reported)
    if device.last_error is not None:
        attrs[state.LAST_ERROR] = prop(device.last_error)
    entity = {"id": device.device_id, "type": [state.DEVICE_TYPE], "attrs": attrs}
    return operations.upsert(entity, update_mode=True)


def _connection_twin(connection: ConnectionHealth) -> Operation:
    attrs: dict[str, Any] = {
        state.CONNECTED: prop(connection.connected),
        state.ADAPTER: prop(connection.adapter),
        state.DEVICE_STATE: prop("ok" if connection.connected else "error"),
    }
    if connection.error is not None:
        attrs[state.LAST_ERROR] = prop(connection.error)
    entity = {"id": connection.device_id, "type": [state.DEVICE_TYPE], "attrs": attrs}
    return operations.upsert(entity, update_mode=True)
