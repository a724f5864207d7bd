"""The MQTT adapter: one worker process per distinct connection of its bindings.

- Persistent sessions by default (a fixed client id, ``cleanStart`` false, QoS 1 subscriptions,
  a session expiry for MQTT 5), so what devices sent while the server was down arrives when it
  is back. ``sharedGroup`` subscribes through ``$share/<group>/…`` so replicas split the load.
- TLS (``mqtts://``) with a CA and an X.509 client certificate; username and password.
- The paho client, its network thread and the routing and conversion of each message run in
  the connection's worker process (``worker.py``); the server receives batches of converted
  readings, a few milliseconds apart. A worker that exits is started again (1 s, doubling to
  30 s). While the server's ingestion is behind, it stops reading the worker's batches: the
  worker, then paho, then the broker hold back.
- Commands are published at QoS 1 and count as delivered when the broker has acknowledged
  them; the device's answer sets succeeded or failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any, cast

import orjson

from twin_server.adapters.bindings import Binding
from twin_server.adapters.contract import Delivery, DeliveryError, Host
from twin_server.adapters.templates import TemplateError

from .frames import frame, next_frame
from .mapping import (
    ConnectionConfig,
    Source,
    check_commands,
    command_topic,
    connection_config,
    source_of,
)

log = logging.getLogger(__name__)
PUBLISH_TIMEOUT = 12.0  # the worker's own wait for the broker (10 s), and some
HOLD = 0.002  # seconds between two looks at the ingestion while it is behind
FOLDER = Path(__file__).resolve().parent
READ_LIMIT = 64 * 1024 * 1024


class Connection:
    """One broker connection (its worker process) and the bindings that use it."""

    def __init__(self, config: ConnectionConfig, adapter: MqttAdapter) -> None:
        self.config = config
        self.adapter = adapter
        self.bindings: list[tuple[Binding, Source]] = []
        self.by_id: dict[str, Binding] = {}
        self.connected = False
        self.error: str | None = None
        self.restarts = 0
        self._process: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._ids = itertools.count(1)
        self._published: dict[int, asyncio.Future[str | None]] = {}

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"mqtt-{self.config.name}")

    async def stop(self) -> None:
        self._stopping = True
        process = self._process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ConnectionError, RuntimeError):
                self._send({"op": "stop"})
            try:
                await asyncio.wait_for(process.wait(), 5)
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def set_bindings(self, bindings: list[tuple[Binding, Source]]) -> None:
        self.bindings = bindings
        self.by_id = {b.id: b for b, _ in bindings}
        if self._process is not None and self._process.returncode is None:
            self._send(self._bindings_frame())

    async def publish(
        self, topic: str, payload: bytes, qos: int, awaits: list[str] | None = None
    ) -> None:
        if not self.connected or self._process is None:
            raise DeliveryError(f"not connected to {self.config.name}")
        number = next(self._ids)
        answer: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._published[number] = answer
        message = {"op": "publish", "id": number, "topic": topic, "qos": qos,
                   "payload": payload.decode(), "await": awaits}  # fmt: skip
        try:
            self._send(message)
            error = await asyncio.wait_for(answer, PUBLISH_TIMEOUT)
        except TimeoutError:
            error = f"the broker did not acknowledge the command on {topic}"
        finally:
            self._published.pop(number, None)
        if error is not None:
            raise DeliveryError(error)

    # the worker process ----------------------------------------------------------------------

    def _bindings_frame(self) -> dict[str, Any]:
        return {"op": "bindings", "bindings": [b.document() for b, _ in self.bindings]}

    def _send(self, message: Any) -> None:
        if self._process is None or self._process.stdin is None:
            raise ConnectionError("the MQTT worker is not running")
        self._process.stdin.write(frame(message))

    async def _run(self) -> None:
        delay = 1.0
        while not self._stopping:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "twin_server.adapters.child", str(FOLDER), "mqtt", "worker",
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=READ_LIMIT,
            )  # fmt: skip
            self._send(self._bindings_frame())
            try:
                await self._read(self._process)
            finally:
                if self._process.returncode is None and self._stopping:
                    await self._process.wait()
            for answer in self._published.values():
                if not answer.done():
                    answer.set_result("the MQTT worker stopped before the broker answered")
            if self._stopping:
                return
            code = await self._process.wait()
            self.restarts += 1
            self._state(False, f"the MQTT worker exited (status {code}); restarting")
            await asyncio.sleep(delay)
            delay = min(30.0, delay * 2)

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        host = self.adapter.host
        while True:
            message = await next_frame(process.stdout)
            if message is None:
                return
            kind = message["k"]
            if kind == "batch":
                self._batch(message)
                while host.pressure() and not self._stopping:  # noqa: ASYNC110 - a poll of the ingest queue
                    await asyncio.sleep(HOLD)  # the worker's writes block: back-pressure
            elif kind == "state":
                self._state(message["connected"], message["error"])
            elif kind == "lost":
                self._lost(message["error"])
            elif kind == "published":
                answer = self._published.get(message["id"])
                if answer is not None and not answer.done():
                    answer.set_result(message["error"])

    def _batch(self, message: dict[str, Any]) -> None:
        host = self.adapter.host
        self.adapter.messages += message["n"]
        self.adapter.unrouted += message["u"]
        for binding_id, twin_id, values in message["r"]:
            binding = self.by_id.get(binding_id)
            if binding is not None:
                host.reading(binding, twin_id, values)
        for binding_id, topic, reason in message["x"]:
            host.rejected(self.by_id.get(binding_id) if binding_id else None, topic, reason)
        for execution, status, response in message["c"]:
            host.command_result(execution, status, response)

    def _state(self, connected: bool, error: str | None) -> None:
        self.connected = connected
        self.error = error
        self.adapter.host.connection("mqtt", self.config.name, connected, error)

    def _lost(self, error: str | None) -> None:
        """The connection ended; a refusal said before (bad credentials…) stays the reason."""
        if self.connected or self.error is None:
            self._state(False, error)


class MqttAdapter:
    name = "mqtt"

    def __init__(self) -> None:
        self.host: Host = cast(Host, _NoHost())
        self.connections: dict[ConnectionConfig, Connection] = {}
        self.messages = 0
        self.unrouted = 0

    def check(self, binding: Binding) -> list[str]:
        problems = []
        try:
            connection_config(binding)
        except ValueError as exc:
            problems.append(str(exc))
        try:
            source = source_of(binding)
        except (ValueError, TemplateError) as exc:
            return [*problems, str(exc)]
        return problems + check_commands(binding, source)

    def names(self, binding: Binding) -> set[str]:
        return source_of(binding).names()

    async def start(self, host: Host) -> None:
        self.host = host

    async def stop(self) -> None:
        await asyncio.gather(*(c.stop() for c in self.connections.values()))
        self.connections.clear()

    async def apply(self, bindings: list[Binding]) -> None:
        grouped: defaultdict[ConnectionConfig, list[tuple[Binding, Source]]] = defaultdict(list)
        for binding in bindings:
            grouped[connection_config(binding)].append((binding, source_of(binding)))
        for config in [c for c in self.connections if c not in grouped]:
            await self.connections.pop(config).stop()
        for config, members in grouped.items():
            connection = self.connections.get(config)
            if connection is None:
                connection = self.connections[config] = Connection(config, self)
                connection.set_bindings(members)
                await connection.start()
            else:
                connection.set_bindings(members)

    async def deliver(self, delivery: Delivery) -> None:
        binding = delivery.binding
        command = binding.command(delivery.command)
        if command is None:
            raise DeliveryError(f"binding {binding.id} does not map command {delivery.command}")
        source = source_of(binding)
        connection = self.connections.get(connection_config(binding))
        if connection is None:
            raise DeliveryError(f"binding {binding.id} has no connection")
        topic = command_topic(binding, source, command).fill(delivery.names)
        qos = int(command.target.get("qos", 1))
        awaits = None
        if source.format == "iota-json":
            # its answers name the command, not the execution: the worker pairs them, oldest
            # first per device
            body = orjson.dumps({delivery.command: delivery.payload})
            device = delivery.names.get("deviceId", "")
            awaits = [binding.id, device, delivery.command, delivery.execution_id]
        else:
            message = {
                "id": delivery.execution_id,
                "command": delivery.command,
                "payload": delivery.payload,
            }
            body = orjson.dumps(message)
        await connection.publish(topic, body, qos, awaits)

    def health(self) -> dict[str, Any]:
        return {
            "connections": [
                {
                    "name": c.config.name,
                    "connected": c.connected,
                    "error": c.error,
                    "bindings": len(c.bindings),
                    "workerRestarts": c.restarts,
                }
                for c in self.connections.values()
            ],
            "messages": self.messages,
            "unrouted": self.unrouted,
        }


class _NoHost:
    """Before start: every report is dropped."""

    def reading(self, *args: Any, **kwargs: Any) -> None: ...

    def rejected(self, *args: Any) -> None: ...

    def connection(self, *args: Any) -> None: ...

    def command_result(self, *args: Any) -> None: ...

    def pressure(self) -> bool:
        return False
