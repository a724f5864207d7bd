"""Predictions attached to twins: any twin may carry them (whatever its model), GraphQL shows
the latest of each output (generic field, and a typed field per output an Interface's hooks
declare), and predictionAttached streams them over a real websocket."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.graphql.conftest import GraphQL
from tests.api.graphql.test_subscriptions import running, subscribed, until_live
from tests.api.graphql.test_typed import seed
from tests.modeling.test_twins import LINK
from twin_server.app import TwinApp
from twin_server.config import Settings

pytestmark = pytest.mark.anyio
NGSI = "/ngsi-ld/v1"
AT = "2026-12-01T10:00:00Z"


def scored(score: float, *, version: str = "3", shadow: bool = False) -> dict[str, Any]:
    return {
        "anomalyScore": {
            "type": "Property",
            "value": score,
            "observedAt": AT,
            "predictedBy": {"type": "Property", "value": "pump-anomaly"},
            "modelVersion": {"type": "Property", "value": version},
            "confidence": {"type": "Property", "value": 0.9},
            "shadow": {"type": "Property", "value": shadow},
        }
    }


async def test_a_modeled_twin_takes_a_prediction_but_not_an_unknown_attribute(
    client: httpx.AsyncClient, gql: GraphQL
) -> None:
    await seed(client)
    url = f"{NGSI}/entities/urn:ngsi-ld:Pump:1/attrs"
    stray = {"anomalyScore": {"type": "Property", "value": 0.7}}
    refused = await client.post(url, json=stray, headers={"Link": LINK})
    assert refused.status_code == 400
    assert "not a content" in refused.json()["detail"]
    accepted = await client.post(url, json=scored(0.97), headers={"Link": LINK})
    assert accepted.status_code == 204, accepted.text
    data = await gql.data(
        """{ twin(id: "urn:ngsi-ld:Pump:1") { predictions { output value observedAt model
             modelVersion confidence shadow } } }"""
    )
    assert data["twin"]["predictions"] == [
        {
            "output": "anomalyScore",
            "value": 0.97,
            "observedAt": AT,
            "model": "pump-anomaly",
            "modelVersion": "3",
            "confidence": 0.9,
            "shadow": False,
        }
    ]
    none = await gql.data(
        '{ twin(id: "urn:ngsi-ld:Pump:1") { predictions(output: "x") { value } } }'
    )
    assert none["twin"]["predictions"] == []


async def test_an_interfaces_outputs_become_typed_fields_of_it_and_its_subtypes(
    client: httpx.AsyncClient, gql: GraphQL, app: TwinApp
) -> None:
    await seed(client)
    live = app.state.graphql_schema
    live.outputs = lambda: {"dtmi:com:example:Asset;1": ["anomalyScore"]}
    await live.refresh()
    url = f"{NGSI}/entities/urn:ngsi-ld:Pump:1/attrs"
    assert (await client.post(url, json=scored(0.4), headers={"Link": LINK})).status_code == 204
    data = await gql.data(
        """{ twin(id: "urn:ngsi-ld:Pump:1") { ... on Asset { anomalyScorePrediction {
             value model } } } }"""
    )
    assert data["twin"] == {"anomalyScorePrediction": {"value": 0.4, "model": "pump-anomaly"}}
    tank = await gql.data(
        '{ twin(id: "urn:ngsi-ld:Tank:1") { __typename ... on Pump { anomalyScorePrediction '
        "{ value } } } }"
    )
    assert tank["twin"] == {"__typename": "TankTwin"}  # Tank is no Asset


async def test_prediction_attached_streams_predictions_only(tmp_path: Path) -> None:
    query = (
        'subscription { predictionAttached(type: "Pump") { twinId seq '
        "prediction { output value modelVersion shadow } } }"
    )
    async with (
        running(Settings(data_dir=tmp_path)) as (address, client),
        subscribed(address, query) as subscriber,
    ):
        await client.post(f"{NGSI}/entities", json={"id": "urn:ngsi-ld:Pump:9", "type": "Pump"})
        marker = f"{NGSI}/entities/urn:ngsi-ld:Pump:9/attrs"  # another pump's predictions
        await until_live(client, subscriber, lambda _: client.post(marker, json=scored(0.0)))
        await client.post(f"{NGSI}/entities", json={"id": "urn:ngsi-ld:Pump:0", "type": "Pump"})
        url = f"{NGSI}/entities/urn:ngsi-ld:Pump:0/attrs"
        plain = {"speed": {"type": "Property", "value": 3}}
        assert (await client.post(url, json=plain)).status_code == 204
        assert (await client.post(url, json=scored(0.8, shadow=True))).status_code == 204
        assert (await client.post(url, json=scored(0.2, version="4"))).status_code == 204
        got: list[dict[str, Any]] = []
        while len(got) < 2:
            message = (await subscriber.next())["payload"]["data"]["predictionAttached"]
            if message["twinId"] == "urn:ngsi-ld:Pump:0":
                got.append(message)
    assert [g["prediction"] for g in got] == [
        {"output": "anomalyScore", "value": 0.8, "modelVersion": "3", "shadow": True},
        {"output": "anomalyScore", "value": 0.2, "modelVersion": "4", "shadow": False},
    ]
    assert got[0]["twinId"] == "urn:ngsi-ld:Pump:0"
    assert got[0]["seq"] < got[1]["seq"]
