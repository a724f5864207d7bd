"""Sending notifications to MQTT endpoints (NGSI-LD 1.9.1, the MQTT notification binding).

An endpoint is ``mqtt[s]://[user[:password]@]host[:port]/topic[/subtopic…]``. The message is a
JSON object with ``metadata`` (the headers an HTTP notification would carry: Content-Type, Link,
NGSILD-Tenant and the receiverInfo pairs) and ``body`` (the notification). ``notifierInfo``
chooses ``MQTT-Version`` (``mqtt3.1.1``, the default, or ``mqtt5.0``, which also carries the
metadata as user properties) and ``MQTT-QoS`` (0, the default, 1 or 2). A notification counts as
sent when the broker has it: written to the socket for QoS 0, acknowledged for QoS 1 and 2.
One connection is kept per broker, user and MQTT version, and opened again when it is lost.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from twin_server.subscriptions.model import Endpoint
from twin_server.subscriptions.senders import DeliveryError

log = logging.getLogger(__name__)
VERSIONS = {"mqtt3.1.1": MQTTProtocolVersion.MQTTv311, "mqtt5.0": MQTTProtocolVersion.MQTTv5}
QOS = {"0": 0, "1": 1, "2": 2}
CONNECT_TIMEOUT = 5.0
_ids = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Broker:
    """Where and how to connect: one connection each."""

    tls: bool
    host: str
    port: int
    username: str | None
    password: str | None
    version: MQTTProtocolVersion


@dataclass(frozen=True, slots=True)
class Target:
    broker: Broker
    topic: str
    qos: int


def target_of(endpoint: Endpoint) -> Target:
    """The broker, topic and QoS of an MQTT endpoint; ``ValueError`` says what is wrong."""
    parts = urlsplit(endpoint.uri)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError(f"{endpoint.uri!r} is not an mqtt:// or mqtts:// URL with a host")
    topic = unquote(parts.path.lstrip("/"))
    if not topic or "+" in topic or "#" in endpoint.uri:
        raise ValueError(f"{endpoint.uri!r} names no topic to publish to (wildcards are not one)")
    info = dict(endpoint.notifier_info)
    version = info.get("MQTT-Version", "mqtt3.1.1")
    qos = info.get("MQTT-QoS", "0")
    if version not in VERSIONS:
        raise ValueError(f"MQTT-Version {version!r} is not one of {sorted(VERSIONS)}")
    if qos not in QOS:
        raise ValueError(f"MQTT-QoS {qos!r} is not 0, 1 or 2")
    tls = parts.scheme == "mqtts"
    broker = Broker(
        tls=tls,
        host=parts.hostname,
        port=parts.port or (8883 if tls else 1883),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        version=VERSIONS[version],
    )
    return Target(broker, topic, QOS[qos])


class Connection:
    """One paho client on its network thread; publishes resolve asyncio futures."""

    def __init__(self, broker: Broker, loop: asyncio.AbstractEventLoop) -> None:
        self.broker = broker
        self.loop = loop
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"twin-server-notifier-{next(_ids)}-{id(self):x}",
            protocol=broker.version,
        )
        if broker.username is not None:
            self.client.username_pw_set(broker.username, broker.password)
        if broker.tls:
            self.client.tls_set()
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_connect_fail = self._on_connect_fail
        self.client.on_publish = self._on_publish
        self._lock = threading.RLock()  # paho may call on_publish from inside publish()
        self._waiting: dict[int, asyncio.Future[None]] = {}
        self._early: set[int] = set()  # acknowledged before the publisher registered
        self._connected: asyncio.Future[None] = loop.create_future()
        self.alive = True

    async def open(self) -> None:
        self.client.reconnect_delay_set(1, 8)
        try:
            self.client.connect_async(self.broker.host, self.broker.port, keepalive=30)
        except (OSError, ValueError) as exc:
            raise DeliveryError(
                f"MQTT broker {self.broker.host}:{self.broker.port}: {exc}"
            ) from exc
        self.client.loop_start()
        try:
            await asyncio.wait_for(asyncio.shield(self._connected), CONNECT_TIMEOUT)
        except TimeoutError as exc:
            self.close()
            raise DeliveryError(
                f"MQTT broker {self.broker.host}:{self.broker.port} did not accept a connection "
                f"within {CONNECT_TIMEOUT:g} s"
            ) from exc
        except DeliveryError:
            self.close()
            raise

    async def publish(self, topic: str, payload: bytes, qos: int, properties: Any) -> None:
        future: asyncio.Future[None] = self.loop.create_future()
        with self._lock:
            info = self.client.publish(topic, payload, qos=qos, properties=properties)
            if info.rc != paho.MQTT_ERR_SUCCESS:
                raise DeliveryError(f"MQTT publish failed: {paho.error_string(info.rc)}")
            if info.mid in self._early:
                self._early.discard(info.mid)
                return
            self._waiting[info.mid] = future
        try:
            await future
        finally:
            with self._lock:
                self._waiting.pop(info.mid, None)

    def close(self) -> None:
        self.alive = False
        self.client.disconnect()
        self.client.loop_stop()
        self._fail_all(DeliveryError("the MQTT connection was closed"))

    # -- paho callbacks (network thread) -------------------------------------------------------

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            error = DeliveryError(f"MQTT broker refused the connection: {reason}")
            self.loop.call_soon_threadsafe(self._settle_connect, error)
        else:
            self.loop.call_soon_threadsafe(self._settle_connect, None)

    def _on_connect_fail(self, client: Any, userdata: Any) -> None:
        error = DeliveryError(
            f"MQTT broker {self.broker.host}:{self.broker.port} could not be reached"
        )
        self.loop.call_soon_threadsafe(self._settle_connect, error)

    def _settle_connect(self, error: DeliveryError | None) -> None:
        if self._connected.done():
            return
        if error is None:
            self._connected.set_result(None)
        else:
            self._connected.set_exception(error)

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any, p: Any) -> None:
        log.info("MQTT notifier connection to %s lost: %s", self.broker.host, reason)
        self.alive = False
        self.loop.call_soon_threadsafe(
            self._fail_all, DeliveryError(f"the MQTT connection was lost: {reason}")
        )

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        with self._lock:
            future = self._waiting.pop(mid, None)
            if future is None:
                self._early.add(mid)
                return
        self.loop.call_soon_threadsafe(_resolve, future)

    def _fail_all(self, error: DeliveryError) -> None:
        with self._lock:
            waiting, self._waiting = self._waiting, {}
        for future in waiting.values():
            if not future.done():
                future.set_exception(error)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class MqttSender:
    """The notification sender for ``mqtt://`` and ``mqtts://`` endpoints."""

    def __init__(self, *, timeout: float) -> None:
        self.timeout = timeout
        self._connections: dict[Broker, Connection] = {}
        self._opening: dict[Broker, asyncio.Lock] = {}

    async def send(self, endpoint: Endpoint, body: bytes, headers: dict[str, str]) -> None:
        try:
            target = target_of(endpoint)
        except ValueError as exc:
            raise DeliveryError(str(exc)) from exc
        connection = await self._connection(target.broker)
        payload = b'{"metadata":' + orjson.dumps(headers) + b',"body":' + body + b"}"
        properties = None
        if target.broker.version == paho.MQTTv5:
            properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            properties.UserProperty = list(headers.items())
            properties.ContentType = "application/json"
        try:
            await asyncio.wait_for(
                connection.publish(target.topic, payload, target.qos, properties),
                endpoint.timeout or self.timeout,
            )
        except TimeoutError as exc:
            raise DeliveryError(
                f"the MQTT broker did not take the notification within {self.timeout:g} s"
            ) from exc

    async def _connection(self, broker: Broker) -> Connection:
        lock = self._opening.setdefault(broker, asyncio.Lock())
        async with lock:
            connection = self._connections.get(broker)
            if connection is not None and connection.alive:
                return connection
            if connection is not None:
                connection.close()
            connection = Connection(broker, asyncio.get_running_loop())
            await connection.open()
            self._connections[broker] = connection
            return connection

    async def aclose(self) -> None:
        for connection in self._connections.values():
            await asyncio.to_thread(connection.close)
        self._connections.clear()
