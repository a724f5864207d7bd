"""The worker's own reading of QoS 0 PUBLISH packets: it reads what paho's decoder reads, takes
only what it should (whole QoS 0 packets without properties) and leaves the rest where paho
finds it; through the real Mosquitto, messages of both paths arrive whole and in order."""

from __future__ import annotations

import io
import threading
import uuid
from typing import Any

import paho.mqtt._packet as packet
from hypothesis import given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from adapters.mqtt.buffered import BufferedClient
from adapters.mqtt.fastpath import take
from adapters.mqtt.frames import read_frame
from adapters.mqtt.worker import Worker
from tests.adapters.mqtt_pair import pair, send_bursts


def _length(size: int) -> bytes:
    out = bytearray()
    while True:
        byte, size = size & 0x7F, size >> 7
        out.append(byte | (0x80 if size else 0))
        if not size:
            return bytes(out)


def publish(
    topic: bytes,
    payload: bytes,
    *,
    v5: bool,
    qos: int = 0,
    retain: bool = False,
    properties: bytes = b"\x00",
) -> bytes:
    body = len(topic).to_bytes(2, "big") + topic
    if qos:
        body += (7).to_bytes(2, "big")  # the packet id
    if v5:
        body += properties
    body += payload
    return bytes([0x30 | qos << 1 | retain]) + _length(len(body)) + body


def user_property() -> bytes:
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    props.UserProperty = ("site", "north")
    return bytes(props.pack())  # type: ignore[no-untyped-call]


PINGRESP = b"\xd0\x00"
packets = st.one_of(
    st.tuples(st.just("q0"), st.binary(min_size=1, max_size=40), st.binary(max_size=300)),
    st.tuples(st.just("q0 retained"), st.binary(min_size=1, max_size=8), st.binary(max_size=8)),
    st.tuples(st.just("q1"), st.binary(min_size=1, max_size=8), st.binary(max_size=8)),
    st.tuples(st.just("properties"), st.binary(min_size=1, max_size=8), st.binary(max_size=8)),
    st.tuples(st.just("ping"), st.just(b""), st.just(b"")),
)


def encode(kind: str, topic: bytes, payload: bytes, v5: bool) -> bytes:
    if kind == "ping":
        return PINGRESP
    if kind == "properties":
        return publish(topic, payload, v5=v5, properties=user_property() if v5 else b"")
    qos = 1 if kind == "q1" else 0
    return publish(topic, payload, v5=v5, qos=qos, retain=kind == "q0 retained")


def takes(kind: str, v5: bool) -> bool:
    return kind.startswith("q0") or (kind == "properties" and not v5)


@settings(max_examples=300)
@given(st.lists(packets, max_size=12), st.booleans(), st.integers(0, 30))
def test_it_takes_the_leading_qos0_publishes_as_paho_decodes_them(
    stream: list[tuple[str, bytes, bytes]], v5: bool, cut: int
) -> None:
    encoded = [encode(kind, topic, payload, v5) for kind, topic, payload in stream]
    data = b"junk" + b"".join(encoded)
    data = data[: max(len(data) - cut, 4)]  # the last packet may not be whole yet
    found, at = take(data, 4, v5=v5)
    protocol = MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311
    expected, position = [], 4
    for (kind, _, _), raw in zip(stream, encoded, strict=True):
        if not takes(kind, v5) or position + len(raw) > len(data):
            break
        header = 2
        while raw[header - 1] & 0x80:  # the remaining length's bytes
            header += 1
        decoded = packet.decode_publish(raw[0], raw[header:], protocol)
        assert decoded.qos == 0
        expected.append((decoded.topic, decoded.payload))
        position += len(raw)
    assert found == expected
    assert at == position


def test_a_publish_split_by_the_read_is_left_to_paho_whole() -> None:
    whole = publish(b"plant/p1/state", b'{"rpm": 1}', v5=True)
    for end in range(len(whole)):
        assert take(whole[:end], 0, v5=True) == ([], 0)
    assert take(whole, 0, v5=True) == ([(b"plant/p1/state", b'{"rpm": 1}')], len(whole))


def test_malformed_or_unusual_publishes_are_left_to_paho() -> None:
    cases = [
        b"\x38\x05\x00\x01tx\x00",  # DUP set at QoS 0: a protocol error paho reports
        b"\x30\x01\x00",  # too short for a topic length
        b"\x30\x04\x00\x09ab",  # a topic longer than the packet
        b"\x30\x03\x00\x00\x00",  # an empty topic (MQTT 5: a topic alias)
        b"\x30\xff\xff\xff\xff\x7f",  # a remaining length of five bytes
    ]
    for raw in cases:
        assert take(raw, 0, v5=True) == ([], 0), raw


