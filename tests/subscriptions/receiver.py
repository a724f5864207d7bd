"""A real HTTP receiver for notifications: uvicorn on a free local port, in the test's event
loop. It records what arrives and can be told to fail or to be slow."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn

from tests.server import free_port, in_loop


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Receiver:
    url: str = ""
    received: list[Received] = field(default_factory=list)
    fail_next: int = 0  # answer 500 to this many requests first
    delay: float = 0.0  # seconds to wait before answering
    attempts: int = 0
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        if not body:
            return  # the sender went away mid-request (a closed keep-alive connection)
        self.attempts += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        status = 204
        if self.fail_next > 0:
            self.fail_next -= 1
            status = 500
        else:
            headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
            self.received.append(Received(scope["path"], headers, orjson.loads(body)))
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait until ``count`` notifications have arrived (no fixed sleeps)."""

        async def enough() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.received) >= count)

        await asyncio.wait_for(enough(), timeout)
        return self.received

    def entities(self) -> list[dict[str, Any]]:
        return [e for r in self.received for e in r.body["data"]]


@asynccontextmanager
async def running_receiver(path: str = "/notify") -> AsyncIterator[Receiver]:
    port = free_port()
    receiver = Receiver(url=f"http://127.0.0.1:{port}{path}")
    config = uvicorn.Config(
        receiver.app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        interface="asgi3",
    )
    async with in_loop(config):
        yield receiver
