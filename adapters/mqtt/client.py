"""The MQTT adapter: one paho client per distinct connection of its bindings.

- Persistent sessions by default (a fixed client id, ``cleanStart`` false, QoS 1 subscriptions,
  a session expiry for MQTT 5), so what devices sent while the server was down arrives when it
  is back. ``sharedGroup`` subscribes through ``$share/<group>/…`` so replicas split the load.
- TLS (``mqtts://``) with a CA and an X.509 client certificate; username and password.
- paho's network thread only appends to an inbox; the event loop drains it in bursts, so a
  flood costs one wake-up per burst, not one per message.
- Commands are published at QoS 1 and count as delivered when the broker has acknowledged
  them; the device's answer sets succeeded or failed.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections import defaultdict, deque
from typing import Any, cast

import orjson
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from twin_server.adapters.bindings import Binding
from twin_server.adapters.contract import Delivery, DeliveryError, Host
from twin_server.adapters.convert import Rejected, attributes
from twin_server.adapters.templates import TemplateError
from twin_server.core.timeutil import now_iso

from .mapping import (
    ConnectionConfig,
    Match,
    Source,
    check_commands,
    command_topic,
    connection_config,
    decode,
    source_of,
)

log = logging.getLogger(__name__)
PUBLISH_TIMEOUT = 10.0
HOLD = 0.002  # seconds the network thread waits while the runtime is behind
MAX_HOLD = 5.0  # never so long that keep-alives lapse


class Connection:
    """One broker connection and the bindings that use it."""

    def __init__(self, config: ConnectionConfig, adapter: MqttAdapter) -> None:
        self.config = config
        self.adapter = adapter
        self.loop = asyncio.get_running_loop()
        self.bindings: list[tuple[Binding, Source]] = []
        self.filters: dict[str, int] = {}
        self.connected = False
        self.error: str | None = None
        self.inbox: deque[tuple[str, bytes]] = deque()
        self._scheduled = False
        v5 = config.version == "5"
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=config.client_id,
            protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
            clean_session=None if v5 else config.clean_start,
        )
        if config.username is not None:
            self.client.username_pw_set(config.username, config.password)
        if config.tls:
            self.client.tls_set(
                ca_certs=config.ca_file,
                certfile=config.cert_file,
                keyfile=config.key_file,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        self.client.reconnect_delay_set(1, 30)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_connect_fail = self._on_connect_fail

    def start(self) -> None:
        properties = None
        if self.config.version == "5":
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = self.config.session_expiry
        self.client.connect_async(
            self.config.host,
            self.config.port,
            keepalive=self.config.keepalive,
            clean_start=self.config.clean_start if self.config.version == "5" else 3,
            properties=properties,
        )
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def set_bindings(self, bindings: list[tuple[Binding, Source]]) -> None:
        self.bindings = bindings
        wanted: dict[str, int] = {}
        for _, source in bindings:
            for topic in source.filters():
                wanted[self._shared(topic)] = max(wanted.get(self._shared(topic), 0), source.qos)
        gone = [t for t in self.filters if t not in wanted]
        added = [(t, q) for t, q in wanted.items() if self.filters.get(t) != q]
        self.filters = wanted
        if self.connected:
            if gone:
                self.client.unsubscribe(gone)
            if added:
                self.client.subscribe(added)

    async def publish(self, topic: str, payload: bytes, qos: int) -> None:
        if not self.connected:
            raise DeliveryError(f"not connected to {self.config.name}")
        info = self.client.publish(topic, payload, qos=qos)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            raise DeliveryError(f"publish to {topic} failed: {paho.error_string(info.rc)}")
        if qos:
            await asyncio.to_thread(info.wait_for_publish, PUBLISH_TIMEOUT)
            if not info.is_published():
                raise DeliveryError(f"the broker did not acknowledge the command on {topic}")

    def _shared(self, topic: str) -> str:
        group = self.config.shared_group
        return f"$share/{group}/{topic}" if group else topic

    # paho's thread ---------------------------------------------------------------------------

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self.loop.call_soon_threadsafe(self._state, False, f"connect refused: {reason}")
            return
        if self.filters:
            client.subscribe(list(self.filters.items()))
        self.loop.call_soon_threadsafe(self._state, True, None)

    def _on_connect_fail(self, client: Any, userdata: Any) -> None:
        error = f"cannot connect to {self.config.host}:{self.config.port} (refused, TLS, network)"
        self.loop.call_soon_threadsafe(self._state, False, error)

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any, p: Any) -> None:
        error = None if reason == 0 or not reason.is_failure else f"disconnected: {reason}"
        self.loop.call_soon_threadsafe(self._lost, error)

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        waited = 0.0
        while self.adapter.host.pressure() and waited < MAX_HOLD:
            time.sleep(HOLD)  # back-pressure: the socket fills, the broker holds or drops QoS 0
            waited += HOLD
        self.inbox.append((message.topic, message.payload))
        if not self._scheduled:
            self._scheduled = True
            self.loop.call_soon_threadsafe(self._drain)

    # the event loop --------------------------------------------------------------------------

    def _state(self, connected: bool, error: str | None) -> None:
        self.connected = connected
        self.error = error
        self.adapter.host.connection("mqtt", self.config.name, connected, error)

    def _lost(self, error: str | None) -> None:
        """The connection ended; a refusal said before (bad credentials…) stays the reason."""
        if self.connected or self.error is None:
            self._state(False, error)

    def _drain(self) -> None:
        self._scheduled = False
        inbox = self.inbox
        received = now_iso()  # one arrival time per burst: they arrived together
        for _ in range(len(inbox)):
            topic, payload = inbox.popleft()
            self.adapter.route(self, topic, payload, received)


class MqttAdapter:
    name = "mqtt"

    def __init__(self) -> None:
        self.host: Host = cast(Host, _NoHost())
        self.connections: dict[ConnectionConfig, Connection] = {}
        self.messages = 0
        self.unrouted = 0
        # iota-json answers name the command, not the execution: oldest first per device
        self.awaiting: defaultdict[tuple[str, str, str], deque[str]] = defaultdict(deque)

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
        for connection in self.connections.values():
            await asyncio.to_thread(connection.stop)
        self.connections.clear()

    async def apply(self, bindings: list[Binding]) -> None:
        grouped: defaultdict[ConnectionConfig, list[tuple[Binding, Source]]] = defaultdict(list)
        for binding in bindings:
            grouped[connection_config(binding)].append((binding, source_of(binding)))
        for config in [c for c in self.connections if c not in grouped]:
            await asyncio.to_thread(self.connections.pop(config).stop)
        for config, members in grouped.items():
            connection = self.connections.get(config)
            if connection is None:
                connection = self.connections[config] = Connection(config, self)
                connection.set_bindings(members)
                connection.start()
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
        if source.format == "iota-json":
            body = orjson.dumps({delivery.command: delivery.payload})
            key = (binding.id, delivery.names.get("deviceId", ""), delivery.command)
            self.awaiting[key].append(delivery.execution_id)
        else:
            message = {
                "id": delivery.execution_id,
                "command": delivery.command,
                "payload": delivery.payload,
            }
            body = orjson.dumps(message)
        await connection.publish(topic, body, qos)

    def health(self) -> dict[str, Any]:
        return {
            "connections": [
                {
                    "name": c.config.name,
                    "connected": c.connected,
                    "error": c.error,
                    "bindings": len(c.bindings),
                }
                for c in self.connections.values()
            ],
            "messages": self.messages,
            "unrouted": self.unrouted,
        }

    def route(self, connection: Connection, topic: str, payload: bytes, received: str) -> None:
        self.messages += 1
        routed = False
        for binding, source in connection.bindings:
            match = source.match(topic)
            if match is None:
                continue
            routed = True
            try:
                if match.kind == "response":
                    self._response(binding, source, match, payload)
                else:
                    self._reading(binding, match, payload, received)
            except (Rejected, KeyError) as exc:
                self.host.rejected(binding, topic, str(exc))
        if not routed:
            self.unrouted += 1
            self.host.rejected(None, topic, "no binding maps this topic")

    def _reading(self, binding: Binding, match: Match, payload: bytes, received: str) -> None:
        document = decode(payload, match)
        values = attributes(binding.attributes, document, received)
        twin_id = binding.twin_template.fill(match.names)
        self.host.reading(binding, twin_id, values)

    def _response(self, binding: Binding, source: Source, match: Match, payload: bytes) -> None:
        document = decode(payload, Match(match.names, "attrs"))
        if source.format == "iota-json":
            for command, result in document.items():
                queue = self.awaiting.get((binding.id, match.names["deviceId"], command))
                if not queue:
                    raise Rejected(f"an answer to {command}, which no execution awaits")
                failed = isinstance(result, dict) and "error" in result
                status = "failed" if failed else "succeeded"
                self.host.command_result(queue.popleft(), status, result)
            return
        execution = document.get("id")
        status = document.get("status", "succeeded")
        if not isinstance(execution, str) or status not in ("succeeded", "failed"):
            raise Rejected('a command answer is {"id": …, "status": "succeeded" | "failed"}')
        self.host.command_result(execution, status, document.get("response"))


class _NoHost:
    """Before start: every report is dropped."""

    def reading(self, *args: Any, **kwargs: Any) -> None: ...

    def rejected(self, *args: Any) -> None: ...

    def connection(self, *args: Any) -> None: ...

    def command_result(self, *args: Any) -> None: ...

    def pressure(self) -> bool:
        return False
