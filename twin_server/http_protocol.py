"""How the server runs under uvicorn, and its HTTP protocol: httptools', with a response's
writes joined.

Uvicorn writes a response's status line and headers when the app sends
``http.response.start``, and its body when the app sends ``http.response.body``: two writes,
and uvloop sends each at once, so every response with a body cost two ``write`` system calls,
two TCP segments over the loopback and two wake-ups of the client (measured with strace: 2.0
writes per GET, 1.0 per bodiless 204). Here a write is held until the next one, which it is
sent with, or until the event loop's next turn: one write per response, no later than before
by more than that turn.

A WebSocket upgrade hands the connection's real transport to the WebSocket protocol.
"""

from __future__ import annotations

import asyncio
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


class JoinedWrites:
    """A transport that holds one write until the next write or the loop's next turn."""

    __slots__ = ("_held", "_loop", "transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        held = self._held
        if held is None:
            self._held = bytes(data)
            self._loop.call_soon(self.flush)
        else:
            self._held = None
            self.transport.write(held + data)

    def flush(self) -> None:
        held = self._held
        if held is not None:
            self._held = None
            if not self.transport.is_closing():
                self.transport.write(held)

    def writelines(self, lines: Any) -> None:
        self.write(b"".join(lines))

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def write_eof(self) -> None:
        self.flush()
        self.transport.write_eof()

    def abort(self) -> None:
        self._held = None
        self.transport.abort()

    def get_write_buffer_size(self) -> int:
        held = self._held
        return self.transport.get_write_buffer_size() + (len(held) if held else 0)

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
        joined = JoinedWrites(cast(asyncio.Transport, transport), self.loop)
        super().connection_made(cast(asyncio.Transport, joined))

    def handle_websocket_upgrade(self) -> None:
        joined = self.transport
        if isinstance(joined, JoinedWrites):
            joined.flush()
            self.transport = joined.transport
        super().handle_websocket_upgrade()
