"""Bench helpers: a paced HTTP/1.1 load generator and a notification receiver that measures
latency, both on raw asyncio streams so that the measuring side costs little CPU.

Every request the generator sends carries ``sentAt`` (wall-clock seconds) in its body; the
receiver reads it back from each notified entity, so latency needs no correlation table.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson


@dataclass
class Paced:
    sent: int = 0
    failed: int = 0
    late: int = 0  # requests that left more than 10 ms after their slot
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)  # request sent to answer read


async def paced_load(
    host: str,
    port: int,
    *,
    rate: float,
    seconds: float,
    connections: int,
    request: Callable[[int], bytes],
) -> Paced:
    """Send ``request(i)`` at ``rate`` per second for ``seconds`` over keep-alive connections;
    each answer must be 2xx."""
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await asyncio.open_connection(host, port))
    result = Paced()
    total = int(rate * seconds)
    started = time.perf_counter()
    tasks = set()

    async def one(i: int) -> None:
        reader, writer = await pool.get()
        begun = time.perf_counter()
        try:
            writer.write(request(i))
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 2"):
                result.failed += 1
            result.latencies_ms.append((time.perf_counter() - begun) * 1000)
        finally:
            pool.put_nowait((reader, writer))

    for i in range(total):
        slot = started + i / rate
        delay = slot - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.01:
            result.late += 1
        task = asyncio.create_task(one(i))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        result.sent += 1
    await asyncio.gather(*tasks)
    result.seconds = time.perf_counter() - started
    while not pool.empty():
        _, writer = pool.get_nowait()
        writer.close()
    return result


def http_request(method: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: bench", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class Receiver:
    """Answers 204 to every POST and records, per notified entity, now minus its ``sentAt``."""

    latencies_ms: list[float] = field(default_factory=list)
    notifications: int = 0
    entities: int = 0
    measuring: bool = False

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length) if length else b""
                writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
                self._record(body)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
        except asyncio.CancelledError:  # the run is over: end quietly, not with a traceback
            writer.close()

    def _record(self, body: bytes) -> None:
        now = time.time()
        if not body:
            return
        notification: dict[str, Any] = orjson.loads(body)
        self.notifications += 1
        for entity in notification.get("data", ()):
            self.entities += 1
            sent = entity.get("sentAt")
            if self.measuring and isinstance(sent, dict):
                self.latencies_ms.append((now - sent["value"]) * 1000)


def percentiles(values: list[float]) -> tuple[float, float]:
    """(p50, p99) of ``values``."""
    ordered = sorted(values)
    if not ordered:
        return float("nan"), float("nan")
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.99) - 1)]


def speed_update(entity_id: str, value: int, *, observed: bool = True) -> bytes:
    """PATCH /entities/{id}/attrs setting ``speed`` and ``sentAt`` (now, read back by the
    receiver); a device's measurement carries its ``observedAt``, a static update does not."""
    now = time.time()
    speed: dict[str, object] = {"type": "Property", "value": value}
    sent: dict[str, object] = {"type": "Property", "value": now}
    if observed:
        speed["observedAt"] = sent["observedAt"] = time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)
        )
    body = orjson.dumps({"speed": speed, "sentAt": sent})
    path = f"/ngsi-ld/v1/entities/{entity_id}/attrs"
    return http_request("PATCH", path, body, {"Content-Type": "application/json"})


async def drain(arrived: Callable[[], int], quiet: float = 1.0, limit: float = 30.0) -> None:
    """Wait until ``arrived()`` has not moved for ``quiet`` seconds (at most ``limit``)."""
    deadline = time.monotonic() + limit
    last = -1
    while arrived() != last and time.monotonic() < deadline:
        last = arrived()
        await asyncio.sleep(quiet)


def paced_summary(paced: Paced, rate: float) -> str:
    return (
        f"updates: {paced.sent} sent at {paced.sent / paced.seconds:.0f}/s "
        f"(target {rate:g}/s, {paced.late} late by >10 ms, {paced.failed} failed)"
    )
