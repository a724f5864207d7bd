"""NGSI-LD subscriptions end to end: the API, and notifications to a real HTTP receiver."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.subscriptions.receiver import Receiver, running_receiver
from twin_server.app import TwinApp

pytestmark = pytest.mark.anyio
NGSI = "/ngsi-ld/v1"
CONTEXT = {"ex": "https://example.org/", "Pump": "ex:Pump", "speed": "ex:speed", "mode": "ex:mode"}
LD = {"Content-Type": "application/ld+json"}


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver() as r:
        yield r


def subscription(receiver: Receiver, **members: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "Subscription",
        "entities": [{"type": "Pump"}],
        "notification": {"endpoint": {"uri": receiver.url}},
        "@context": CONTEXT,
    }
    body.update(members)
    return body


def pump(n: int, **attrs: Any) -> dict[str, Any]:
    entity: dict[str, Any] = {"id": f"urn:ngsi-ld:Pump:{n}", "type": "Pump", "@context": CONTEXT}
    entity.update({k: {"type": "Property", "value": v} for k, v in attrs.items()})
    return entity


def pump_id(n: int) -> str:
    return f"urn:ngsi-ld:Pump:{n}"


async def subscribe(client: httpx.AsyncClient, body: dict[str, Any]) -> str:
    response = await client.post(f"{NGSI}/subscriptions", json=body, headers=LD)
    assert response.status_code == 201, response.text
    location: str = response.headers["Location"]
    return location.rsplit("/", 1)[1]


async def set_speed(client: httpx.AsyncClient, n: int, speed: Any) -> None:
    response = await client.patch(
        f"{NGSI}/entities/urn:ngsi-ld:Pump:{n}/attrs",
        json={"speed": {"type": "Property", "value": speed}, "@context": CONTEXT},
        headers=LD,
    )
    assert response.status_code == 204, response.text


async def test_a_subscription_is_created_retrieved_listed_updated_and_deleted(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    sub_id = await subscribe(client, subscription(receiver, q="speed>100"))
    got = await client.get(f"{NGSI}/subscriptions/{sub_id}")
    assert got.status_code == 200
    body = got.json()
    assert body["id"] == sub_id
    assert body["status"] == "active"
    assert body["q"] == "speed>100"
    assert body["notification"]["timesSent"] == 0
    assert body["notification"]["status"] == "ok"
    listed = await client.get(f"{NGSI}/subscriptions", params={"count": "true"})
    assert listed.headers["NGSILD-Results-Count"] == "1"
    patched = await client.patch(
        f"{NGSI}/subscriptions/{sub_id}", json={"isActive": False, "q": "speed>5"}
    )
    assert patched.status_code == 204, patched.text
    body = (await client.get(f"{NGSI}/subscriptions/{sub_id}")).json()
    assert (body["status"], body["q"]) == ("paused", "speed>5")
    assert (await client.delete(f"{NGSI}/subscriptions/{sub_id}")).status_code == 204
    assert (await client.get(f"{NGSI}/subscriptions/{sub_id}")).status_code == 404


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"type": "Nope"}, '"type": "Subscription"'),
        ({"notification": {}}, "notification.endpoint is an object with a uri"),
        ({"notification": {"endpoint": {"uri": "ftp://x/y"}}}, "is not an http(s) or mqtt(s)"),
        ({"entities": [{"id": "urn:x:1"}]}, "each entities member is an object with a type"),
        ({"timeInterval": 5, "watchedAttributes": ["speed"]}, "timeInterval cannot go with"),
        ({"expiresAt": "2001-01-01T00:00:00Z"}, "is in the past"),
        ({"q": "(speed>1"}, "q"),
        ({"notificationTrigger": ["whenever"]}, "notificationTrigger"),
        ({"throttling": -1}, "throttling is a number of seconds above 0"),
        (
            {
                "notification": {
                    "endpoint": {
                        "uri": "http://127.0.0.1:9/n",
                        "receiverInfo": [{"key": "X-A", "value": "1\r\nX-Evil: 2"}],
                    }
                }
            },
            "receiverInfo 'X-A'",
        ),
        ({"entities": None, "watchedAttributes": None}, "needs entities or watchedAttributes"),
    ],
)
async def test_a_bad_subscription_is_refused_with_the_reason(
    client: httpx.AsyncClient, receiver: Receiver, change: dict[str, Any], detail: str
) -> None:
    body = {k: v for k, v in {**subscription(receiver), **change}.items() if v is not None}
    response = await client.post(f"{NGSI}/subscriptions", json=body, headers=LD)
    assert response.status_code == 400, response.text
    assert detail in response.json()["detail"]
    assert (await client.get(f"{NGSI}/subscriptions")).json() == []


async def test_a_second_subscription_with_the_same_id_is_409(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    body = subscription(receiver, id="urn:ngsi-ld:Subscription:one")
    await subscribe(client, body)
    again = await client.post(f"{NGSI}/subscriptions", json=body, headers=LD)
    assert again.status_code == 409


async def test_matching_changes_are_notified_in_the_subscribers_terms(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    sub_id = await subscribe(client, subscription(receiver, q="speed>100"))
    await client.post(f"{NGSI}/entities", json=pump(1, speed=50), headers=LD)
    await client.post(f"{NGSI}/entities", json=pump(2, speed=500), headers=LD)
    [note] = await receiver.wait_for(1)
    assert note.body["type"] == "Notification"
    assert note.body["subscriptionId"] == sub_id
    assert note.headers["content-type"] == "application/json"
    assert "json-ld#context" in note.headers["link"]
    [entity] = note.body["data"]
    assert entity["id"] == "urn:ngsi-ld:Pump:2"
    assert entity["type"] == "Pump"
    assert entity["speed"] == {"type": "Property", "value": 500}
    await set_speed(client, 1, 150)  # now it matches q
    await receiver.wait_for(2)
    assert receiver.received[1].body["data"][0]["id"] == "urn:ngsi-ld:Pump:1"


async def test_key_values_projection_and_json_ld(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    notification = {
        "endpoint": {"uri": receiver.url, "accept": "application/ld+json"},
        "format": "keyValues",
        "attributes": ["speed"],
    }
    await subscribe(client, subscription(receiver, notification=notification))
    await client.post(f"{NGSI}/entities", json=pump(1, speed=3, mode="auto"), headers=LD)
    [note] = await receiver.wait_for(1)
    assert note.headers["content-type"] == "application/ld+json"
    assert "@context" in note.body
    assert note.body["data"] == [{"id": "urn:ngsi-ld:Pump:1", "type": "Pump", "speed": 3}]


async def test_watched_attributes_and_triggers_decide_what_is_notified(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await subscribe(
        client,
        subscription(
            receiver,
            watchedAttributes=["speed"],
            notificationTrigger=["attributeUpdated", "entityDeleted"],
        ),
    )
    await client.post(f"{NGSI}/entities", json=pump(1, speed=1, mode="a"), headers=LD)
    patch = {"mode": {"type": "Property", "value": "b"}, "@context": CONTEXT}
    await client.patch(f"{NGSI}/entities/urn:ngsi-ld:Pump:1/attrs", json=patch, headers=LD)
    await set_speed(client, 1, 2)  # the one update of a watched attribute
    await client.delete(f"{NGSI}/entities/urn:ngsi-ld:Pump:1")
    notes = await receiver.wait_for(2)
    # the speed update, then the deletion (showing the entity as it was)
    assert [n.body["data"][0]["speed"]["value"] for n in notes] == [2, 2]
    assert len(receiver.received) == 2


async def test_selectors_by_id_and_id_pattern_notify_only_their_entities(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await subscribe(client, subscription(receiver, entities=[{"id": pump_id(2), "type": "Pump"}]))
    pattern = [{"idPattern": "urn:ngsi-ld:Pump:1[0-9]", "type": "Pump"}]
    await subscribe(client, subscription(receiver, entities=pattern))
    for n in (1, 2, 3, 12):
        await client.post(f"{NGSI}/entities", json=pump(n, speed=n), headers=LD)
    await receiver.wait_for(2)
    await set_speed(client, 3, 30)  # concerns neither
    await set_speed(client, 2, 20)
    await receiver.wait_for(3)
    assert sorted(e["id"] for e in receiver.entities()) == [pump_id(12), pump_id(2), pump_id(2)]


async def test_show_changes_carries_the_previous_value(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    notification = {"endpoint": {"uri": receiver.url}, "showChanges": True}
    await subscribe(client, subscription(receiver, notification=notification))
    await client.post(f"{NGSI}/entities", json=pump(1, speed=10), headers=LD)
    await receiver.wait_for(1)
    await set_speed(client, 1, 11)
    notes = await receiver.wait_for(2)
    assert "previousValue" not in notes[0].body["data"][0]["speed"]
    assert notes[1].body["data"][0]["speed"] == {
        "type": "Property",
        "value": 11,
        "previousValue": 10,
    }


async def test_notifications_of_one_subscription_arrive_in_order(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await subscribe(client, subscription(receiver))
    await client.post(f"{NGSI}/entities", json=pump(1, speed=0), headers=LD)
    for speed in range(1, 31):
        await set_speed(client, 1, speed)
    await receiver.wait_for(1)

    async def last_is_30() -> None:
        while not receiver.entities() or receiver.entities()[-1]["speed"]["value"] != 30:
            await receiver.wait_for(len(receiver.received) + 1)

    await asyncio.wait_for(last_is_30(), 10)
    speeds = [e["speed"]["value"] for e in receiver.entities()]
    assert speeds == sorted(speeds)
    assert speeds[-1] == 30


async def test_a_failing_receiver_is_retried_and_counted(
    client: httpx.AsyncClient, receiver: Receiver, app: TwinApp
) -> None:
    app.state.notifier.retries = (0.01, 0.01, 0.01)
    receiver.fail_next = 2
    sub_id = await subscribe(client, subscription(receiver))
    await client.post(f"{NGSI}/entities", json=pump(1, speed=1), headers=LD)
    await receiver.wait_for(1)

    async def sent_once() -> dict[str, Any]:
        note: dict[str, Any] = {}
        while note.get("timesSent") != 1:  # the receiver has it; the count follows its answer
            await asyncio.sleep(0.01)
            note = (await client.get(f"{NGSI}/subscriptions/{sub_id}")).json()["notification"]
        return note

    body = await asyncio.wait_for(sent_once(), 5)
    assert body["timesFailed"] == 2
    assert body["status"] == "ok"
    assert "lastFailure" in body
    assert "lastSuccess" in body


async def test_a_dead_receiver_delays_nobody_else(
    client: httpx.AsyncClient, receiver: Receiver, app: TwinApp
) -> None:
    app.state.notifier.retries = (0.2, 0.2, 0.2)
    dead = subscription(receiver)
    dead["notification"] = {"endpoint": {"uri": "http://127.0.0.1:9/nobody"}}
    dead_id = await subscribe(client, dead)
    await subscribe(client, subscription(receiver))
    await client.post(f"{NGSI}/entities", json=pump(1, speed=1), headers=LD)
    await receiver.wait_for(1, timeout=0.5)  # long before the dead one gives up

    async def dead_gave_up() -> dict[str, Any]:
        while True:
            note = (await client.get(f"{NGSI}/subscriptions/{dead_id}")).json()["notification"]
            if note["timesFailed"] == 4:
                return note
            await asyncio.sleep(0.05)

    note = await asyncio.wait_for(dead_gave_up(), 5)
    assert note["status"] == "failed"


async def test_paused_and_expired_subscriptions_are_silent(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await subscribe(client, subscription(receiver, isActive=False))
    live = await subscribe(
        client, subscription(receiver, entities=[{"type": "Pump", "id": "urn:ngsi-ld:Pump:2"}])
    )
    await client.post(f"{NGSI}/entities", json=pump(1, speed=1), headers=LD)
    await client.post(f"{NGSI}/entities", json=pump(2, speed=2), headers=LD)
    [note] = await receiver.wait_for(1)
    assert note.body["subscriptionId"] == live
    assert [e["id"] for e in receiver.entities()] == ["urn:ngsi-ld:Pump:2"]


async def test_throttling_gathers_changes_into_fewer_notifications(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await subscribe(client, subscription(receiver, throttling=0.5))
    await client.post(f"{NGSI}/entities", json=pump(1, speed=0), headers=LD)
    await receiver.wait_for(1)
    for speed in range(1, 6):
        await set_speed(client, 1, speed)
    notes = await receiver.wait_for(2)
    assert len(notes) == 2
    assert [e["speed"]["value"] for e in notes[1].body["data"]] == [1, 2, 3, 4, 5]


async def test_periodic_subscriptions_send_the_matching_entities(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await client.post(f"{NGSI}/entities", json=pump(1, speed=1), headers=LD)
    await client.post(f"{NGSI}/entities", json=pump(2, speed=2), headers=LD)
    await subscribe(client, subscription(receiver, timeInterval=0.2))
    notes = await receiver.wait_for(2)
    for note in notes[:2]:
        assert sorted(e["id"] for e in note.body["data"]) == [
            "urn:ngsi-ld:Pump:1",
            "urn:ngsi-ld:Pump:2",
        ]


async def test_geo_q_selects_by_place_and_concise_sys_attrs_shape_the_payload(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    notification = {"endpoint": {"uri": receiver.url}, "format": "concise", "sysAttrs": True}
    geo_q = {"geometry": "Point", "coordinates": "[2.17,41.38]", "georel": "near;maxDistance==1000"}
    await subscribe(client, subscription(receiver, notification=notification, geoQ=geo_q))
    far = pump(1, speed=1)
    far["location"] = {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [0, 0]}}
    near = pump(2, speed=2)
    near["location"] = {
        "type": "GeoProperty",
        "value": {"type": "Point", "coordinates": [2.171, 41.381]},
    }
    for entity in (far, near):
        assert (await client.post(f"{NGSI}/entities", json=entity, headers=LD)).status_code == 201
    [note] = await receiver.wait_for(1)
    [entity] = note.body["data"]
    assert entity["id"] == pump_id(2)
    assert entity["speed"]["value"] == 2  # concise: no "type"
    assert "type" not in entity["speed"]
    assert "createdAt" in entity
    assert "createdAt" in entity["speed"]


async def test_changes_no_subscription_concerns_are_not_queued_yet_move_its_cursor(
    app: TwinApp, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    """Telemetry of entities no subscription selects costs the notifier nothing, and an idle
    subscription's cursor still moves past it (so a restart replays none of it and the change
    log can be pruned); a change it does concern is notified."""
    sub_id = await subscribe(client, subscription(receiver))
    notifier = app.state.notifier
    skipped = notifier._bus.skipped
    valve = {"type": "Valve", "@context": CONTEXT, "mode": {"type": "Property", "value": "on"}}
    batch = [{**valve, "id": f"urn:ngsi-ld:Valve:{n}"} for n in range(50)]
    response = await client.post(f"{NGSI}/entityOperations/create", json=batch, headers=LD)
    assert response.status_code == 201, response.text
    assert notifier._bus.skipped - skipped == 50
    assert notifier._bus.waiting == 0
    last = await notifier.store.last_seq()
    await notifier.flush()
    (cursor,) = [s.cursor for (_, i), s in notifier.subscriptions.items() if i == sub_id]
    assert cursor == last
    await client.post(f"{NGSI}/entities", json=pump(1, speed=5), headers=LD)
    await receiver.wait_for(1)
    assert [e["id"] for e in receiver.entities()] == [pump_id(1)]
