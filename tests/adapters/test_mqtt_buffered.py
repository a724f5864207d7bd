"""The MQTT worker's paho client reads its socket in large pieces: over a real socket pair and
the real Mosquitto, every byte and message arrives, in order, and nothing waits in the buffer
for the next packet."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from adapters.mqtt.buffered import READ_SIZE, BufferedClient, BufferedSocket
from tests.adapters.mqtt_pair import pair, send_bursts


def test_small_reads_are_served_from_one_read_of_the_kernel() -> None:
    left, right = socket.socketpair()
    with left, right:
        buffered = BufferedSocket(left)
        right.sendall(b"\x30\x05hello" + b"\x30\x02ok")
        time.sleep(0.05)
        assert buffered.recv(1) == b"\x30"
        assert buffered.pending() == 10  # the rest, already taken from the kernel
        left.setblocking(False)
        with pytest.raises(BlockingIOError):
            left.recv(1)  # the kernel holds nothing more: it is all in the buffer
        assert [buffered.recv(1), buffered.recv(5), buffered.recv(1), buffered.recv(99)] == [
            b"\x05",
            b"hello",
            b"\x30",
            b"\x02ok",
        ]
        assert buffered.pending() == 0
        with pytest.raises(BlockingIOError):
            buffered.recv(1)  # empty buffer, empty socket: as a non-blocking socket says
        right.close()
        assert buffered.recv(1) == b""  # the end of the stream


def test_a_read_larger_than_what_is_buffered_takes_it_whole() -> None:
    left, right = socket.socketpair()
    with left, right:
        buffered = BufferedSocket(left)
        payload = bytes(range(256)) * (3 * READ_SIZE // 256)
        sender = threading.Thread(target=right.sendall, args=(payload,))
        sender.start()
        got = bytearray()
        while len(got) < len(payload):
            got += buffered.recv(1000)
        sender.join()
    assert bytes(got) == payload


def _client(on_message: Any) -> BufferedClient:
    client = BufferedClient(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
    client.on_message = on_message
    return client


def test_a_burst_arrives_whole_in_order_and_the_last_message_does_not_wait() -> None:
    topic = f"test/buffered/{uuid.uuid4().hex}"
    received: list[bytes] = []
    arrived = threading.Condition()
    count = 3000

    def on_message(client: Any, userdata: Any, message: Any) -> None:
        with arrived:
            received.append(message.payload)
            arrived.notify_all()

    subscriber = _client(on_message)
    with pair(subscriber, topic, 1, unlimited=True) as publisher:
        assert isinstance(subscriber.socket(), BufferedSocket)
        slowest = send_bursts(publisher, topic, received, arrived, count=count)
    # MQTT keeps the order of one publisher's messages of one QoS (QoS 1 ones may pass QoS 0)
    for qos in (0, 1):
        mine = [m for m in received if int(m[1:]) % 2 == qos]
        assert mine == [f"m{n}".encode() for n in range(qos, count, 2)]
    assert len(received) == count
    assert slowest < 5
