"""GraphQL subscriptions over a real websocket (graphql-transport-ws) against uvicorn: changes
arrive in commit order; a subscriber that falls behind is dropped with a coded error."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import websockets

from tests.modeling.test_parser import ASSET, MOTOR, PUMP
from tests.modeling.test_twins import LINK, TANK
from tests.modeling.test_twins import pump as modeled_pump
from tests.server import free_port, in_loop
from twin_server.app import create_app
from twin_server.config import Settings
from twin_server.http_protocol import uvicorn_options
from twin_server.modeling.files import read_sources

pytestmark = pytest.mark.anyio
NGSI = "/ngsi-ld/v1"
EXAMPLES = Path(__file__).resolve().parents[3] / "dtdl"


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[str]:
    """The whole server on uvicorn, on a free local port, in this event loop."""
    port = free_port()
    options = {
        **uvicorn_options(settings),
        "host": "127.0.0.1",
        "port": port,
        "log_level": "warning",
    }
    async with in_loop(uvicorn.Config(create_app(settings), **options)):
        yield f"127.0.0.1:{port}"


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[tuple[str, httpx.AsyncClient]]:
    """The server, and an HTTP client of it."""
    async with (
        serving(settings) as address,
        httpx.AsyncClient(base_url=f"http://{address}") as client,
    ):
        yield address, client


class Subscriber:
    def __init__(self, ws: Any) -> None:
        self.ws = ws

    async def next(self, timeout: float = 10) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        return message


@asynccontextmanager
async def subscribed(address: str, query: str) -> AsyncIterator[Subscriber]:
    async with websockets.connect(
        f"ws://{address}/graphql", subprotocols=["graphql-transport-ws"]
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        yield Subscriber(ws)


async def pump(client: httpx.AsyncClient, n: int, speed: int) -> None:
    body = [
        {
            "id": f"urn:ngsi-ld:Pump:{n}",
            "type": "Pump",
            "speed": {"type": "Property", "value": speed},
        }
    ]
    response = await client.post(f"{NGSI}/entityOperations/upsert", json=body)
    assert response.status_code in (201, 204), response.text


async def until_live(
    client: httpx.AsyncClient,
    subscriber: Subscriber,
    write: Callable[[int], Awaitable[Any]] | None = None,
) -> None:
    """Write a marker twin (pump 0, or ``write(attempt)``) until the subscription reports it:
    from then on nothing is missed."""
    for attempt in range(100):
        await (write(attempt) if write is not None else pump(client, 0, attempt))
        try:
            message = await subscriber.next(timeout=0.1)
        except TimeoutError:
            continue
        assert message["type"] == "next", message
        return
    raise AssertionError("the subscription never became live")


async def test_twin_changes_arrive_in_commit_order(tmp_path: Path) -> None:
    query = (
        'subscription { twinChanged(type: "Pump") { kind twinId seq changed twin { properties } } }'
    )
    async with (
        running(Settings(data_dir=tmp_path)) as (address, client),
        subscribed(address, query) as subscriber,
    ):
        await until_live(client, subscriber)
        for speed in range(20):
            await pump(client, 1, speed)
        response = await client.delete(f"{NGSI}/entities/urn:ngsi-ld:Pump:1")
        assert response.status_code == 204
        changes = []
        while len(changes) < 21:
            message = await subscriber.next()
            change = message["payload"]["data"]["twinChanged"]
            if change["twinId"] == "urn:ngsi-ld:Pump:1":
                changes.append(change)
    assert [c["kind"] for c in changes] == ["CREATED"] + ["UPDATED"] * 19 + ["DELETED"]
    seqs = [c["seq"] for c in changes]
    assert seqs == sorted(seqs)
    assert [c["twin"]["properties"]["speed"] for c in changes[:-1]] == list(range(20))
    assert changes[-1]["twin"] is None
    assert changes[1]["changed"] == ["speed"]


async def test_attribute_changes_carry_the_previous_value(tmp_path: Path) -> None:
    query = (
        'subscription { attributeChanged(twinId: "urn:ngsi-ld:Pump:0", name: "speed") '
        "{ value previous seq } }"
    )
    async with (
        running(Settings(data_dir=tmp_path)) as (address, client),
        subscribed(address, query) as subscriber,
    ):
        await until_live(client, subscriber)
        await pump(client, 0, 500)
        while True:
            change = (await subscriber.next())["payload"]["data"]["attributeChanged"]
            if change["value"] == 500:
                break
    assert change["previous"] is not None
    assert change["previous"] != 500


async def test_a_subscriber_that_falls_behind_is_dropped_with_a_reason(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, graphql_subscriber_queue=5)
    query = "subscription { twinChanged { twinId } }"
    async with running(settings) as (address, client):
        async with subscribed(address, query) as subscriber:
            await until_live(client, subscriber)
            # 50 events published at once: more than the subscriber may queue
            burst = [{"id": f"urn:ngsi-ld:Pump:b{n}", "type": "Pump"} for n in range(50)]
            response = await client.post(f"{NGSI}/entityOperations/upsert", json=burst)
            assert response.status_code == 201, response.text
            message = await subscriber.next()
            while message["type"] == "next" and "errors" not in message["payload"]:
                message = await subscriber.next()
        async with subscribed(address, query) as again:  # the server and others go on
            await until_live(client, again)
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "SUBSCRIBER_TOO_SLOW"
    assert "dropped" in errors[0]["message"]


async def test_command_status_changes_reach_the_subscriber(tmp_path: Path) -> None:
    documents = [json.loads(text) for _, text in read_sources([EXAMPLES])]
    async with running(Settings(data_dir=tmp_path)) as (address, client):
        assert (await client.post("/models", json=documents)).status_code == 201
        context = f"http://{address}/ngsi-ld/v1/jsonldContexts/dtmi:twinserver:example:Pump;1"
        link = f'<{context}>; rel="http://www.w3.org/ns/json-ld#context"'
        pump_twin = {"id": "urn:ngsi-ld:Pump:P1", "type": "Pump", "speed": {"value": 1.0}}
        created = await client.post(f"{NGSI}/entities", json=pump_twin, headers={"Link": link})
        assert created.status_code == 201, created.text
        sent = await client.post(
            "/graphql",
            json={
                "query": 'mutation { sendCommand(twinId: "urn:ngsi-ld:Pump:P1", '
                'command: "setSpeed", payload: 1200) { id } }'
            },
        )
        execution = sent.json()["data"]["sendCommand"]["id"]
        query = f'subscription {{ commandStatus(executionId: "{execution}") {{ status }} }}'
        async with subscribed(address, query) as subscriber:
            statuses: list[str] = []
            for attempt in range(100):  # until the subscription is live
                await set_status(client, execution, "delivered" if attempt % 2 else "pending")
                try:
                    await subscriber.next(timeout=0.1)
                    break
                except TimeoutError:
                    continue
            await set_status(client, execution, "succeeded")
            while "succeeded" not in statuses:
                message = await subscriber.next()
                statuses.append(message["payload"]["data"]["commandStatus"]["status"])
    assert statuses[-1] == "succeeded"


async def set_status(client: httpx.AsyncClient, execution: str, status: str) -> None:
    body = {"https://twinserver.dev/ns/status": {"type": "Property", "value": status}}
    response = await client.patch(f"{NGSI}/entities/{execution}/attrs", json=body)
    assert response.status_code == 204, response.text


async def test_a_subscription_goes_on_across_a_model_upload_and_sees_typed_twins(
    tmp_path: Path,
) -> None:
    old = 'subscription { twinChanged(type: "Pump") { twinId twin { __typename } } }'
    typed = (
        'subscription { twinChanged(id: "urn:ngsi-ld:Pump:1") '
        "{ twin { __typename ... on Pump { speed mode } } } }"
    )
    async with (
        running(Settings(data_dir=tmp_path)) as (address, client),
        subscribed(address, old) as before,
    ):
        await until_live(client, before)
        response = await client.post("/models", json=[ASSET, MOTOR, TANK, PUMP])
        assert response.status_code == 201, response.text
        async with subscribed(address, typed) as after:
            link = {"Link": LINK.replace("http://testserver", f"http://{address}")}
            tank = {"id": "urn:ngsi-ld:Tank:1", "type": "Tank", "level": {"value": 1.0}}
            tank_link = {"Link": link["Link"].replace("Pump", "Tank")}
            assert (await client.post(f"{NGSI}/entities", json=tank, headers=tank_link)).is_success
            for attempt in range(100):  # until the new subscription is live
                body = modeled_pump(speed={"value": float(attempt)})
                await client.delete(f"{NGSI}/entities/urn:ngsi-ld:Pump:1")
                created = await client.post(f"{NGSI}/entities", json=body, headers=link)
                assert created.status_code == 201, created.text
                try:
                    message = await after.next(timeout=0.1)
                except TimeoutError:
                    continue
                twin = message["payload"]["data"]["twinChanged"]["twin"]
                if twin is not None:
                    break
            assert twin["__typename"] == "PumpTwin"
            assert twin["mode"] == "auto"
        # the subscription opened before the upload is still served
        await pump(client, 5, 1)
        while True:
            change = (await before.next())["payload"]["data"]["twinChanged"]
            if change["twinId"] == "urn:ngsi-ld:Pump:5":
                break
        assert change["twin"]["__typename"] == "GenericTwin"


async def test_a_filter_passes_only_the_changes_after_which_the_twin_matches(
    tmp_path: Path,
) -> None:
    query = (
        'subscription { twinChanged(type: "Pump", q: "speed>100") '
        "{ twinId seq twin { properties } } }"
    )
    async with (
        running(Settings(data_dir=tmp_path)) as (address, client),
        subscribed(address, query) as subscriber,
    ):
        await until_live(client, subscriber, lambda n: pump(client, 0, 1000 + n))  # matching
        for speed in (50, 150, 60, 200):
            await pump(client, 1, speed)
        speeds = []
        while len(speeds) < 2:
            change = (await subscriber.next())["payload"]["data"]["twinChanged"]
            if change["twinId"] == "urn:ngsi-ld:Pump:1":
                speeds.append(change["twin"]["properties"]["speed"])
        assert speeds == [150, 200]
        async with subscribed(address, 'subscription { twinChanged(q: "((speed") { seq } }') as bad:
            message = await bad.next()
    assert message["type"] == "next", message  # the subscription's one answer: its error
    assert message["payload"]["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
