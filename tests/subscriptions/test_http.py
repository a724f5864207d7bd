"""The HTTP notification sender against receivers that answer in every way HTTP allows (and
some it does not): raw asyncio servers, so each answer is exactly what the test wrote."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from twin_server.subscriptions.http import HttpSender
from twin_server.subscriptions.model import Endpoint
from twin_server.subscriptions.senders import DeliveryError

pytestmark = pytest.mark.anyio
Answer = Callable[[int], bytes]  # the n-th request on a connection -> the raw answer


@asynccontextmanager
async def receiver(answer: Answer, *, close_after: int = 0) -> AsyncIterator[list[bytes]]:
    """A server answering each request with ``answer(n)``; closes a connection after
    ``close_after`` requests (0: never). Yields the bodies it received."""
    bodies: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        n = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                bodies.append(await reader.readexactly(length))
                writer.write(answer(n))
                await writer.drain()
                n += 1
                if close_after and n >= close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    bodies.append(f"http://127.0.0.1:{port}/notify".encode())  # [0] is the URL
    async with server:
        yield bodies


def endpoint(bodies: list[bytes]) -> Endpoint:
    return Endpoint(uri=bodies[0].decode(), timeout=2.0)


async def test_chunked_and_sized_answers_are_read_and_the_connection_reused() -> None:
    answers = [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 204 No Content\r\n\r\n",
    ]
    sender = HttpSender(timeout=2)
    async with receiver(lambda n: answers[n]) as bodies:
        for i in range(3):
            await sender.send(endpoint(bodies), f"n{i}".encode(), {"X-Trace": str(i)})
    assert bodies[1:] == [b"n0", b"n1", b"n2"]
    await sender.aclose()


async def test_a_receiver_that_closes_idle_connections_still_gets_every_notification() -> None:
    sender = HttpSender(timeout=2)
    async with receiver(lambda n: b"HTTP/1.1 204 No Content\r\n\r\n", close_after=1) as bodies:
        for i in range(3):
            await sender.send(endpoint(bodies), f"n{i}".encode(), {})
            await asyncio.sleep(0.01)  # let the close reach us (or not): both must work
    assert bodies[1:] == [b"n0", b"n1", b"n2"]
    await sender.aclose()


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n", "answered 500"),
        (b"SMTP ready\r\n\r\n", "not HTTP/1.x"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", "cut short"),
    ],
)
async def test_a_bad_answer_is_a_delivery_error(answer: bytes, reason: str) -> None:
    sender = HttpSender(timeout=2)
    async with receiver(lambda n: answer, close_after=1) as bodies:
        with pytest.raises(DeliveryError, match=re.escape(reason)):
            await sender.send(endpoint(bodies), b"{}", {})
    await sender.aclose()


async def test_a_silent_receiver_times_out() -> None:
    sender = HttpSender(timeout=2)
    async with receiver(lambda n: b"") as bodies:
        slow = Endpoint(uri=bodies[0].decode(), timeout=0.2)
        with pytest.raises(DeliveryError, match=r"did not answer within 0\.2 s"):
            await sender.send(slow, b"{}", {})
    await sender.aclose()


async def test_nothing_listening_is_a_delivery_error() -> None:
    sender = HttpSender(timeout=2)
    with pytest.raises(DeliveryError, match="cannot connect"):
        await sender.send(Endpoint(uri="http://127.0.0.1:9/x"), b"{}", {})
