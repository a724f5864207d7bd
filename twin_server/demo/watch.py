"""What the demo shows: a GraphQL client on the server's websocket (graphql-transport-ws),
subscribed to the pumps' anomaly scores (``predictionAttached``), their speed
(``twinChanged``) and the commands sent to them (``commandStatus``), printed as they come."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import websockets
from websockets.typing import Subprotocol

SCORES = """subscription { predictionAttached(type: "Pump", output: "anomalyScore") {
  twinId prediction { value modelVersion } } }"""
SPEEDS = """subscription { twinChanged(type: "Pump") { changed origin
  twin { id ... on Pump { speed } } } }"""
CALM = 0.05  # a score must fall this far below the threshold to count as back to normal
COMMANDS = """subscription { commandStatus { id twinId command payload status issuedBy } }"""


class Watcher:
    """Prints the story; ``seen`` collects what happened for the demo's summary."""

    def __init__(
        self, address: str, *, threshold: float, short: Callable[[str], str], out: Any
    ) -> None:
        self.url = f"ws://{address}/graphql"
        self.threshold = threshold
        self.short = short
        self.out = out
        self.started = time.monotonic()
        self.seen: dict[str, list[Any]] = {"anomalies": [], "commands": [], "stopped": []}
        self._last_print: dict[str, float] = {}
        self._anomalous: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []

    def say(self, text: str) -> None:
        print(f"{time.monotonic() - self.started:7.1f}s  {text}", file=self.out, flush=True)

    async def start(self) -> None:
        ready = [asyncio.Event() for _ in range(3)]
        for query, handle, event in zip(
            (SCORES, SPEEDS, COMMANDS),
            (self._score, self._speed, self._command),
            ready,
            strict=True,
        ):
            self._tasks.append(asyncio.create_task(self._follow(query, handle, event)))
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in ready)), 10)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _follow(
        self, query: str, handle: Callable[[Any], None], ready: asyncio.Event
    ) -> None:
        protocol = [Subprotocol("graphql-transport-ws")]
        async with websockets.connect(self.url, subprotocols=protocol) as ws:
            await ws.send(json.dumps({"type": "connection_init"}))
            json.loads(await ws.recv())
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
            ready.set()
            async for raw in ws:
                message = json.loads(raw)
                if message.get("type") == "next":
                    handle(next(iter(message["payload"]["data"].values())))
                elif message.get("type") == "error":
                    self.say(f"GraphQL error: {message['payload']}")

    def _score(self, data: Any) -> None:
        pump, value = self.short(data["twinId"]), float(data["prediction"]["value"])
        now = time.monotonic()
        if value > self.threshold and pump not in self._anomalous:
            self._anomalous.add(pump)
            self.seen["anomalies"].append((pump, value))
            self.say(f"{pump}: anomalyScore {value:.2f}  ANOMALY (over {self.threshold})")
        elif value <= self.threshold - CALM and pump in self._anomalous:
            self._anomalous.discard(pump)
            self.say(f"{pump}: anomalyScore {value:.2f}  back to normal")
        elif now - self._last_print.get(pump, 0.0) >= 5.0:
            self.say(f"{pump}: anomalyScore {value:.2f}")
        else:
            return
        self._last_print[pump] = now

    def _speed(self, data: Any) -> None:
        if "speed" not in data["changed"]:
            return
        pump, speed = self.short(data["twin"]["id"]), data["twin"].get("speed")
        if speed == 0 and pump not in self.seen["stopped"]:
            self.seen["stopped"].append(pump)
            self.say(f"{pump}: speed 0 rpm: the pump has stopped")

    def _command(self, data: Any) -> None:
        pump = self.short(data["twinId"])
        self.seen["commands"].append((pump, data["command"], data["status"]))
        self.say(
            f"{pump}: command {data['command']}({data['payload']}) from {data['issuedBy']}: "
            f"{data['status']}"
        )
