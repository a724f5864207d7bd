"""Closed loop over MQTT (real Mosquitto): a sendCommand mutation reaches a simulated device,
whose answer comes back as command status; commands wait for disconnected devices up to their
ttl, time out without an answer, fail without a route; manual mode refuses rules only."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import orjson
import pytest

from tests.adapters.test_mqtt_ingest import until
from tests.api.graphql.conftest import GraphQL
from tests.modeling.test_parser import ASSET, MOTOR, PUMP
from tests.modeling.test_twins import LINK, TANK, pump
from tests.mqtt_listener import listening, publisher
from twin_server.app import TwinApp

pytestmark = pytest.mark.anyio
NGSI = "/ngsi-ld/v1"
SEND = """mutation($payload: JSON) {
  sendCommand(twinId: "urn:ngsi-ld:Pump:1", command: "setSpeed", payload: $payload) {
    id status } }"""


async def modeled_pump(client: httpx.AsyncClient) -> None:
    assert (await client.post("/models", json=[ASSET, MOTOR, TANK, PUMP])).status_code == 201
    created = await client.post(f"{NGSI}/entities", json=pump(), headers={"Link": LINK})
    assert created.status_code == 201, created.text


def command_binding(prefix: str, **command: Any) -> dict[str, Any]:
    return {
        "id": f"cmd-{uuid.uuid4().hex[:8]}",
        "adapter": "mqtt",
        "connection": {"clientId": f"ts-{uuid.uuid4().hex}"},
        "source": {"topic": prefix + "/{deviceId}/state"},
        "twin": "urn:ngsi-ld:Pump:{deviceId}",
        "attributes": [{"name": "speed"}],
        "commands": [
            {
                "command": "setSpeed",
                "target": {
                    "topic": prefix + "/{deviceId}/cmd",
                    "responseTopic": prefix + "/{deviceId}/cmdexe",
                },
                **command,
            }
        ],
    }


async def bound_pump(client: httpx.AsyncClient) -> str:
    """The modeled pump, bound (with its setSpeed command) and connected; the topic prefix."""
    await modeled_pump(client)
    prefix = f"test/{uuid.uuid4().hex}"
    response = await client.post("/adapters/bindings", json=command_binding(prefix))
    assert response.status_code == 201, response.text
    await connected(client)
    return prefix


async def status(client: httpx.AsyncClient, execution: str) -> str:
    return str((await client.get(f"/commands/{execution}")).json()["status"])


async def until_status(client: httpx.AsyncClient, execution: str, wanted: str) -> dict[str, Any]:
    async def reached() -> Any:
        body = (await client.get(f"/commands/{execution}")).json()
        return body if body["status"] == wanted else None

    found: dict[str, Any] = await until(reached)
    return found


async def connected(client: httpx.AsyncClient) -> None:
    async def up() -> bool:
        adapters = (await client.get("/adapters")).json()
        connections = next(a for a in adapters if a["name"] == "mqtt")["connections"]
        return bool(connections) and all(c["connected"] for c in connections)

    await until(up)


async def test_a_graphql_command_reaches_the_device_and_its_answer_is_the_status(
    client: httpx.AsyncClient, gql: GraphQL
) -> None:
    prefix = await bound_pump(client)
    async with listening(f"{prefix}/1/cmd") as device, publisher() as publish:
        sent = (await gql.data(SEND, {"payload": 1500.0}))["sendCommand"]
        assert sent["status"] == "pending"
        (message,) = await device.wait_for(1)
        command = orjson.loads(message.payload)
        assert command == {"id": sent["id"], "command": "setSpeed", "payload": 1500.0}
        await until_status(client, sent["id"], "delivered")
        answer = {"id": sent["id"], "status": "succeeded", "response": True}
        await publish(f"{prefix}/1/cmdexe", orjson.dumps(answer))
        done = await until_status(client, sent["id"], "succeeded")
    assert done["response"] is True
    assert done["twinId"] == "urn:ngsi-ld:Pump:1"
    # a bad request schema is refused before anything is recorded or sent
    bad = await gql(SEND, {"payload": "fast"})
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_iot_agent_json_commands_use_cmd_and_cmdexe(client: httpx.AsyncClient) -> None:
    await modeled_pump(client)
    apikey = uuid.uuid4().hex[:10]
    iota = {
        "id": f"iota-{apikey}",
        "adapter": "mqtt",
        "connection": {"clientId": f"ts-{uuid.uuid4().hex}"},
        "source": {"format": "iota-json", "apikey": apikey},
        "twin": "urn:ngsi-ld:Pump:{deviceId}",
        "attributes": [{"name": "speed", "source": "/s"}],
        "commands": [{"command": "setSpeed"}],
    }
    assert (await client.post("/adapters/bindings", json=iota)).status_code == 201
    await connected(client)
    async with listening(f"/{apikey}/1/cmd") as device, publisher() as publish:
        body = {"twinId": "urn:ngsi-ld:Pump:1", "command": "setSpeed", "payload": 900.0}
        response = await client.post("/commands", json=body)
        assert response.status_code == 201, response.text
        execution = response.json()["id"]
        (message,) = await device.wait_for(1)
        assert orjson.loads(message.payload) == {"setSpeed": 900.0}
        await until_status(client, execution, "delivered")
        await publish(f"/{apikey}/1/cmdexe", b'{"setSpeed": true}')
        done = await until_status(client, execution, "succeeded")
    assert done["response"] is True


async def test_a_command_waits_for_an_unreachable_device_until_its_ttl(
    client: httpx.AsyncClient, app: TwinApp
) -> None:
    await modeled_pump(client)
    app.state.adapters.router.retry = 0.1
    binding = command_binding(f"test/{uuid.uuid4().hex}", ttl=3.0)
    binding["connection"]["url"] = "mqtt://127.0.0.1:1"  # nothing listens there
    assert (await client.post("/adapters/bindings", json=binding)).status_code == 201
    body = {"twinId": "urn:ngsi-ld:Pump:1", "command": "setSpeed", "payload": 1.0}
    execution = (await client.post("/commands", json=body)).json()["id"]
    await asyncio.sleep(0.5)
    assert await status(client, execution) == "pending"  # waiting, not lost
    done = await until_status(client, execution, "timed-out")
    assert "ttl" in done["response"]["error"]


async def test_a_delivered_command_without_an_answer_times_out(
    client: httpx.AsyncClient, app: TwinApp
) -> None:
    await modeled_pump(client)
    app.state.adapters.router.retry = 0.1
    prefix = f"test/{uuid.uuid4().hex}"
    binding = command_binding(prefix, timeout=0.5)
    assert (await client.post("/adapters/bindings", json=binding)).status_code == 201
    await connected(client)
    body = {"twinId": "urn:ngsi-ld:Pump:1", "command": "setSpeed", "payload": 2.0}
    execution = (await client.post("/commands", json=body)).json()["id"]
    done = await until_status(client, execution, "timed-out")
    assert done["response"] == {"error": "no answer"}


async def test_a_command_no_binding_routes_fails_and_says_why(client: httpx.AsyncClient) -> None:
    await modeled_pump(client)
    body = {"twinId": "urn:ngsi-ld:Pump:1", "command": "setSpeed", "payload": 3.0}
    execution = (await client.post("/commands", json=body)).json()["id"]
    done = await until_status(client, execution, "failed")
    assert "no binding routes command setSpeed" in done["response"]["error"]


async def test_manual_mode_refuses_rules_and_lets_operators_through(
    client: httpx.AsyncClient, app: TwinApp, gql: GraphQL
) -> None:
    prefix = await bound_pump(client)
    held = await client.put(
        "/twins/urn:ngsi-ld:Pump:1/manualMode", json={"manual": True, "by": "ana"}
    )
    assert held.json() == {"twinId": "urn:ngsi-ld:Pump:1", "manual": True}
    commands = app.state.services.commands
    async with listening(f"{prefix}/1/cmd") as device:
        refused = await commands.send("", "urn:ngsi-ld:Pump:1", "setSpeed", 10.0, origin="rule")
        operator = (await gql.data(SEND, {"payload": 20.0}))["sendCommand"]
        (message,) = await device.wait_for(1)
        assert orjson.loads(message.payload)["id"] == operator["id"]  # only the operator's
    refused_view = (await client.get(f"/commands/{refused['id']}")).json()
    assert refused_view["status"] == "refused"
    assert "manual mode" in refused_view["response"]["error"]
    assert refused_view["issuedBy"] == "rule"
    released = await gql.data(
        'mutation { setManualMode(twinId: "urn:ngsi-ld:Pump:1", manual: false) { id } }'
    )
    assert released["setManualMode"]["id"] == "urn:ngsi-ld:Pump:1"
    again = await commands.send("", "urn:ngsi-ld:Pump:1", "setSpeed", 30.0, origin="rule")
    assert again["attrs"]["https://twinserver.dev/ns/status"][0]["value"] == "pending"
