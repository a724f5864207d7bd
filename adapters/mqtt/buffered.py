"""A paho client that reads its socket in large pieces.

paho reads a packet with three ``recv`` calls at least (its first byte, its length one byte at
a time, then the rest) and goes through ``select`` once per packet: four system calls per
device message. Here the socket is wrapped in ``BufferedSocket``, which takes up to
``READ_SIZE`` bytes from the kernel at once and serves paho's small reads from them, and the
client reads every packet already buffered before it goes back to ``select``. paho asks a
socket that has ``pending()`` (as its TLS sockets do) for what it holds before it waits, so
nothing buffered is left waiting for the next packet to arrive.

With ``on_qos0`` set, the client hands the QoS 0 PUBLISH packets it finds whole in the buffer
straight to it (``fastpath``), between the packets paho reads.
"""

from __future__ import annotations

from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import MQTTErrorCode, MQTTProtocolVersion

from . import fastpath

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

    def fill(self) -> bool:
        """One read from the kernel into the empty buffer: whether anything came. An error or
        the end of the stream is left for the next ``recv`` to meet, as paho expects."""
        try:
            data = self.sock.recv(READ_SIZE)
        except OSError:  # BlockingIOError, TLS wanting more, a reset
            return False
        self._buffer, self._start = data, 0
        return bool(data)

    def take_publishes(self, v5: bool) -> list[tuple[bytes, bytes]]:
        """The whole QoS 0 PUBLISH packets at the head of the buffer, taken out of it."""
        found, self._start = fastpath.take(self._buffer, self._start, v5=v5)
        return found

    def pending(self) -> int:
        inner = getattr(self.sock, "pending", None)
        return self.buffered() + (inner() if inner is not None else 0)

    def fileno(self) -> int:
        return int(self.sock.fileno())

    def __getattr__(self, name: str) -> Any:  # send, close, setblocking, …: the socket's own
        return getattr(self.sock, name)


class BufferedClient(paho.Client):
    """paho's client over a ``BufferedSocket``, reading all it has buffered at each turn."""

    on_qos0: fastpath.Message | None = None
    """Set, it receives the QoS 0 messages found whole in the buffer, instead of
    ``on_message`` (called in paho's network thread, as ``on_message`` is)."""

    def _create_socket(self) -> Any:
        return BufferedSocket(super()._create_socket())

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        sock = self._sock
        if not isinstance(sock, BufferedSocket):
            return super().loop_read(max_packets)
        deliver = self.on_qos0
        # the read from the kernel paho would start with, made here
        if deliver is not None and (sock.buffered() or sock.fill()):
            self._take_publishes(sock, deliver)
            if not sock.buffered():
                return MQTTErrorCode.MQTT_ERR_SUCCESS
        rc = super().loop_read(max_packets)
        reader: BufferedSocket = sock  # the name ``sock`` takes _sock's type from the test below
        while rc == MQTTErrorCode.MQTT_ERR_SUCCESS and self._sock is sock:
            if deliver is not None:
                self._take_publishes(reader, deliver)
            if not reader.buffered():
                break
            rc = super().loop_read(max_packets)  # each read takes bytes from the buffer
        return rc

    def _take_publishes(self, sock: BufferedSocket, deliver: fastpath.Message) -> None:
        """Hand the whole QoS 0 PUBLISH packets at the head of the buffer to ``deliver``, when
        paho is not in the middle of a packet."""
        if self._in_packet["command"]:
            return
        found = sock.take_publishes(self._protocol == MQTTProtocolVersion.MQTTv5)
        if not found:
            return
        with self._msgtime_mutex:  # what paho's keepalive reads: the broker is alive
            self._last_bytes_received = paho.time_func()
        for topic, payload in found:
            deliver(topic, payload)