def _subscriber(
    on_message: Any, on_qos0: Any, protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv5
) -> BufferedClient:
    client = BufferedClient(CallbackAPIVersion.VERSION2, protocol=protocol)
    client.on_message = on_message
    client.on_qos0 = on_qos0
    return client


def test_through_mosquitto_both_paths_deliver_every_message_in_order() -> None:
    topic = f"test/fastpath/{uuid.uuid4().hex}"
    arrivals: list[tuple[str, bytes]] = []
    arrived = threading.Condition()
    count = 3000

    def record(path: str, payload: bytes) -> None:
        with arrived:
            arrivals.append((path, payload))
            arrived.notify_all()

    subscriber = _subscriber(
        lambda c, u, m: record("paho", m.payload), lambda t, p: record("ours", p)
    )
    with pair(subscriber, topic, 1, unlimited=True) as publisher:
        send_bursts(publisher, topic, arrivals, arrived, count=count)
    for qos in (0, 1):  # each QoS in the order sent, once each, whichever path it took
        mine = [m for _, m in arrivals if int(m[1:]) % 2 == qos]
        assert mine == [f"m{n}".encode() for n in range(qos, count, 2)]
    assert len(arrivals) == count
    assert all(path == "paho" for path, m in arrivals if int(m[1:]) % 2)  # QoS 1: acked
    ours = sum(path == "ours" for path, _ in arrivals)
    assert ours > count // 4, f"only {ours} of {count // 2} QoS 0 messages took our path"


def test_a_message_with_properties_goes_to_paho_and_arrives() -> None:
    topic = f"test/fastpath/{uuid.uuid4().hex}"
    got: list[tuple[str, bytes, Any]] = []
    done = threading.Event()

    def on_message(client: Any, userdata: Any, message: Any) -> None:
        got.append(("paho", message.payload, message.properties.UserProperty))
        done.set()

    def on_qos0(topic: bytes, payload: bytes) -> None:
        got.append(("ours", payload, None))
        done.set()

    with pair(_subscriber(on_message, on_qos0), topic, 0) as publisher:
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        props.UserProperty = ("site", "north")
        publisher.publish(topic, b"with", qos=0, properties=props).wait_for_publish(5)
        assert done.wait(5)
    assert got == [("paho", b"with", [("site", "north")])]


def test_mqtt_3_1_1_messages_take_our_path() -> None:
    topic = f"test/fastpath/{uuid.uuid4().hex}"
    got: list[tuple[bytes, bytes]] = []
    done = threading.Event()

    def on_qos0(topic: bytes, payload: bytes) -> None:
        got.append((topic, payload))
        if len(got) == 50:
            done.set()

    v3 = MQTTProtocolVersion.MQTTv311
    with pair(_subscriber(None, on_qos0, v3), topic, 0, protocol=v3) as publisher:
        for n in range(50):
            publisher.publish(topic, f"m{n}".encode(), qos=0)
        assert done.wait(5), f"{len(got)} of 50 arrived"
    assert got == [(topic.encode(), f"m{n}".encode()) for n in range(50)]


def test_the_worker_refuses_a_topic_that_is_not_utf8_and_routes_the_next() -> None:
    binding = {
        "id": "pumps",
        "adapter": "mqtt",
        "source": {"topic": "plant/{deviceId}/state"},
        "twin": "urn:ngsi-ld:Pump:{deviceId}",
        "attributes": [{"name": "speed", "source": "/rpm"}],
    }
    out = io.BytesIO()
    worker = Worker(out, [binding])
    worker._arrived(b"plant/\xff/state", b'{"rpm": 1}')
    worker._arrived(b"plant/p1/state", b'{"rpm": 2}')
    worker._flush()
    batch = read_frame(io.BytesIO(out.getvalue()))
    assert (batch["n"], batch["u"]) == (2, 1)
    assert batch["x"] == [[None, "b'plant/\\xff/state'", "the topic is not UTF-8"]]
    assert [(b, t, v["speed"]["value"]) for b, t, v in batch["r"]] == [
        ("pumps", "urn:ngsi-ld:Pump:p1", 2)
    ]
