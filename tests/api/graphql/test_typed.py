"""The typed part of the GraphQL schema, generated from the uploaded DTDL models: a type per
Interface with its extends as GraphQL interfaces, typed fields, relationship fields typed by
their target, components as nested objects, and the schema swapped live as models arrive."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from tests.api.graphql.conftest import GraphQL, counted_reads
from tests.modeling.test_parser import ASSET, MOTOR, PUMP
from tests.modeling.test_twins import LINK, TANK, pump
from twin_server.app import TwinApp

pytestmark = pytest.mark.anyio
NGSI = "/ngsi-ld/v1"
PUMP_QUERY = """{ twin(id: "urn:ngsi-ld:Pump:1") {
  __typename id
  ... on Asset { serial }
  ... on Pump {
    speed flow mode
    feeds { __typename id level config { capacity tags } }
    motor { temperature }
  }
} }"""


async def seed(client: httpx.AsyncClient) -> None:
    assert (await client.post("/models", json=[ASSET, MOTOR, TANK, PUMP])).status_code == 201
    tank = {
        "id": "urn:ngsi-ld:Tank:1",
        "type": "Tank",
        "level": {"value": 2.5},
        "config": {"value": {"capacity": 900, "tags": ["north", "raw"]}},
    }
    tank_link = LINK.replace("Pump", "Tank")
    for entity, link in ((tank, tank_link), (pump(), LINK)):
        response = await client.post(f"{NGSI}/entities", json=entity, headers={"Link": link})
        assert response.status_code == 201, response.text


async def test_a_twin_of_a_model_has_the_models_fields_with_their_types(
    client: httpx.AsyncClient, gql: GraphQL
) -> None:
    await seed(client)
    data = await gql.data(PUMP_QUERY)
    assert data["twin"] == {
        "__typename": "PumpTwin",
        "id": "urn:ngsi-ld:Pump:1",
        "serial": "P-001",
        "speed": 1450.0,
        "flow": 3.2,
        "mode": "auto",
        "feeds": [
            {
                "__typename": "TankTwin",
                "id": "urn:ngsi-ld:Tank:1",
                "level": 2.5,
                "config": {"capacity": 900, "tags": ["north", "raw"]},
            }
        ],
        "motor": {"temperature": 61.5},
    }
    # a twin of no model is a GenericTwin, and typed fragments do not apply to it
    plain = {"id": "urn:ngsi-ld:Valve:1", "type": "Valve", "open": {"value": True}}
    assert (await client.post(f"{NGSI}/entities", json=plain)).status_code == 201
    valve = await gql.data(
        '{ twin(id: "urn:ngsi-ld:Valve:1") { __typename ... on Pump { speed } properties } }'
    )
    assert valve["twin"] == {"__typename": "GenericTwin", "properties": {"open": True}}


async def test_extends_become_graphql_interfaces_and_schemas_become_types(
    client: httpx.AsyncClient, gql: GraphQL
) -> None:
    await seed(client)
    data = await gql.data(
        """{
          pump: __type(name: "Pump") { kind interfaces { name } fields { name type { ...T } } }
          twin: __type(name: "PumpTwin") { kind interfaces { name } }
          mode: __type(name: "PumpMode") { kind enumValues { name } }
          config: __type(name: "TankConfig") { kind fields { name type { ...T } } }
          asset: __type(name: "Asset") { possibleTypes { name } }
        }
        fragment T on __Type {
          kind name ofType { kind name ofType { kind name ofType { name } } }
        }"""
    )
    assert data["pump"]["kind"] == "INTERFACE"
    assert {i["name"] for i in data["pump"]["interfaces"]} == {"Asset", "Twin"}
    fields = {f["name"]: f["type"] for f in data["pump"]["fields"]}
    assert fields["speed"]["name"] == "Float"
    assert fields["mode"]["name"] == "PumpMode"
    assert fields["motor"]["name"] == "MotorComponent"
    assert fields["feeds"]["kind"] == "NON_NULL"
    assert fields["feeds"]["ofType"]["kind"] == "LIST"
    assert fields["feeds"]["ofType"]["ofType"]["ofType"]["name"] == "Tank"  # the target's type
    assert "setSpeed" not in fields  # a Command is invoked (sendCommand), not read
    assert {"id", "types", "properties", "relationships", "incoming"} <= set(fields)
    assert data["twin"]["kind"] == "OBJECT"
    assert {i["name"] for i in data["twin"]["interfaces"]} == {"Pump", "Asset", "Twin"}
    assert [v["name"] for v in data["mode"]["enumValues"]] == ["auto", "manual"]
    config = {f["name"]: f["type"] for f in data["config"]["fields"]}
    assert config["capacity"]["name"] == "Int"
    assert config["tags"]["kind"] == "LIST"
    assert {t["name"] for t in data["asset"]["possibleTypes"]} == {"AssetTwin", "PumpTwin"}


async def test_twins_of_a_supertype_are_listed_with_their_own_types(
    client: httpx.AsyncClient, gql: GraphQL
) -> None:
    await seed(client)
    asset = {"id": "urn:ngsi-ld:Asset:9", "type": "Asset", "serial": {"value": "A-9"}}
    link = LINK.replace("Pump", "Asset")
    assert (
        await client.post(f"{NGSI}/entities", json=asset, headers={"Link": link})
    ).status_code == 201
    data = await gql.data(
        """{ twins(type: "Asset") { edges { node {
             __typename ... on Asset { serial } ... on Pump { speed } } } } }"""
    )
    nodes = sorted((e["node"] for e in data["twins"]["edges"]), key=lambda n: n["serial"])
    assert nodes == [
        {"__typename": "AssetTwin", "serial": "A-9"},
        {"__typename": "PumpTwin", "serial": "P-001", "speed": 1450.0},
    ]


async def test_the_schema_follows_model_uploads_live_and_keeps_existing_names(
    client: httpx.AsyncClient, gql: GraphQL
) -> None:
    before = await gql('{ twin(id: "urn:ngsi-ld:Pump:1") { ... on Pump { speed } } }')
    assert "Unknown type 'Pump'" in before["errors"][0]["message"]
    await seed(client)
    assert (await gql.data(PUMP_QUERY))["twin"]["speed"] == 1450.0
    # a second Pump (another namespace) and a new version arrive: the names in use stay
    other = dict(copy.deepcopy(ASSET), **{"@id": "dtmi:org:other:Pump;1"})
    newer = dict(copy.deepcopy(PUMP), **{"@id": "dtmi:com:example:Pump;2"})
    response = await client.post("/models", json=[other, newer])
    assert response.status_code == 201, response.text
    assert (await gql.data(PUMP_QUERY))["twin"]["__typename"] == "PumpTwin"
    names = await gql.data("""{ models { id graphqlType } }""")
    by_id = {m["id"]: m["graphqlType"] for m in names["models"]}
    assert by_id["dtmi:com:example:Pump;1"] == "Pump"
    assert by_id["dtmi:com:example:Pump;2"] == "com_example_Pump_v2"
    assert by_id["dtmi:org:other:Pump;1"] == "org_other_Pump_v1"
    kinds = await gql.data('{ __type(name: "com_example_Pump_v2Twin") { kind } }')
    assert kinds["__type"] == {"kind": "OBJECT"}
    # deleting a model takes its types away, live as well
    assert (await client.delete("/models/dtmi:org:other:Pump;1")).status_code == 204
    gone = await gql.data('{ __type(name: "org_other_Pump_v1") { kind } }')
    assert gone["__type"] is None


async def test_names_that_collide_with_the_apis_own_are_moved_aside(
    client: httpx.AsyncClient, gql: GraphQL
) -> None:
    edge: dict[str, Any] = {
        "@context": "dtmi:dtdl:context;3",
        "@id": "dtmi:com:example:TwinEdge;1",
        "@type": "Interface",
        "contents": [
            {"@type": "Property", "name": "incoming", "schema": "string"},
            {"@type": "Property", "name": "label", "schema": "string"},
        ],
    }
    assert (await client.post("/models", json=[edge])).status_code == 201
    twin = {
        "id": "urn:ngsi-ld:Edge:1",
        "type": "TwinEdge",
        "incoming": {"value": "E-1"},
        "label": {"value": "edge"},
    }
    link = LINK.replace("Pump", "TwinEdge")
    response = await client.post(f"{NGSI}/entities", json=twin, headers={"Link": link})
    assert response.status_code == 201, response.text
    data = await gql.data(
        """{ twin(id: "urn:ngsi-ld:Edge:1") { __typename id
             ... on com_example_TwinEdge_v1 { incoming_ label } } }"""
    )
    assert data["twin"] == {
        "__typename": "com_example_TwinEdge_v1Twin",
        "id": "urn:ngsi-ld:Edge:1",
        "incoming_": "E-1",
        "label": "edge",
    }


async def test_a_stored_value_that_does_not_fit_its_schema_reads_as_null(
    client: httpx.AsyncClient, gql: GraphQL
) -> None:
    # written before the model arrived (schema-on-read), so nothing validated it
    early = {
        "@context": [
            {
                "Tank": "dtmi:com:example:Tank;1",
                "level": "dtmi:com:example:Tank:_contents:__level;1",
            },
            "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld",
        ],
        "id": "urn:ngsi-ld:Tank:7",
        "type": "Tank",
        "level": {"value": "full"},
    }
    headers = {"Content-Type": "application/ld+json"}
    response = await client.post(f"{NGSI}/entities", json=early, headers=headers)
    assert response.status_code == 201, response.text
    await seed(client)
    data = await gql.data(
        '{ twin(id: "urn:ngsi-ld:Tank:7") { __typename ... on Tank { level } properties } }'
    )
    assert data["twin"] == {
        "__typename": "TankTwin",
        "level": None,
        "properties": {"level": "full"},
    }


async def test_typed_relationship_fields_of_a_hundred_twins_cost_a_few_store_reads(
    client: httpx.AsyncClient, gql: GraphQL, app: TwinApp
) -> None:
    await seed(client)
    tanks = [
        {"id": f"urn:ngsi-ld:Tank:{n}", "type": "Tank", "level": {"value": n}} for n in range(100)
    ]
    pumps = [
        pump(
            id=f"urn:ngsi-ld:Pump:{n}",
            feeds={"type": "Relationship", "object": f"urn:ngsi-ld:Tank:{n}"},
        )
        for n in range(100)
    ]
    for batch, kind in ((tanks, "Tank"), (pumps, "Pump")):
        response = await client.post(
            f"{NGSI}/entityOperations/upsert",
            json=batch,
            headers={"Link": LINK.replace("Pump", kind)},
        )
        assert response.status_code in (201, 204), response.text
    with counted_reads(app.state.services.graph.store) as calls:
        data = await gql.data(
            """{ twins(type: "Pump", first: 100) { edges { node {
                 ... on Pump { feeds { id level } } } } } }"""
        )
    levels = sorted(e["node"]["feeds"][0]["level"] for e in data["twins"]["edges"])
    assert levels == [float(n) for n in range(100)]
    assert calls["get"] == 0
    assert calls["scan"] <= 2  # the page, then every target at once


async def test_relationships_that_form_a_cycle_are_typed_both_ways(
    client: httpx.AsyncClient, gql: GraphQL
) -> None:
    def interface(name: str, relationship: str, target: str) -> dict[str, Any]:
        return {
            "@context": "dtmi:dtdl:context;3",
            "@id": f"dtmi:com:example:{name};1",
            "@type": "Interface",
            "contents": [
                {"@type": "Property", "name": "label", "schema": "string"},
                {
                    "@type": "Relationship",
                    "name": relationship,
                    "target": f"dtmi:com:example:{target};1",
                },
            ],
        }

    models = [interface("Room", "isPartOf", "Floor"), interface("Floor", "hasPart", "Room")]
    assert (await client.post("/models", json=models)).status_code == 201
    room = {
        "id": "urn:ngsi-ld:Room:1",
        "type": "Room",
        "label": {"value": "R1"},
        "isPartOf": {"type": "Relationship", "object": "urn:ngsi-ld:Floor:1"},
    }
    floor = {
        "id": "urn:ngsi-ld:Floor:1",
        "type": "Floor",
        "label": {"value": "F1"},
        "hasPart": {"type": "Relationship", "object": "urn:ngsi-ld:Room:1"},
    }
    for entity in (floor, room):
        link = LINK.replace("Pump", entity["type"])
        response = await client.post(f"{NGSI}/entities", json=entity, headers={"Link": link})
        assert response.status_code == 201, response.text
    data = await gql.data(
        """{ twin(id: "urn:ngsi-ld:Room:1") { ... on Room { label
             isPartOf { label hasPart { label isPartOf { __typename } } } } } }"""
    )
    assert data["twin"] == {
        "label": "R1",
        "isPartOf": [
            {"label": "F1", "hasPart": [{"label": "R1", "isPartOf": [{"__typename": "FloorTwin"}]}]}
        ],
    }
