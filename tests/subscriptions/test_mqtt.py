"""Notifications to MQTT endpoints, through the real Mosquitto on 127.0.0.1:1883."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
import pytest

from tests.mqtt_listener import Message, listening, unique_topic
from twin_server.app import TwinApp

pytestmark = pytest.mark.anyio
NGSI = "/ngsi-ld/v1"
CONTEXT = {"ex": "https://example.org/", "Pump": "ex:Pump", "speed": "ex:speed"}
LD = {"Content-Type": "application/ld+json"}


def mqtt_subscription(uri: str, **endpoint: Any) -> dict[str, Any]:
    return {
        "type": "Subscription",
        "entities": [{"type": "Pump"}],
        "notification": {"endpoint": {"uri": uri, **endpoint}},
        "@context": CONTEXT,
    }


async def create_pump(client: httpx.AsyncClient, n: int, speed: int) -> None:
    body = {
        "id": f"urn:ngsi-ld:Pump:{n}",
        "type": "Pump",
        "speed": {"type": "Property", "value": speed},
        "@context": CONTEXT,
    }
    response = await client.post(f"{NGSI}/entities", json=body, headers=LD)
    assert response.status_code == 201, response.text


async def test_a_change_is_published_with_metadata_and_body(client: httpx.AsyncClient) -> None:
    topic = unique_topic("notify")
    async with listening(topic) as listener:
        uri = f"mqtt://127.0.0.1:1883/{topic}"
        receiver_info = [{"key": "X-Plant", "value": "north"}]
        created = await client.post(
            f"{NGSI}/subscriptions",
            json=mqtt_subscription(uri, receiverInfo=receiver_info),
            headers=LD,
        )
        assert created.status_code == 201, created.text
        await create_pump(client, 1, 1450)
        (message,) = await listener.wait_for(1)
    payload = orjson.loads(message.payload)
    assert payload["metadata"]["Content-Type"] == "application/json"
    assert payload["metadata"]["X-Plant"] == "north"
    assert "Link" in payload["metadata"]
    body = payload["body"]
    assert body["type"] == "Notification"
    assert body["data"][0]["id"] == "urn:ngsi-ld:Pump:1"
    assert body["data"][0]["speed"]["value"] == 1450


def notified(messages: list[Message]) -> list[str]:
    return [e["id"] for m in messages for e in orjson.loads(m.payload)["body"]["data"]]


async def test_mqtt5_qos1_carries_user_properties_and_is_counted_as_sent(
    client: httpx.AsyncClient,
) -> None:
    topic = unique_topic("notify")
    async with listening(topic) as listener:
        body = mqtt_subscription(
            f"mqtt://127.0.0.1/{topic}",
            notifierInfo=[
                {"key": "MQTT-Version", "value": "mqtt5.0"},
                {"key": "MQTT-QoS", "value": "1"},
            ],
        )
        created = await client.post(f"{NGSI}/subscriptions", json=body, headers=LD)
        sub_id = created.headers["Location"].rsplit("/", 1)[1]
        for n in range(3):
            await create_pump(client, n, 1000 + n)
        messages = await listener.wait_until(lambda got: len(notified(got)) >= 3)
    ids = notified(messages)
    assert ids == [f"urn:ngsi-ld:Pump:{n}" for n in range(3)]
    assert messages[0].qos == 1
    assert ("Content-Type", "application/json") in messages[0].user_properties
    stats = (await client.get(f"{NGSI}/subscriptions/{sub_id}")).json()["notification"]
    assert stats["timesSent"] >= 1
    assert stats["timesFailed"] == 0


async def test_an_unreachable_broker_is_a_counted_failure(
    app: TwinApp, client: httpx.AsyncClient
) -> None:
    app.state.notifier.retries = (0.05,)
    body = mqtt_subscription("mqtt://127.0.0.1:1/unreachable")
    created = await client.post(f"{NGSI}/subscriptions", json=body, headers=LD)
    sub_id = created.headers["Location"].rsplit("/", 1)[1]
    await create_pump(client, 1, 1450)
    for _ in range(200):
        stats = (await client.get(f"{NGSI}/subscriptions/{sub_id}")).json()["notification"]
        if stats["timesFailed"] >= 2:
            break
        await asyncio.sleep(0.05)
    assert stats["timesFailed"] == 2  # the first try and its one retry
    assert stats["status"] == "failed"
    assert stats["timesSent"] == 0


@pytest.mark.parametrize(
    ("endpoint", "detail"),
    [
        ({"uri": "mqtt://127.0.0.1:1883/"}, "names no topic"),
        ({"uri": "mqtt://127.0.0.1:1883/a/#"}, "names no topic"),
        (
            {"uri": "mqtt://127.0.0.1/t", "notifierInfo": [{"key": "MQTT-QoS", "value": "3"}]},
            "MQTT-QoS '3' is not 0, 1 or 2",
        ),
        (
            {"uri": "mqtt://h/t", "notifierInfo": [{"key": "MQTT-Version", "value": "mqtt4"}]},
            "MQTT-Version 'mqtt4'",
        ),
    ],
)
async def test_a_bad_mqtt_endpoint_is_refused(
    client: httpx.AsyncClient, endpoint: dict[str, Any], detail: str
) -> None:
    body = mqtt_subscription(**endpoint)
    response = await client.post(f"{NGSI}/subscriptions", json=body, headers=LD)
    assert response.status_code == 400, response.text
    assert detail in response.json()["detail"]
    assert (await client.get(f"{NGSI}/subscriptions")).json() == []
