"""The demo's motor sensors: each pump's motor reports temperature, current and vibration as
one JSON message, over MQTT when a broker answers (``<prefix>/<pump>/motor``, taken in by the
MQTT adapter), else over HTTP as a gateway would (the twin's ``motor``, appended)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable

import httpx
import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from twin_server.demo.station import Station

LINK_HEADER = "Link"
log = logging.getLogger(__name__)


def broker_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class MotorSensors:
    def __init__(
        self,
        station: Station,
        *,
        period: float,
        twin_of: Callable[[str], str],
        mqtt_broker: tuple[str, int] | None,
        prefix: str,
        http: httpx.AsyncClient,
        link: str,
    ) -> None:
        self.station = station
        self.period = period
        self.twin_of = twin_of
        self.broker = mqtt_broker
        self.prefix = prefix
        self.http = http
        self.link = link
        self._client: mqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._refused: set[str] = set()

    @property
    def over(self) -> str:
        return "MQTT" if self.broker is not None else "HTTP"

    def topic(self, pump: str) -> str:
        return f"{self.prefix}/{pump}/motor"

    async def start(self) -> None:
        if self.broker is not None:
            client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
            client.connect(*self.broker)
            client.loop_start()
            self._client = client
        self._task = asyncio.create_task(self._run(), name="demo-sensors")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._client is not None:
            self._client.loop_stop()
            self._client.disconnect()

    async def _run(self) -> None:
        while True:
            for name in self.station.pumps:
                motor = self.station.motor(name)
                if not motor:
                    continue
                if self._client is not None:
                    message = orjson.dumps({"motor": motor})
                    self._client.publish(self.topic(name), message, qos=0)
                else:
                    answer = await self.http.post(  # append: creates the attribute at first
                        f"/ngsi-ld/v1/entities/{self.twin_of(name)}/attrs",
                        json={"motor": {"type": "Property", "value": motor}},
                        headers={LINK_HEADER: self.link},
                    )
                    if answer.status_code != 204 and name not in self._refused:
                        self._refused.add(name)
                        log.warning("%s's motor reading refused: %s", name, answer.text)
            await asyncio.sleep(self.period)
