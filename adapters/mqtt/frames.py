"""The frames between the server and its MQTT worker process: a 4-byte big-endian length, then
that many bytes of JSON (orjson)."""

from __future__ import annotations

import asyncio
import struct
from typing import IO, Any

import orjson

HEADER = struct.Struct(">I")
MAX_FRAME = 256 * 1024 * 1024


def frame(message: Any) -> bytes:
    body = orjson.dumps(message)
    return HEADER.pack(len(body)) + body


def read_frame(stream: IO[bytes]) -> Any:
    """The next message from a blocking stream; None at its end."""
    head = stream.read(HEADER.size)
    if len(head) < HEADER.size:
        return None
    (size,) = HEADER.unpack(head)
    body = stream.read(size)
    if len(body) < size:
        return None
    return orjson.loads(body)


async def next_frame(reader: asyncio.StreamReader) -> Any:
    """The next message from an asyncio stream; None at its end."""
    try:
        head = await reader.readexactly(HEADER.size)
        (size,) = HEADER.unpack(head)
        if size > MAX_FRAME:
            raise ValueError(f"a frame of {size} bytes")
        return orjson.loads(await reader.readexactly(size))
    except asyncio.IncompleteReadError:
        return None
