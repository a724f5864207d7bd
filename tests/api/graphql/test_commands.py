"""sendCommand: checked against the DTDL Command of the twin's model, recorded as an execution
whose later status changes are twin state (seen by the commandStatus subscription)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.api.graphql.conftest import GraphQL
from twin_server.modeling.files import read_sources

pytestmark = pytest.mark.anyio
EXAMPLES = Path(__file__).resolve().parents[3] / "dtdl"
PUMP_CONTEXT = "http://testserver/ngsi-ld/v1/jsonldContexts/dtmi:twinserver:example:Pump;1"
LINK = f'<{PUMP_CONTEXT}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
SEND = """mutation($payload: JSON) {
  sendCommand(twinId: "urn:ngsi-ld:Pump:P1", command: "setSpeed", payload: $payload) {
    id twinId command payload status issuedBy createdAt } }"""


@pytest.fixture
async def pump_twin(client: httpx.AsyncClient) -> None:
    documents = [json.loads(text) for _, text in read_sources([EXAMPLES])]
    assert (await client.post("/models", json=documents)).status_code == 201
    pump = {"id": "urn:ngsi-ld:Pump:P1", "type": "Pump", "speed": {"value": 1480.0}}
    created = await client.post("/ngsi-ld/v1/entities", json=pump, headers={"Link": LINK})
    assert created.status_code == 201, created.text


async def test_a_valid_command_is_recorded_as_a_pending_execution(
    client: httpx.AsyncClient, gql: GraphQL, pump_twin: None
) -> None:
    execution = (await gql.data(SEND, {"payload": 1500.0}))["sendCommand"]
    assert execution["twinId"] == "urn:ngsi-ld:Pump:P1"
    assert (execution["command"], execution["payload"], execution["status"]) == (
        "setSpeed",
        1500.0,
        "pending",
    )
    assert execution["issuedBy"] == "api"
    stored = await client.get(f"/ngsi-ld/v1/entities/{execution['id']}")
    assert stored.status_code == 200  # an entity of the twin graph, like any other


@pytest.mark.parametrize(
    ("mutation", "payload", "detail"),
    [
        (SEND, "fast", "setSpeed"),
        (SEND, None, "needs its request"),
        (SEND.replace("setSpeed", "explode"), 1.0, "no Command 'explode'"),
        (SEND.replace("Pump:P1", "Pump:none"), 1.0, "does not exist"),
    ],
)
async def test_a_bad_command_is_refused_and_nothing_is_recorded(
    client: httpx.AsyncClient,
    gql: GraphQL,
    pump_twin: None,
    mutation: str,
    payload: object,
    detail: str,
) -> None:
    body = await gql(mutation, {"payload": payload})
    error = body["errors"][0]
    assert error["extensions"]["code"] in ("BAD_USER_INPUT", "NOT_FOUND"), error
    assert detail in error["message"]
    executions = await client.get(
        "/ngsi-ld/v1/entities", params={"type": "https://twinserver.dev/ns/CommandExecution"}
    )
    assert executions.json() == []


async def test_a_twin_without_commands_takes_none(client: httpx.AsyncClient, gql: GraphQL) -> None:
    body = {"id": "urn:ngsi-ld:Valve:1", "type": "Valve"}
    assert (await client.post("/ngsi-ld/v1/entities", json=body)).status_code == 201
    answer = await gql(SEND.replace("Pump:P1", "Valve:1"), {"payload": 1})
    assert "no DTDL model with Commands" in answer["errors"][0]["message"]


async def test_models_are_introspected_with_their_contents(gql: GraphQL, pump_twin: None) -> None:
    data = await gql.data(
        """{ models(id: "dtmi:twinserver:example:Pump;1") {
              id extends contents { name kind schema writable } } }"""
    )
    (pump,) = data["models"]
    assert pump["extends"] == ["dtmi:twinserver:example:Equipment;1"]
    contents = {c["name"]: c for c in pump["contents"]}
    assert contents["setSpeed"]["kind"] == "Command"
    assert contents["feeds"] == {
        "name": "feeds",
        "kind": "Relationship",
        "schema": "dtmi:twinserver:example:Tank;1",
        "writable": False,
    }
    assert (contents["speed"]["kind"], contents["speed"]["schema"]) == ("Property", "double")
    everything = await gql.data("{ models { id } }")
    assert len(everything["models"]) == 8
