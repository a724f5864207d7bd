"""End to end, on uvicorn: a device drives a twin (an MQTT device simulated by a test client;
an OPC UA server in this process), a GraphQL subscriber sees the changes over a websocket, a
sendCommand mutation reaches the device and the device's acknowledgement comes back as the
command's status (over a commandStatus subscription for the MQTT device, whose answer the test
sends; read back for the OPC UA write, which answers at once)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.adapters.opcua_server import pump_server
from tests.adapters.test_mqtt_commands import until_status
from tests.adapters.test_mqtt_ingest import until
from tests.api.graphql.test_subscriptions import Subscriber, running, subscribed
from tests.modeling.test_parser import ASSET, MOTOR, PUMP
from tests.modeling.test_twins import LINK, TANK, pump
from tests.mqtt_listener import listening, publisher
from twin_server.config import Settings

pytestmark = pytest.mark.anyio
NGSI = "/ngsi-ld/v1"
CHANGES = """subscription { twinChanged(id: "urn:ngsi-ld:Pump:1") {
  changed origin twin { ... on Pump { speed } } } }"""


async def modeled(client: httpx.AsyncClient, address: str) -> None:
    assert (await client.post("/models", json=[ASSET, MOTOR, TANK, PUMP])).status_code == 201
    link = LINK.replace("http://testserver", f"http://{address}")
    created = await client.post(f"{NGSI}/entities", json=pump(), headers={"Link": link})
    assert created.status_code == 201, created.text


async def send(client: httpx.AsyncClient, payload: float) -> str:
    mutation = """mutation($p: JSON) { sendCommand(twinId: "urn:ngsi-ld:Pump:1",
      command: "setSpeed", payload: $p) { id status } }"""
    answer = await client.post("/graphql", json={"query": mutation, "variables": {"p": payload}})
    sent = answer.json()["data"]["sendCommand"]
    assert sent["status"] == "pending"
    return str(sent["id"])


async def speed_from_device(changes: Subscriber, wanted: float) -> dict[str, Any]:
    """The subscriber's next change from the adapter with the speed the device sent."""
    while True:
        change = (await changes.next())["payload"]["data"]["twinChanged"]
        if change["origin"] == "adapter" and change["twin"]["speed"] == wanted:
            return dict(change)


async def subscribers(client: httpx.AsyncClient, count: int) -> None:
    async def live() -> bool:
        metrics = (await client.get("/metrics")).text
        line = next(x for x in metrics.splitlines() if x.startswith("twin_graphql_subscribers "))
        return float(line.split()[1]) >= count

    await until(live)


async def statuses_until(status: Subscriber, last: str) -> list[str]:
    seen: list[str] = []
    while not seen or seen[-1] != last:
        seen.append((await status.next())["payload"]["data"]["commandStatus"]["status"])
    return seen


async def test_an_mqtt_device_closes_the_loop(tmp_path: Path) -> None:
    prefix = f"test/{uuid.uuid4().hex}"
    binding = {
        "id": "mqtt-pump",
        "adapter": "mqtt",
        "connection": {"clientId": f"ts-{uuid.uuid4().hex}"},
        "source": {"topic": prefix + "/{deviceId}/state"},
        "twin": "urn:ngsi-ld:Pump:{deviceId}",
        "attributes": [{"name": "speed", "source": "/rpm", "expect": "number"}],
        "commands": [
            {
                "command": "setSpeed",
                "target": {
                    "topic": prefix + "/{deviceId}/cmd",
                    "responseTopic": prefix + "/{deviceId}/ack",
                },
            }
        ],
    }
    async with (
        running(Settings(data_dir=tmp_path)) as (address, client),
        publisher() as publish,
        listening(f"{prefix}/1/cmd") as device,
    ):
        await modeled(client, address)
        assert (await client.post("/adapters/bindings", json=binding)).status_code == 201
        async with subscribed(address, CHANGES) as changes:
            for attempt in range(200):  # the device reports until the subscriber sees it
                await publish(f"{prefix}/1/state", orjson.dumps({"rpm": 1000.0 + attempt}))
                try:
                    message = await changes.next(timeout=0.1)
                    break
                except TimeoutError:
                    continue
            assert message["payload"]["data"]["twinChanged"]["origin"] == "adapter"
            await publish(f"{prefix}/1/state", b'{"rpm": 1234.0}')
            change = await speed_from_device(changes, 1234.0)
            assert change["changed"] == ["speed"]
            execution = await send(client, 1500.0)
            query = f'subscription {{ commandStatus(executionId: "{execution}") {{ status }} }}'
            async with subscribed(address, query) as status:
                await subscribers(client, 2)  # live (with the changes one) before the answer
                (command,) = await device.wait_for(1)
                assert orjson.loads(command.payload)["payload"] == 1500.0
                ack = {"id": execution, "status": "succeeded", "response": True}
                await publish(f"{prefix}/1/ack", orjson.dumps(ack))
                seen = await statuses_until(status, "succeeded")
    assert seen[-1] == "succeeded"
    assert set(seen) <= {"delivered", "succeeded"}


async def test_an_opcua_server_closes_the_loop(tmp_path: Path) -> None:
    async with (
        pump_server(tmp_path / "opcua") as server,
        running(Settings(data_dir=tmp_path / "data")) as (address, client),
    ):
        binding = {
            "id": "opcua-pump",
            "adapter": "opcua",
            "connection": {"url": server.url, "publishingInterval": 50},
            "source": {"names": {"deviceId": "1"}, "samplingInterval": 20},
            "twin": "urn:ngsi-ld:Pump:{deviceId}",
            "attributes": [{"name": "speed", "source": "ns=2;s=Pump1.Speed"}],
            "commands": [{"command": "setSpeed", "target": {"write": "ns=2;s=Pump1.Setpoint"}}],
        }
        await modeled(client, address)
        async with subscribed(address, CHANGES) as changes:
            assert (await client.post("/adapters/bindings", json=binding)).status_code == 201
            await speed_from_device(changes, 1450.0)  # the value the server holds
            await server.speed.write_value(1321.0)
            await speed_from_device(changes, 1321.0)
        execution = await send(client, 1600.0)
        # the write answers at once (before a new subscription could be live): read the status
        done = await until_status(client, execution, "succeeded")
        assert await server.setpoint.read_value() == 1600.0
    assert done["twinId"] == "urn:ngsi-ld:Pump:1"
