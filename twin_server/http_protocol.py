"""How the server runs under uvicorn, and its HTTP protocol: httptools', with the writes of a
turn of the event loop held and sent at its end.

Uvicorn writes a response's status line and headers when the app sends
``http.response.start``, and its body when the app sends ``http.response.body``, and uvloop
sends each write at once: every response with a body cost two ``write`` system calls and two
TCP segments (strace: 2.0 writes per GET, 1.0 per bodiless 204), and every write could wake
the client while the server still had requests of the same turn to answer. Here what a
connection writes is held and joined, and the connections' writes go out together when the
turn ends (a callback the turn schedules): one write per connection per turn. Measured with
wrk, 50 connections, GET of a cached entity, six interleaved rounds: 50.9% of the no-op's rate
with uvicorn's protocol, 66.7% with this one (92 → 68 µs of server CPU per request).

Held writes past ``HOLD_LIMIT`` go at once, so a large or streamed body still meets the
transport's flow control. A close sends what is held first. A WebSocket upgrade hands the
connection's real transport to the WebSocket protocol.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from twin_server.config import Settings


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The options ``twin-server serve`` gives uvicorn (tests that serve over a socket use
    them too)."""
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "access_log": False,
        "loop": "uvloop",
        "http": JoinedWritesProtocol,
        "proxy_headers": False,
        # GraphQL subscription messages are small and many: compressing each costs more CPU
        # (measured: 7% of the server at 1,000 deliveries/s) than it saves on a LAN
        "ws_per_message_deflate": False,
    }


HOLD_LIMIT = 64 * 1024
"""Bytes a connection holds before it writes them without waiting for the turn's end."""


class Outbox:
    """The connections holding writes in this turn of one event loop; sent at its end."""

    __slots__ = ("_holding", "_loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._holding: list[JoinedWrites] = []

    def hold(self, connection: JoinedWrites) -> None:
        if not self._holding:
            self._loop.call_soon(self.send)
        self._holding.append(connection)

    def send(self) -> None:
        holding, self._holding = self._holding, []
        for connection in holding:
            connection.flush()


_OUTBOXES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Outbox] = (
    weakref.WeakKeyDictionary()
)


def outbox(loop: asyncio.AbstractEventLoop) -> Outbox:
    found = _OUTBOXES.get(loop)
    if found is None:
        found = _OUTBOXES[loop] = Outbox(loop)
    return found


class JoinedWrites:
    """A transport whose writes wait in its loop's outbox for the end of the turn."""

    __slots__ = ("_outbox", "_parts", "_size", "transport")

    def __init__(self, transport: asyncio.Transport, outbox: Outbox) -> None:
        self.transport = transport
        self._outbox = outbox
        self._parts: list[bytes] | None = None
        self._size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        parts = self._parts
        if parts is None:
            self._parts = [bytes(data)]
            self._size = len(data)
            self._outbox.hold(self)
        else:
            parts.append(bytes(data))
            self._size += len(data)
        if self._size >= HOLD_LIMIT:
            self.flush()

    def flush(self) -> None:
        parts = self._parts
        if parts is not None:
            self._parts = None
            if not self.transport.is_closing():
                self.transport.write(parts[0] if len(parts) == 1 else b"".join(parts))

    def writelines(self, lines: Any) -> None:
        self.write(b"".join(lines))

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def write_eof(self) -> None:
        self.flush()
        self.transport.write_eof()

    def abort(self) -> None:
        self._parts = None
        self.transport.abort()

    def get_write_buffer_size(self) -> int:
        held = self._size if self._parts is not None else 0
        return self.transport.get_write_buffer_size() + held

    def is_closing(self) -> bool:
        return self.transport.is_closing()

    def pause_reading(self) -> None:
        self.transport.pause_reading()

    def resume_reading(self) -> None:
        self.transport.resume_reading()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.transport.get_extra_info(name, default)

    def __getattr__(self, name: str) -> Any:  # the rest of the transport's methods
        return getattr(self.transport, name)


class JoinedWritesProtocol(HttpToolsProtocol):
    """Uvicorn's httptools protocol over a ``JoinedWrites`` transport."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        joined = JoinedWrites(cast(asyncio.Transport, transport), outbox(self.loop))
        super().connection_made(cast(asyncio.Transport, joined))

    def handle_websocket_upgrade(self) -> None:
        joined = self.transport
        if isinstance(joined, JoinedWrites):
            joined.flush()
            self.transport = joined.transport
        super().handle_websocket_upgrade()
