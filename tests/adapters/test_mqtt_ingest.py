"""MQTT devices update twins through the real Mosquitto: JSON payloads by mapping and the IoT
Agent JSON convention; bad messages are counted and rejected without touching the twin."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.mqtt_listener import publisher
from twin_server.app import TwinApp

pytestmark = pytest.mark.anyio
NGSI = "/ngsi-ld/v1"
CONTEXT = {"ex": "https://example.org/", "Pump": "ex:Pump", "speed": "ex:speed"}


def binding(prefix: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"pumps-{prefix.rsplit('/', 1)[-1][:8]}",
        "adapter": "mqtt",
        "connection": {"url": "mqtt://127.0.0.1:1883", "clientId": f"ts-{uuid.uuid4().hex}"},
        "source": {"topic": prefix + "/{deviceId}/state"},
        "twin": "urn:ngsi-ld:Pump:{deviceId}",
        "type": "Pump",
        "attributes": [
            {"name": "speed", "source": "/rpm", "expect": "number", "minimum": 0, "maximum": 5000},
            {"name": "temperature", "source": "/t", "scale": 0.1, "unitCode": "CEL"},
            {"name": "status", "source": "/state/label", "expect": "string"},
        ],
        **extra,
    }


async def until(check: Callable[[], Awaitable[Any]], timeout: float = 10.0) -> Any:
    """Poll ``check`` until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await check()
        if found:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.05)


async def entity(client: httpx.AsyncClient, twin_id: str, **params: str) -> Any:
    response = await client.get(f"{NGSI}/entities/{twin_id}", params=params)
    return response.json() if response.status_code == 200 else None


async def live(client: httpx.AsyncClient, publish: Any, topic: str, body: bytes) -> None:
    """Publish until the adapter's subscription is in place and the message is committed."""

    async def arrived() -> Any:
        await publish(topic, body)
        await asyncio.sleep(0.05)
        return await entity(client, "urn:ngsi-ld:Pump:warmup")

    await until(arrived)


async def test_json_messages_update_and_create_twins_with_converted_values(
    client: httpx.AsyncClient,
) -> None:
    prefix = f"test/{uuid.uuid4().hex}"
    created = await client.post("/adapters/bindings", json=binding(prefix))
    assert created.status_code == 201, created.text
    async with publisher() as publish:
        await live(client, publish, f"{prefix}/warmup/state", b'{"rpm": 1}')
        body = b'{"rpm": 1450.5, "t": 612, "state": {"label": "running"}, "extra": 1}'
        await publish(f"{prefix}/7/state", body)
        twin = await until(lambda: entity(client, "urn:ngsi-ld:Pump:7"))
    speed = twin["speed"]
    assert speed["value"] == 1450.5
    assert "observedAt" in speed
    temperature = twin["temperature"]
    assert temperature["value"] == pytest.approx(61.2)
    assert temperature["unitCode"] == "CEL"
    assert twin["status"]["value"] == "running"
    assert twin["type"] == "Pump"

    async def counted() -> Any:  # the counters follow the commit by a moment
        adapters = (await client.get("/adapters")).json()
        mqtt = next(a for a in adapters if a["name"] == "mqtt")
        return mqtt if mqtt["committed"] >= 2 else None

    mqtt = await until(counted)
    assert all(c["connected"] for c in mqtt["connections"])


async def test_bad_messages_are_counted_and_leave_the_twin_alone(
    client: httpx.AsyncClient,
) -> None:
    prefix = f"test/{uuid.uuid4().hex}"
    assert (await client.post("/adapters/bindings", json=binding(prefix))).status_code == 201
    async with publisher() as publish:
        await live(client, publish, f"{prefix}/warmup/state", b'{"rpm": 1}')
        await publish(f"{prefix}/8/state", b'{"rpm": 100}')
        await until(lambda: entity(client, "urn:ngsi-ld:Pump:8"))
        before = await entity(client, "urn:ngsi-ld:Pump:8")
        refused = (await client.get("/adapters")).json()[0]["rejected"]
        bad = [
            b"not json",
            b'["a", "list"]',
            b'{"rpm": "fast"}',  # wrong type
            b'{"rpm": 99999}',  # above the maximum
            b'{"t": "hot"}',  # scaled, but not a number
            b'{"nothing": "mapped"}',
            b'{"state": {"label": 5}}',
            b"\xff\xfe",
        ]
        for payload in bad:
            await publish(f"{prefix}/8/state", payload)
        await publish(f"{prefix}/8/state", b'{"rpm": 200}')  # a good one after them

        async def good_arrived() -> Any:
            twin = await entity(client, "urn:ngsi-ld:Pump:8")
            return twin["speed"]["value"] == 200

        await until(good_arrived)
    after = (await client.get("/adapters")).json()[0]
    assert after["rejected"] - refused == len(bad)
    history = await client.get(
        f"{NGSI}/temporal/entities/urn:ngsi-ld:Pump:8", params={"options": "temporalValues"}
    )
    values = [v[0] for v in history.json()["speed"]["values"]]
    assert values == [100, 200]  # none of the bad messages reached the twin
    assert before["speed"]["value"] == 100


