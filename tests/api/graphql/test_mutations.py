"""GraphQL mutations: every one goes through the one writer, so it is visible to the REST
API at once, validated like it, and refused with a coded error that changes nothing."""

from __future__ import annotations

import httpx
import pytest

from tests.api.graphql.conftest import GraphQL

pytestmark = pytest.mark.anyio
NGSI = "/ngsi-ld/v1"
CREATE = """mutation($props: JSON) {
  createTwin(id: "urn:ngsi-ld:Pump:7", type: "Pump", properties: $props,
             relationships: [{name: "feeds", target: "urn:ngsi-ld:Tank:1"}]) {
    id types properties relationships { name targetId } } }"""


async def test_a_created_twin_is_an_ngsi_ld_entity(client: httpx.AsyncClient, gql: GraphQL) -> None:
    data = await gql.data(CREATE, {"props": {"speed": 1450, "mode": "auto"}})
    assert data["createTwin"] == {
        "id": "urn:ngsi-ld:Pump:7",
        "types": ["Pump"],
        "properties": {"speed": 1450, "mode": "auto"},
        "relationships": [{"name": "feeds", "targetId": "urn:ngsi-ld:Tank:1"}],
    }
    rest = await client.get(f"{NGSI}/entities/urn:ngsi-ld:Pump:7", params={"options": "keyValues"})
    assert rest.json() == {
        "id": "urn:ngsi-ld:Pump:7",
        "type": "Pump",
        "speed": 1450,
        "mode": "auto",
        "feeds": "urn:ngsi-ld:Tank:1",
    }


async def test_update_merges_and_null_removes_a_property(gql: GraphQL) -> None:
    await gql.data(CREATE, {"props": {"speed": 1450, "mode": "auto"}})
    data = await gql.data(
        """mutation { updateTwin(id: "urn:ngsi-ld:Pump:7",
             properties: {speed: 1500, mode: null, note: "checked"}) { properties } }"""
    )
    assert data["updateTwin"]["properties"] == {"speed": 1500, "note": "checked"}


async def test_relationships_are_set_and_removed(gql: GraphQL) -> None:
    await gql.data(CREATE, {"props": {"speed": 1}})
    set_ = await gql.data(
        """mutation { setRelationship(source: "urn:ngsi-ld:Pump:7", name: "drives",
             target: "urn:ngsi-ld:Motor:1") { relationships { name targetId } } }"""
    )
    assert {"name": "drives", "targetId": "urn:ngsi-ld:Motor:1"} in set_["setRelationship"][
        "relationships"
    ]
    removed = await gql.data(
        """mutation { removeRelationship(source: "urn:ngsi-ld:Pump:7", name: "feeds") {
             relationships { name } } }"""
    )
    assert removed["removeRelationship"]["relationships"] == [{"name": "drives"}]


async def test_delete_removes_the_twin(client: httpx.AsyncClient, gql: GraphQL) -> None:
    await gql.data(CREATE, {"props": {"speed": 1}})
    assert (await gql.data('mutation { deleteTwin(id: "urn:ngsi-ld:Pump:7") }')) == {
        "deleteTwin": True
    }
    assert (await client.get(f"{NGSI}/entities/urn:ngsi-ld:Pump:7")).status_code == 404
    again = await gql('mutation { deleteTwin(id: "urn:ngsi-ld:Pump:7") }')
    assert again["errors"][0]["extensions"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("mutation", "code", "detail"),
    [
        ('mutation { createTwin(id: "not a uri", type: "Pump") { id } }', "BAD_USER_INPUT", "URI"),
        (
            'mutation { createTwin(id: "urn:ngsi-ld:Pump:7", type: "Pump") { id } }',
            "ALREADY_EXISTS",
            "already exists",
        ),
        (
            'mutation { updateTwin(id: "urn:ngsi-ld:Pump:404", properties: {a: 1}) { id } }',
            "NOT_FOUND",
            "does not exist",
        ),
        (
            'mutation { createTwin(id: "urn:ngsi-ld:Pump:8", type: "Pump", '
            'properties: {speed: {type: "Magic", value: 1}}) { id } }',
            "BAD_USER_INPUT",
            "Magic",
        ),
        ('mutation { updateTwin(id: "urn:ngsi-ld:Pump:7") { id } }', "BAD_USER_INPUT", "nothing"),
    ],
)
async def test_a_refused_mutation_has_a_code_and_changes_nothing(
    client: httpx.AsyncClient, gql: GraphQL, mutation: str, code: str, detail: str
) -> None:
    await gql.data(CREATE, {"props": {"speed": 1450}})
    body = await gql(mutation)
    assert body["errors"][0]["extensions"]["code"] == code, body
    assert detail in body["errors"][0]["message"]
    listed = await client.get(f"{NGSI}/entities", params={"type": "Pump", "options": "keyValues"})
    assert [(e["id"], e["speed"]) for e in listed.json()] == [("urn:ngsi-ld:Pump:7", 1450)]
