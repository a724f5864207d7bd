"""Twins follow their models: NGSI-LD writes on entities typed by a stored DTDL Interface are
checked against it, with the model element named in the error; other entities are free."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.modeling.test_parser import ASSET, MOTOR, PUMP
from twin_server.app import TwinApp

pytestmark = pytest.mark.anyio
NGSI = "/ngsi-ld/v1"
TANK = {
    "@context": "dtmi:dtdl:context;3",
    "@id": "dtmi:com:example:Tank;1",
    "@type": "Interface",
    "contents": [
        {"@type": "Property", "name": "level", "schema": "double"},
        {
            "@type": "Property",
            "name": "config",
            "schema": {
                "@type": "Object",
                "fields": [
                    {"name": "capacity", "schema": "integer"},
                    {"name": "tags", "schema": {"@type": "Array", "elementSchema": "string"}},
                ],
            },
        },
    ],
}
CONTEXT_URL = "http://testserver/ngsi-ld/v1/jsonldContexts/dtmi:com:example:Pump;1"
LINK = f'<{CONTEXT_URL}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
NOW = "2026-11-25T10:00:00Z"


def pump(**attrs: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "urn:ngsi-ld:Pump:1",
        "type": "Pump",
        "serial": {"value": "P-001"},
        "speed": {"value": 1450.0},
        "flow": {"value": 3.2, "observedAt": NOW},
        "mode": {"value": "auto"},
        "feeds": {"type": "Relationship", "object": "urn:ngsi-ld:Tank:1"},
        "motor": {"value": {"temperature": 61.5}},
    }
    base.update(attrs)
    return base


@pytest.fixture
async def modeled(client: httpx.AsyncClient) -> httpx.AsyncClient:
    response = await client.post("/models", json=[ASSET, MOTOR, TANK, PUMP])
    assert response.status_code == 201, response.text
    return client


async def create(client: httpx.AsyncClient, entity: dict[str, Any]) -> httpx.Response:
    return await client.post(f"{NGSI}/entities", json=entity, headers={"Link": LINK})


async def test_a_twin_that_follows_its_model_is_created(modeled: httpx.AsyncClient) -> None:
    response = await create(modeled, pump())
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("attrs", "reason"),
    [
        ({"speed": {"value": "fast"}}, "'fast' is not a finite number"),
        ({"mode": {"value": "turbo"}}, "'turbo' is not one of the enum values ['auto', 'manual']"),
        ({"flow": {"value": 3.2}}, "a Telemetry carries observedAt"),
        ({"feeds": {"value": "urn:ngsi-ld:Tank:1"}}, "it must be a Relationship, not a Property"),
        ({"speed": {"type": "Relationship", "object": "urn:x:1"}}, "it must be a Property"),
        ({"motor": {"value": {"rpm": 3}}}, "'rpm' is not a Property or Telemetry of component"),
        ({"motor": {"value": {"temperature": "hot"}}}, "'hot' at temperature is not a finite"),
        ({"setSpeed": {"value": 3}}, "a Command is invoked, not written"),
    ],
)
async def test_a_write_against_the_model_is_refused_naming_the_model_element(
    modeled: httpx.AsyncClient, attrs: dict[str, Any], reason: str
) -> None:
    response = await create(modeled, pump(**attrs))
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
    assert reason in body["detail"]
    assert "dtmi:com:example:Pump" in body["detail"]
    missing = await modeled.get(f"{NGSI}/entities/urn:ngsi-ld:Pump:1")
    assert missing.status_code == 404


async def test_an_attribute_the_model_does_not_have_is_refused(
    modeled: httpx.AsyncClient,
) -> None:
    response = await create(modeled, pump(colour={"value": "red"}))
    assert response.status_code == 400
    assert "'colour' is not a content of dtmi:com:example:Pump;1" in response.json()["detail"]


async def test_an_update_against_the_model_changes_nothing(modeled: httpx.AsyncClient) -> None:
    assert (await create(modeled, pump())).status_code == 201
    patch = await modeled.patch(
        f"{NGSI}/entities/urn:ngsi-ld:Pump:1/attrs",
        json={"speed": {"value": "fast"}},
        headers={"Link": LINK},
    )
    assert patch.status_code == 400
    stored = await modeled.get(f"{NGSI}/entities/urn:ngsi-ld:Pump:1", headers={"Link": LINK})
    assert stored.json()["speed"]["value"] == 1450.0
    ok = await modeled.patch(
        f"{NGSI}/entities/urn:ngsi-ld:Pump:1/attrs",
        json={"speed": {"value": 1500}},
        headers={"Link": LINK},
    )
    assert ok.status_code == 204, ok.text


async def test_object_fields_and_arrays_are_checked(modeled: httpx.AsyncClient) -> None:
    link = LINK.replace("Pump", "Tank")
    good = {
        "id": "urn:ngsi-ld:Tank:1",
        "type": "Tank",
        "config": {"value": {"capacity": 500, "tags": ["a", "b"]}},
    }
    created = await modeled.post(f"{NGSI}/entities", json=good, headers={"Link": link})
    assert created.status_code == 201, created.text
    for value, reason in [
        ({"capacity": 5.5}, "5.5 at capacity is not an integer"),
        ({"tags": ["a", 3]}, "3 at tags[1] is not a string"),
        ({"volume": 1}, "'volume' is not a field of the Object"),
    ]:
        bad = {**good, "id": "urn:ngsi-ld:Tank:2", "config": {"value": value}}
        response = await modeled.post(f"{NGSI}/entities", json=bad, headers={"Link": link})
        assert response.status_code == 400
        assert reason in response.json()["detail"]


async def test_entities_of_no_model_are_accepted_as_before(modeled: httpx.AsyncClient) -> None:
    anything = {"id": "urn:ngsi-ld:Thing:1", "type": "Thing", "speed": {"value": "fast"}}
    assert (await modeled.post(f"{NGSI}/entities", json=anything)).status_code == 201


async def test_names_in_the_default_vocabulary_match_contents_by_name(
    modeled: httpx.AsyncClient,
) -> None:
    entity = {
        "id": "urn:ngsi-ld:Tank:9",
        "type": "Tank",
        "level": {"value": "full"},
        "@context": {"Tank": "dtmi:com:example:Tank;1"},
    }
    headers = {"Content-Type": "application/ld+json"}
    response = await modeled.post(f"{NGSI}/entities", json=entity, headers=headers)
    assert response.status_code == 400
    assert "'full' is not a finite number" in response.json()["detail"]
    entity["level"] = {"value": 2.5}
    assert (await modeled.post(f"{NGSI}/entities", json=entity, headers=headers)).status_code == 201


async def test_no_new_twin_of_a_decommissioned_model_but_existing_twins_live_on(
    modeled: httpx.AsyncClient,
) -> None:
    assert (await create(modeled, pump())).status_code == 201
    patch = [{"op": "replace", "path": "/decommissioned", "value": True}]
    assert (await modeled.patch("/models/dtmi:com:example:Pump;1", json=patch)).status_code == 204
    refused = await create(modeled, pump(id="urn:ngsi-ld:Pump:2"))
    assert refused.status_code == 400
    assert "decommissioned" in refused.json()["detail"]
    update = await modeled.patch(
        f"{NGSI}/entities/urn:ngsi-ld:Pump:1/attrs",
        json={"speed": {"value": 1200}},
        headers={"Link": LINK},
    )
    assert update.status_code == 204


async def test_in_a_batch_only_the_twin_against_its_model_fails(
    modeled: httpx.AsyncClient,
) -> None:
    good = pump(id="urn:ngsi-ld:Pump:10")
    bad = pump(id="urn:ngsi-ld:Pump:11", speed={"value": "x"})
    response = await modeled.post(
        f"{NGSI}/entityOperations/create", json=[good, bad], headers={"Link": LINK}
    )
    assert response.status_code == 207, response.text
    body = response.json()
    assert body["success"] == ["urn:ngsi-ld:Pump:10"]
    assert [e["entityId"] for e in body["errors"]] == ["urn:ngsi-ld:Pump:11"]


async def test_a_relationship_to_an_existing_twin_must_reach_the_model_target(
    modeled: httpx.AsyncClient, app: TwinApp
) -> None:
    tank_link = LINK.replace("Pump", "Tank")
    tank = {"id": "urn:ngsi-ld:Tank:1", "type": "Tank", "level": {"value": 1.0}}
    thing = {"id": "urn:ngsi-ld:Thing:1", "type": "Thing"}
    assert (
        await modeled.post(f"{NGSI}/entities", json=tank, headers={"Link": tank_link})
    ).status_code == 201
    assert (await modeled.post(f"{NGSI}/entities", json=thing)).status_code == 201
    await asyncio.wait_for(app.state.mirror.caught_up(app.state.services.graph.bus.published), 5)
    assert (await create(modeled, pump())).status_code == 201  # feeds urn:ngsi-ld:Tank:1
    wrong = pump(id="urn:ngsi-ld:Pump:2", feeds={"type": "Relationship", "object": thing["id"]})
    refused = await create(modeled, wrong)
    assert refused.status_code == 400
    assert "not a dtmi:com:example:Tank;1" in refused.json()["detail"]
    unknown = pump(id="urn:ngsi-ld:Pump:3", feeds={"type": "Relationship", "object": "urn:x:9"})
    assert (await create(modeled, unknown)).status_code == 201  # dangling is allowed
