"""A real MQTT client on the local Mosquitto (127.0.0.1:1883) that records what arrives on a
topic, for tests: messages are handed to the test's event loop, so tests wait for them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

BROKER = ("127.0.0.1", 1883)


@dataclass
class Message:
    topic: str
    payload: bytes
    qos: int
    user_properties: list[tuple[str, str]]


@dataclass
class Listener:
    topic: str
    messages: list[Message] = field(default_factory=list)
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Message]:
        """Wait until ``count`` messages have arrived (no fixed sleeps)."""
        return await self.wait_until(lambda messages: len(messages) >= count, timeout)

    async def wait_until(
        self, done: Callable[[list[Message]], bool], timeout: float = 10.0
    ) -> list[Message]:
        async def enough() -> None:
            async with self._arrived:
                await self._arrived.wait_for(lambda: done(self.messages))

        await asyncio.wait_for(enough(), timeout)
        return self.messages

    async def _add(self, message: Message) -> None:
        async with self._arrived:
            self.messages.append(message)
            self._arrived.notify_all()


def unique_topic(prefix: str = "test") -> str:
    return f"{prefix}/{uuid.uuid4().hex}"


@asynccontextmanager
async def listening(topic: str, *, version: int = paho.MQTTv5) -> AsyncIterator[Listener]:
    """Subscribe to ``topic`` (QoS 1) and record every message until the block ends."""
    loop = asyncio.get_running_loop()
    listener = Listener(topic)
    subscribed: asyncio.Future[None] = loop.create_future()
    client = paho.Client(CallbackAPIVersion.VERSION2, protocol=version)

    def on_connect(c: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        c.subscribe(topic, qos=1)

    def on_subscribe(c: Any, userdata: Any, mid: Any, reasons: Any, props: Any) -> None:
        loop.call_soon_threadsafe(lambda: subscribed.done() or subscribed.set_result(None))

    def on_message(c: Any, userdata: Any, msg: Any) -> None:
        props = getattr(msg.properties, "UserProperty", None) or []
        message = Message(msg.topic, msg.payload, msg.qos, list(props))
        asyncio.run_coroutine_threadsafe(listener._add(message), loop)

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.connect(*BROKER)
    client.loop_start()
    try:
        await asyncio.wait_for(subscribed, 10)
        yield listener
    finally:
        client.disconnect()
        client.loop_stop()


@asynccontextmanager
async def publisher(*, version: int = paho.MQTTv5) -> AsyncIterator[Callable[..., Any]]:
    """A connected device-side client; yields ``publish(topic, payload, qos=1)`` which returns
    once the broker has the message (QoS 1: acknowledged)."""
    client = paho.Client(CallbackAPIVersion.VERSION2, protocol=version)
    client.connect(*BROKER)
    client.loop_start()

    async def publish(topic: str, payload: bytes | str, qos: int = 1) -> None:
        info = client.publish(topic, payload, qos=qos)
        await asyncio.to_thread(info.wait_for_publish, 10)

    try:
        yield publish
    finally:
        client.disconnect()
        client.loop_stop()
