"""The worker's MQTT 5 properties read every PUBLISH property as paho's own class does, and paho's
PUBLISH decoder uses them once installed (a real message through Mosquitto included)."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import paho.mqtt._packet as packet
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import MQTTException, Properties

from adapters.mqtt.properties import SharedTables, install
from tests.adapters.mqtt_pair import pair


def publish_properties() -> Properties:
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    props.PayloadFormatIndicator = 1
    props.MessageExpiryInterval = 60
    props.ContentType = "application/json"
    props.ResponseTopic = "devices/d1/answers"
    props.CorrelationData = b"\x00\x01corr"
    props.TopicAlias = 7
    props.UserProperty = ("site", "north")
    props.UserProperty = ("line", "2")
    return props


def test_every_publish_property_reads_as_paho_reads_it() -> None:
    encoded = publish_properties().pack() + b"the payload"
    theirs, their_length = Properties(PacketTypes.PUBLISH).unpack(encoded)  # type: ignore[no-untyped-call]
    ours, our_length = SharedTables(PacketTypes.PUBLISH).unpack(encoded)
    assert our_length == their_length
    assert ours.json() == theirs.json()
    assert str(ours) == str(theirs)
    assert ours.UserProperty == [("site", "north"), ("line", "2")]
    assert not ours.isEmpty()


def test_no_properties_and_a_second_unpack_leave_nothing_of_the_first() -> None:
    ours = SharedTables(PacketTypes.PUBLISH)
    ours.unpack(publish_properties().pack())
    _, length = ours.unpack(b"\x00rest")
    assert length == 1
    assert ours.isEmpty()
    assert ours.json() == {}
    assert not hasattr(ours, "ContentType")


def test_what_paho_refuses_is_refused_the_same() -> None:
    once = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    once.PayloadFormatIndicator = 1
    assert once.pack() == b"\x02\x01\x01"  # length 2: identifier 1, value 1
    doubled = b"\x04\x01\x01\x01\x01"  # the same single-valued property twice
    for cls in (Properties, SharedTables):
        with pytest.raises(MQTTException):
            cls(PacketTypes.PUBLISH).unpack(doubled)
        with pytest.raises(MQTTException):
            cls(PacketTypes.PUBLISH).SessionExpiryInterval = 5  # not a PUBLISH property
        with pytest.raises(MQTTException):
            cls(PacketTypes.PUBLISH).NoSuchProperty = 1


def test_once_installed_a_message_through_the_broker_carries_them() -> None:
    original = packet.Properties
    topic = f"test/properties/{uuid.uuid4().hex}"
    got: list[Any] = []
    arrived = threading.Event()

    def on_message(client: Any, userdata: Any, message: Any) -> None:
        got.append(message)
        arrived.set()

    assert install()
    try:
        assert packet.Properties is SharedTables
        receiver = paho.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
        receiver.on_message = on_message
        with pair(receiver, topic, 1) as sender:
            props = publish_properties()
            del props.TopicAlias  # the broker's business, not the receiver's
            sender.publish(topic, b"{}", qos=1, properties=props).wait_for_publish(5)
            assert arrived.wait(5)
    finally:
        packet.Properties = original
    (message,) = got
    assert isinstance(message.properties, SharedTables)
    assert message.properties.ContentType == "application/json"
    assert message.properties.CorrelationData == b"\x00\x01corr"
    assert message.properties.UserProperty == [("site", "north"), ("line", "2")]