async def test_the_iot_agent_json_convention_works_for_existing_devices(
    client: httpx.AsyncClient,
) -> None:
    apikey = uuid.uuid4().hex[:10]
    iota = {
        "id": f"iota-{apikey}",
        "adapter": "mqtt",
        "connection": {"clientId": f"ts-{uuid.uuid4().hex}", "version": "3.1.1"},
        "source": {"format": "iota-json", "apikey": apikey},
        "twin": "urn:ngsi-ld:Pump:{deviceId}",
        "type": "Pump",
        "attributes": [
            {"name": "speed", "source": "/s"},
            {"name": "status", "source": "/st"},
        ],
    }
    assert (await client.post("/adapters/bindings", json=iota)).status_code == 201
    async with publisher() as publish:

        async def arrived() -> Any:
            await publish(f"/{apikey}/warmup/attrs", b'{"s": 1}')
            await asyncio.sleep(0.05)
            return await entity(client, "urn:ngsi-ld:Pump:warmup")

        await until(arrived)
        await publish(f"/{apikey}/p9/attrs", b'{"s": 900, "st": "ok"}')
        await publish(f"/json/{apikey}/p9/attrs/st", b"overheating")  # one attribute, as text

        async def both() -> Any:
            twin = await entity(client, "urn:ngsi-ld:Pump:p9", options="keyValues")
            return twin if twin and twin.get("status") == "overheating" else None

        twin = await both() or await until(both)
    assert twin["speed"] == 900


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"adapter": "carrier-pigeon"}, "no adapter 'carrier-pigeon'"),
        ({"twin": "Pump-{deviceId}"}, "not a URI template"),
        ({"twin": "urn:ngsi-ld:Pump:{serial}"}, "['serial'], which the source does not name"),
        ({"source": {"topic": "plant/+/state"}}, "not MQTT wildcards"),
        ({"source": {"topic": "plant/pump-{deviceId}"}}, "fills a whole level"),
        ({"source": {"format": "iota-json"}}, "apikey"),
        ({"connection": {"url": "http://broker"}}, "not mqtt[s]://host"),
        ({"connection": {"tls": True}}, "unknown settings ['tls']"),
        ({"attributes": [{"name": "a"}, {"name": "a"}]}, "mapped twice"),
        ({"attributes": [{"name": "a", "scale": "x"}]}, "attributes.0.scale"),
        ({"colour": "blue"}, "colour: Extra inputs are not permitted"),
        ({"expectedInterval": -1}, "expectedInterval"),
        (
            {"commands": [{"command": "stop", "target": {"topic": "cmd/{unknown}"}}]},
            "which the twin id does not name",
        ),
    ],
)
async def test_a_bad_binding_is_refused_with_its_reason_and_nothing_changes(
    client: httpx.AsyncClient, app: TwinApp, change: dict[str, Any], reason: str
) -> None:
    bad = binding(f"test/{uuid.uuid4().hex}") | change
    response = await client.post("/adapters/bindings", json=bad)
    assert response.status_code == 400, response.text
    assert reason in response.json()["error"]["message"]
    assert (await client.get("/adapters/bindings")).json() == []
    assert await app.state.services.graph.store.list_documents("adapter-binding") == []


async def test_a_device_with_no_twin_is_refused_when_the_binding_creates_none(
    client: httpx.AsyncClient,
) -> None:
    prefix = f"test/{uuid.uuid4().hex}"
    bound = binding(prefix)
    del bound["type"]  # this binding updates existing twins only
    assert (await client.post("/adapters/bindings", json=bound)).status_code == 201
    known = {"id": "urn:ngsi-ld:Pump:known", "type": "Pump"}
    assert (await client.post(f"{NGSI}/entities", json=known)).status_code == 201
    async with publisher() as publish:

        async def arrived() -> Any:
            await publish(f"{prefix}/known/state", b'{"rpm": 5}')
            await asyncio.sleep(0.05)
            twin = await entity(client, "urn:ngsi-ld:Pump:known", options="keyValues")
            return twin if twin.get("speed") == 5 else None

        await until(arrived)
        await publish(f"{prefix}/stranger/state", b'{"rpm": 6}')

        async def refused() -> Any:
            mqtt = (await client.get("/adapters")).json()[0]
            return mqtt if mqtt["rejected"] >= 1 else None

        await until(refused)
    assert await entity(client, "urn:ngsi-ld:Pump:stranger") is None


def test_a_flood_of_rejections_is_logged_once_a_second(caplog: pytest.LogCaptureFixture) -> None:
    from twin_server.adapters.throttle import LogThrottle

    throttle = LogThrottle(every=60)
    with caplog.at_level("WARNING", logger="twin_server.adapters"):
        for n in range(500):
            throttle.warn("plant/p1/state", "rejected %d", n)
        throttle.warn("plant/p2/state", "other source")
    assert [r.getMessage() for r in caplog.records] == ["rejected 0", "other source"]


async def test_a_worker_process_that_dies_is_started_again(
    client: httpx.AsyncClient, app: TwinApp
) -> None:
    prefix = f"test/{uuid.uuid4().hex}"
    assert (await client.post("/adapters/bindings", json=binding(prefix))).status_code == 201
    async with publisher() as publish:
        await live(client, publish, f"{prefix}/warmup/state", b'{"rpm": 1}')
        (connection,) = app.state.adapters.adapters["mqtt"].connections.values()
        connection._process.kill()  # the worker dies (a crash, the OOM killer)

        async def restarted() -> Any:
            adapters = (await client.get("/adapters")).json()
            found = next(a for a in adapters if a["name"] == "mqtt")["connections"][0]
            return found if found["workerRestarts"] == 1 and found["connected"] else None

        await until(restarted, timeout=15)

        async def again() -> Any:
            await publish(f"{prefix}/9/state", b'{"rpm": 900}')
            await asyncio.sleep(0.05)
            return await entity(client, "urn:ngsi-ld:Pump:9")

        twin = await until(again)
    assert twin["speed"]["value"] == 900
