"""A paho client that reads its socket in large pieces.

paho reads a packet with three ``recv`` calls at least (its first byte, its length one byte at
a time, then the rest) and goes through ``select`` once per packet: four system calls per
device message. Here the socket is wrapped in ``BufferedSocket``, which takes up to
``READ_SIZE`` bytes from the kernel at once and serves paho's small reads from them, and the
client reads every packet already buffered before it goes back to ``select``. paho asks a
socket that has ``pending()`` (as its TLS sockets do) for what it holds before it waits, so
nothing buffered is left waiting for the next packet to arrive.
"""

from __future__ import annotations

from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import MQTTErrorCode

READ_SIZE = 256 * 1024


class BufferedSocket:
    """A socket (plain, TLS or paho's WebSocket wrapper) whose reads come from a buffer."""

    __slots__ = ("_buffer", "_start", "sock")

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self._buffer = b""
        self._start = 0

    def recv(self, size: int) -> bytes:
        start = self._start
        if start >= len(self._buffer):
            data = self.sock.recv(READ_SIZE)  # BlockingIOError, b"" at the end: as a socket
            if len(data) <= size:
                return bytes(data)
            self._buffer, start = data, 0
        end = start + size
        self._start = end
        return self._buffer[start:end]

    def buffered(self) -> int:
        return max(len(self._buffer) - self._start, 0)

    def pending(self) -> int:
        inner = getattr(self.sock, "pending", None)
        return self.buffered() + (inner() if inner is not None else 0)

    def fileno(self) -> int:
        return int(self.sock.fileno())

    def __getattr__(self, name: str) -> Any:  # send, close, setblocking, …: the socket's own
        return getattr(self.sock, name)


class BufferedClient(paho.Client):
    """paho's client over a ``BufferedSocket``, reading all it has buffered at each turn."""

    def _create_socket(self) -> Any:
        return BufferedSocket(super()._create_socket())

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        rc = super().loop_read(max_packets)
        sock = self._sock
        while rc == MQTTErrorCode.MQTT_ERR_SUCCESS and isinstance(sock, BufferedSocket):
            if not sock.buffered() or self._sock is not sock:
                break
            rc = super().loop_read(max_packets)  # each read takes bytes from the buffer
        return rc
