"""The OPC UA adapter against a real asyncua server in this process: data changes update the
twin (source timestamps, deadband), bad quality flags instead of writing, commands become node
writes and method calls, security policies and users, reconnection, browsing."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from asyncua import ua

from tests.adapters.opcua_server import NS_URI, PumpServer, pump_server
from tests.adapters.test_mqtt_commands import modeled_pump, until_status
from tests.adapters.test_mqtt_ingest import entity, until

pytestmark = pytest.mark.anyio
NS = "https://twinserver.dev/ns/"


def opcua_binding(server: PumpServer, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"opcua-{uuid.uuid4().hex[:8]}",
        "adapter": "opcua",
        "connection": {"url": server.url, "publishingInterval": 50},
        "source": {"names": {"deviceId": "P1"}, "samplingInterval": 20},
        "twin": "urn:ngsi-ld:Pump:{deviceId}",
        "type": "Pump",
        "attributes": [
            {"name": "speed", "source": "ns=2;s=Pump1.Speed", "unitCode": "RPM"},
            {"name": "temperature", "source": "/2:Pump1/2:Temperature"},
            {"name": "status", "source": "ns=2;s=Pump1.Status", "expect": "string"},
        ],
        **extra,
    }


async def twin_value(client: httpx.AsyncClient, name: str) -> Any:
    found = await entity(client, "urn:ngsi-ld:Pump:P1", options="keyValues")
    return found.get(name) if found else None


async def until_value(
    client: httpx.AsyncClient, name: str, wanted: Any, timeout: float = 10.0
) -> None:
    async def reached() -> bool:
        return bool(await twin_value(client, name) == wanted)

    await until(reached, timeout)


@pytest.fixture
async def server(tmp_path: Path) -> Any:
    async with pump_server(tmp_path) as running:
        assert (await running.server.get_namespace_index(NS_URI)) == 2
        yield running


async def test_data_changes_update_the_twin_with_their_source_timestamps(
    client: httpx.AsyncClient, server: PumpServer
) -> None:
    assert (await client.post("/adapters/bindings", json=opcua_binding(server))).status_code == 201
    await until_value(client, "speed", 1450.0)
    await until_value(client, "temperature", 20.0)  # found by its browse path
    stamp = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
    value = ua.DataValue(ua.Variant(1500.0, ua.VariantType.Double), SourceTimestamp=stamp)
    await server.speed.write_value(value)
    await until_value(client, "speed", 1500.0)
    twin = await entity(client, "urn:ngsi-ld:Pump:P1")
    assert twin["speed"]["observedAt"] == "2026-12-01T08:30:00.000000Z"
    assert twin["speed"]["unitCode"] == "RPM"
    adapters = (await client.get("/adapters")).json()
    opcua = next(a for a in adapters if a["name"] == "opcua")
    assert opcua["connections"][0]["connected"] is True
    assert opcua["connections"][0]["monitoredItems"] == 3


async def test_a_deadband_holds_back_small_changes(
    client: httpx.AsyncClient, server: PumpServer
) -> None:
    bound = opcua_binding(server)
    bound["source"]["items"] = {"speed": {"deadband": 10.0}}
    assert (await client.post("/adapters/bindings", json=bound)).status_code == 201
    await until_value(client, "speed", 1450.0)
    await server.speed.write_value(1455.0)  # within the deadband: not reported
    await server.status.write_value("running")  # a marker that goes through
    await until_value(client, "status", "running")
    await asyncio.sleep(0.2)
    assert await twin_value(client, "speed") == 1450.0
    await server.speed.write_value(1480.0)
    await until_value(client, "speed", 1480.0)


async def test_bad_quality_flags_the_attribute_and_keeps_its_value(
    client: httpx.AsyncClient, server: PumpServer
) -> None:
    assert (await client.post("/adapters/bindings", json=opcua_binding(server))).status_code == 201
    await until_value(client, "speed", 1450.0)
    bad = ua.DataValue(
        ua.Variant(-1.0, ua.VariantType.Double),
        StatusCode=ua.StatusCode(ua.StatusCodes.BadSensorFailure),
    )
    await server.speed.write_value(bad)

    async def flagged() -> Any:
        quality = await twin_value(client, NS + "quality")
        return quality if quality and "speed" in quality else None

    quality = await until(flagged)
    assert "BadSensorFailure" in quality["speed"]
    assert await twin_value(client, "speed") == 1450.0  # not the bad value
    await server.speed.write_value(1490.0)
    await until_value(client, "speed", 1490.0)
    assert await twin_value(client, NS + "quality") == {}  # a good value clears the flag


async def test_commands_become_node_writes_and_method_calls(
    client: httpx.AsyncClient, server: PumpServer
) -> None:
    await modeled_pump(client)  # urn:ngsi-ld:Pump:1 of the Pump model, with setSpeed
    bound = {
        "id": "opcua-commands",
        "adapter": "opcua",
        "connection": {"url": server.url},
        "source": {"names": {"deviceId": "1"}},
        "twin": "urn:ngsi-ld:Pump:{deviceId}",
        "attributes": [],
        "commands": [{"command": "setSpeed", "target": {"write": "ns=2;s=Pump1.Setpoint"}}],
    }
    assert (await client.post("/adapters/bindings", json=bound)).status_code == 201

    async def up() -> bool:
        adapters = (await client.get("/adapters")).json()
        opcua = next(a for a in adapters if a["name"] == "opcua")
        return bool(opcua["connections"]) and opcua["connections"][0]["connected"]

    await until(up)
    body = {"twinId": "urn:ngsi-ld:Pump:1", "command": "setSpeed", "payload": 1234.5}
    execution = (await client.post("/commands", json=body)).json()["id"]
    await until_status(client, execution, "succeeded")
    assert await server.setpoint.read_value() == 1234.5
    # the same command as a method call
    bound["commands"] = [
        {
            "command": "setSpeed",
            "target": {"method": "ns=2;s=Pump1.Reset", "object": "ns=2;s=Pump1"},
        }
    ]
    assert (await client.put("/adapters/bindings/opcua-commands", json=bound)).status_code == 200
    await until(up)
    execution = (await client.post("/commands", json=body)).json()["id"]
    done = await until_status(client, execution, "succeeded")
    assert done["response"] is True
    assert server.reset_calls == [[1234.5]]
    # a write the server refuses fails with its status
    bound["commands"] = [{"command": "setSpeed", "target": {"write": "ns=2;s=Pump1.Speed"}}]
    assert (await client.put("/adapters/bindings/opcua-commands", json=bound)).status_code == 200
    await until(up)
    execution = (await client.post("/commands", json=body)).json()["id"]
    failed = await until_status(client, execution, "failed")
    assert "BadUserAccessDenied" in failed["response"]["error"]


@pytest.mark.parametrize("mode", ["Sign", "SignAndEncrypt"])
async def test_basic256sha256_with_a_client_certificate_and_a_user(
    client: httpx.AsyncClient, server: PumpServer, mode: str
) -> None:
    bound = opcua_binding(server)
    bound["connection"] |= {
        "securityPolicy": "Basic256Sha256",
        "securityMode": mode,
        "certificate": str(server.client_cert),
        "privateKey": str(server.client_key),
        "serverCertificate": str(server.server_cert),
        "username": "operator",
        "password": "pw",
    }
    assert (await client.post("/adapters/bindings", json=bound)).status_code == 201
    await server.speed.write_value(1600.0)
    await until_value(client, "speed", 1600.0)


async def test_a_refused_user_is_a_reported_connection_error(
    client: httpx.AsyncClient, server: PumpServer
) -> None:
    bound = opcua_binding(server)
    bound["connection"] |= {"username": "operator", "password": "wrong"}
    assert (await client.post("/adapters/bindings", json=bound)).status_code == 201

    async def reported() -> Any:
        adapters = (await client.get("/adapters")).json()
        connections = next(a for a in adapters if a["name"] == "opcua")["connections"]
        return connections[0] if connections and connections[0]["error"] else None

    connection = await until(reported)
    assert connection["connected"] is False
    assert await entity(client, "urn:ngsi-ld:Pump:P1") is None


async def test_the_adapter_reconnects_and_monitors_again(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    port = None
    async with pump_server(tmp_path / "one") as first:
        port = int(first.url.rsplit(":", 1)[1].split("/")[0])
        assert (
            await client.post("/adapters/bindings", json=opcua_binding(first))
        ).status_code == 201
        await until_value(client, "speed", 1450.0)

    async def down() -> bool:
        adapters = (await client.get("/adapters")).json()
        connections = next(a for a in adapters if a["name"] == "opcua")["connections"]
        return not connections[0]["connected"]

    await until(down)
    async with pump_server(tmp_path / "two", port=port) as second:
        await second.speed.write_value(1700.0)
        await until_value(client, "speed", 1700.0, timeout=20)  # backoff: 1, 2, 4 s…


async def test_browsing_a_server_proposes_a_binding(
    client: httpx.AsyncClient, server: PumpServer
) -> None:
    response = await client.post(
        "/adapters/opcua/browse", json={"connection": {"url": server.url}, "depth": 2}
    )
    assert response.status_code == 200, response.text
    found = response.json()
    by_path = {v["browsePath"]: v for v in found["variables"]}
    speed = by_path["/2:Pump1/2:Speed"]
    assert speed["nodeId"] == "ns=2;s=Pump1.Speed"
    assert speed["dataType"] == "Double"
    assert by_path["/2:Pump1/2:Setpoint"]["writable"] is True
    assert any(m["nodeId"] == "ns=2;s=Pump1.Reset" for m in found["methods"])
    proposal = found["binding"]
    assert {"name": "Speed", "source": "ns=2;s=Pump1.Speed"} in proposal["attributes"]
    unreachable = await client.post(
        "/adapters/opcua/browse", json={"connection": {"url": "opc.tcp://127.0.0.1:1/x"}}
    )
    assert unreachable.status_code == 400
    assert "browsing failed" in unreachable.json()["error"]["message"]
    assert (await client.post("/adapters/mqtt/browse", json={"connection": {}})).status_code == 400


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"connection": {"url": "http://x"}}, "not opc.tcp://"),
        (
            {"connection": {"url": "opc.tcp://h:1", "securityPolicy": "Basic256Sha256"}},
            "needs a client certificate",
        ),
        ({"attributes": [{"name": "speed", "source": "Pump1.Speed"}]}, "neither a node id"),
        ({"attributes": [{"name": "speed"}]}, "source is the node id"),
        ({"commands": [{"command": "go", "target": {"method": "ns=2;s=M"}}]}, "names its object"),
        ({"twin": "urn:ngsi-ld:Pump:{serial}"}, "which the source does not name"),
    ],
)
async def test_a_bad_opcua_binding_is_refused(
    client: httpx.AsyncClient, tmp_path: Path, change: dict[str, Any], reason: str
) -> None:
    bound = {
        "id": "bad",
        "adapter": "opcua",
        "connection": {"url": "opc.tcp://127.0.0.1:4840"},
        "source": {"names": {"deviceId": "P1"}},
        "twin": "urn:ngsi-ld:Pump:{deviceId}",
        "attributes": [{"name": "speed", "source": "ns=2;s=Pump1.Speed"}],
    } | change
    response = await client.post("/adapters/bindings", json=bound)
    assert response.status_code == 400, response.text
    assert reason in response.json()["error"]["message"]


async def test_a_value_the_twin_cannot_hold_is_rejected(
    client: httpx.AsyncClient, server: PumpServer
) -> None:
    bound = opcua_binding(server)
    bound["attributes"].append({"name": "raw", "source": "ns=2;s=Pump1.Raw"})
    assert (await client.post("/adapters/bindings", json=bound)).status_code == 201
    await until_value(client, "status", "idle")

    async def refused() -> Any:
        adapters = (await client.get("/adapters")).json()
        opcua = next(a for a in adapters if a["name"] == "opcua")
        return opcua if opcua["rejected"] >= 1 else None

    await until(refused)
    assert await twin_value(client, "raw") is None  # the rest of the device goes on
