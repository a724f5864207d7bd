"""The server's HTTP protocol over a real socket: a response leaves in one write, streamed
chunks are not held back, a large body is not held whole, a closing response is sent whole,
WebSocket upgrades still work."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import uvicorn
import websockets
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from tests.server import free_port, in_loop
from twin_server.http_protocol import HOLD_LIMIT, JoinedWritesProtocol

pytestmark = pytest.mark.anyio
BODY = b"x" * 1024
STREAM_PAUSE = 0.5
CHUNK, LARGE_CHUNKS = b"y" * HOLD_LIMIT, 32


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        message = await receive()
        await send({"type": "websocket.send", "text": "echo " + message["text"]})
        await send({"type": "websocket.close"})
        return
    path = scope["path"]
    headers = [(b"content-type", b"text/plain")]
    if path == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for chunk in (b"first", b"second"):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await asyncio.sleep(STREAM_PAUSE)
        await send({"type": "http.response.body", "body": b""})
        return
    if path == "/large":
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for _ in range(LARGE_CHUNKS):  # without a pause: one turn of the loop
            await send({"type": "http.response.body", "body": CHUNK, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    if path == "/close":
        headers.append((b"connection", b"close"))
    headers.append((b"content-length", str(len(BODY)).encode()))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": BODY})


def counting(protocol: type[HttpToolsProtocol], writes: list[bytes]) -> type[HttpToolsProtocol]:
    """``protocol`` with what it writes to the socket's transport recorded."""

    class Counted(protocol):  # type: ignore[misc, valid-type]
        def connection_made(self, transport: Any) -> None:
            write = transport.write

            class Recorder:
                def __getattr__(self, name: str) -> Any:
                    return getattr(transport, name)

                def write(self, data: bytes) -> None:
                    writes.append(bytes(data))
                    write(data)

            super().connection_made(Recorder())

    return Counted


@asynccontextmanager
async def serving(protocol: type[HttpToolsProtocol]) -> AsyncIterator[int]:
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, http=protocol, log_level="warning")
    async with in_loop(config):
        yield port


Response = tuple[bytes, dict[bytes, bytes], bytes]


async def read_response(reader: asyncio.StreamReader) -> Response:
    head = await reader.readuntil(b"\r\n\r\n")
    status, *lines = head[:-4].split(b"\r\n")
    headers = dict(line.lower().split(b": ", 1) for line in lines)
    body = await reader.readexactly(int(headers[b"content-length"]))
    return status, headers, body


async def get(port: int, path: str, requests: int = 1) -> list[Response]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = f"GET {path} HTTP/1.1\r\nhost: t\r\n\r\n".encode()
    writer.write(request * requests)  # pipelined on one connection
    answers = [await read_response(reader) for _ in range(requests)]
    writer.close()
    return answers


async def writes_per_response(protocol: type[HttpToolsProtocol]) -> float:
    writes: list[bytes] = []
    async with serving(counting(protocol, writes)) as port:
        for _ in range(5):
            await get(port, "/body")
    return len(writes) / 5


async def test_a_response_with_a_body_leaves_in_one_write() -> None:
    assert await writes_per_response(HttpToolsProtocol) == 2  # uvicorn's own: head, then body
    assert await writes_per_response(JoinedWritesProtocol) == 1


async def test_pipelined_responses_arrive_whole_and_in_order() -> None:
    async with serving(JoinedWritesProtocol) as port:
        answers = await get(port, "/body", requests=3)
    assert [(status, body) for status, _, body in answers] == [(b"HTTP/1.1 200 OK", BODY)] * 3
    assert all(headers[b"content-type"] == b"text/plain" for _, headers, _ in answers)


async def test_a_streamed_chunk_is_not_held_back_for_the_next() -> None:
    async with serving(JoinedWritesProtocol) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /stream HTTP/1.1\r\nhost: t\r\n\r\n")
        loop = asyncio.get_running_loop()
        start = loop.time()
        arrived = []
        await reader.readuntil(b"\r\n\r\n")
        for end in (b"5\r\nfirst\r\n", b"6\r\nsecond\r\n", b"0\r\n\r\n"):
            await reader.readuntil(end)
            arrived.append(loop.time() - start)
        writer.close()
    # each chunk as it is sent (0, 1 and 2 pauses in), not with the next one or the close
    for n, at in enumerate(arrived):
        assert n * STREAM_PAUSE - 0.05 < at < (n + 0.5) * STREAM_PAUSE, arrived


async def test_a_large_body_is_not_held_whole_in_memory() -> None:
    writes: list[bytes] = []
    async with serving(counting(JoinedWritesProtocol, writes)) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /large HTTP/1.1\r\nhost: t\r\n\r\n")
        await reader.readuntil(b"\r\n\r\n")
        chunk = b"%x\r\n" % len(CHUNK) + CHUNK + b"\r\n"
        received = await reader.readexactly(len(chunk) * LARGE_CHUNKS + 5)
        writer.close()
    assert received == chunk * LARGE_CHUNKS + b"0\r\n\r\n"
    # what passes the hold limit goes to the transport (and its flow control) at once
    assert len(writes) >= LARGE_CHUNKS
    assert max(len(w) for w in writes) < 2 * HOLD_LIMIT + 64


async def test_a_closing_response_is_sent_whole_before_the_close() -> None:
    async with serving(JoinedWritesProtocol) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /close HTTP/1.1\r\nhost: t\r\n\r\n")
        status, headers, body = await read_response(reader)
        assert await reader.read() == b""  # then the server closes
        writer.close()
    assert (status, headers[b"connection"], body) == (b"HTTP/1.1 200 OK", b"close", BODY)


async def test_a_refusal_written_just_before_the_close_still_arrives() -> None:
    async with serving(JoinedWritesProtocol) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        answer = await reader.read()  # to the server's close
        writer.close()
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert answer.endswith(b"\r\n\r\nInvalid HTTP request received.")


async def test_a_websocket_upgrade_still_works() -> None:
    async with (
        serving(JoinedWritesProtocol) as port,
        websockets.connect(f"ws://127.0.0.1:{port}/ws") as ws,
    ):
        await ws.send("hello")
        assert await ws.recv() == "echo hello"
