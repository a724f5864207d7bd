"""A subscriber and a publisher on the real Mosquitto, for the worker's client tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sized
from contextlib import contextmanager

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

BROKER = ("127.0.0.1", 1883)


@contextmanager
def pair(
    subscriber: paho.Client,
    topic: str,
    qos: int,
    *,
    protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv5,
    unlimited: bool = False,
) -> Iterator[paho.Client]:
    """``subscriber`` subscribed to ``topic``, and a publisher (with no limit on messages in
    flight when ``unlimited``), both running; both disconnected at the end."""
    subscriber.connect(*BROKER)
    subscriber.subscribe(topic, qos=qos)
    subscriber.loop_start()
    publisher = paho.Client(CallbackAPIVersion.VERSION2, protocol=protocol)
    if unlimited:
        publisher.max_inflight_messages_set(0)
    publisher.connect(*BROKER)
    publisher.loop_start()
    try:
        time.sleep(0.3)  # subscribed
        yield publisher
    finally:
        publisher.loop_stop()
        publisher.disconnect()
        subscriber.loop_stop()
        subscriber.disconnect()


def send_bursts(
    publisher: paho.Client,
    topic: str,
    arrivals: Sized,
    arrived: threading.Condition,
    *,
    count: int = 3000,
    burst: int = 500,
) -> float:
    """Publish ``m0`` … ``m{count-1}``, QoS 0 and 1 by turns, in bursts, each followed by
    silence until all of it has arrived (``arrivals`` grows under ``arrived``): a message
    left in a buffer would wait for the keepalive (60 s). Returns the slowest burst's
    seconds. Bursts, because Mosquitto drops QoS 0 messages for a subscriber once 1,000
    packets wait for its socket (``max_queued_messages``), which a loaded machine reaches with
    one burst of 3,000: that would be the broker's policy, not a loss in our reads."""
    slowest = 0.0
    for start in range(0, count, burst):
        sent = time.monotonic()
        infos = [
            publisher.publish(topic, f"m{n}".encode(), qos=n % 2)
            for n in range(start, start + burst)
        ]
        for info in infos:
            info.wait_for_publish(5)
        with arrived:
            whole = arrived.wait_for(lambda end=start + burst: len(arrivals) >= end, 5)
        assert whole, f"{len(arrivals)} of {start + burst} messages arrived"
        slowest = max(slowest, time.monotonic() - sent)
    return slowest
