"""QoS 0 PUBLISH packets taken whole from the worker's read buffer, past paho's packet machinery.

For each PUBLISH it receives, paho reads the packet into a dict of its state, decodes it into an
``MQTTMessage`` (with an ``MQTTMessageInfo`` and its ``Condition``), builds MQTT 5
``Properties``, logs it and looks up the callbacks of its topic: measured in the worker at
10,000 messages/s, that was over 40% of the process, against the routing and conversion of
the message itself. A QoS 0 PUBLISH asks for no answer and changes no session state, so the
worker reads those it finds whole at the head of the buffer itself (``take``): their topic and
payload. Everything else stays paho's: other packets, QoS 1 and 2, MQTT 5 PUBLISH packets that
carry properties (a topic alias, an expiry, user properties), the DUP flag where the protocol
forbids it, malformed lengths, and a packet not yet whole, which paho reads from the same
buffer, in order.
"""

from __future__ import annotations

from collections.abc import Callable

Message = Callable[[bytes, bytes], None]
"""What the worker does with a message: (topic, payload)."""

_PUBLISH_QOS0 = 0x30
"""Packet type 3 with DUP and QoS 0 in the fixed header's first byte (RETAIN may be set)."""
_TYPE_DUP_QOS = 0xFE


def take(buffer: bytes, start: int, *, v5: bool) -> tuple[list[tuple[bytes, bytes]], int]:
    """The whole QoS 0 PUBLISH packets from ``start`` on, (topic, payload) each, and where the
    first packet left to paho begins (``start`` itself when it is not one of them)."""
    found: list[tuple[bytes, bytes]] = []
    end = len(buffer)
    at = start
    while at + 2 <= end and buffer[at] & _TYPE_DUP_QOS == _PUBLISH_QOS0:
        length, shift, cursor = 0, 0, at + 1
        while True:  # the remaining length: at most four bytes of seven bits
            if cursor >= end or cursor - at > 4:
                return found, at
            byte = buffer[cursor]
            cursor += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        packet_end = cursor + length
        if packet_end > end or length < 2:
            return found, at
        topic_end = cursor + 2 + (buffer[cursor] << 8 | buffer[cursor + 1])
        payload = topic_end
        if v5:  # a properties length of zero, one byte; any property is paho's to read
            if topic_end >= packet_end or buffer[topic_end] != 0:
                return found, at
            payload += 1
        if topic_end == cursor + 2 or topic_end > packet_end:
            return found, at  # an empty topic (a topic alias) or a malformed packet
        found.append((buffer[cursor + 2 : topic_end], buffer[payload:packet_end]))
        at = packet_end
    return found, at
