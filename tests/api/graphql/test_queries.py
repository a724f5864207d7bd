"""GraphQL queries: twins by id and by type with q and cursor paging, relationships followed
both ways, batched store reads, and the limits that bound a query."""

from __future__ import annotations

import httpx
import pytest

from tests.api.graphql.conftest import GraphQL, counted_reads
from twin_server.app import TwinApp

pytestmark = pytest.mark.anyio
NGSI = "/ngsi-ld/v1"


async def seed(client: httpx.AsyncClient, pumps: int = 3) -> None:
    tanks = [
        {
            "id": f"urn:ngsi-ld:Tank:{n}",
            "type": "Tank",
            "level": {"type": "Property", "value": n / 10},
        }
        for n in range(pumps)
    ]
    entities = [
        {
            "id": f"urn:ngsi-ld:Pump:{n}",
            "type": "Pump",
            "speed": {"type": "Property", "value": 1000 + n},
            "feeds": {"type": "Relationship", "object": f"urn:ngsi-ld:Tank:{n}"},
        }
        for n in range(pumps)
    ]
    response = await client.post(f"{NGSI}/entityOperations/upsert", json=tanks + entities)
    assert response.status_code in (201, 204), response.text


async def test_a_twin_by_id_with_its_properties_and_relationship_target(
    client: httpx.AsyncClient, gql: GraphQL
) -> None:
    await seed(client)
    data = await gql.data(
        """{ twin(id: "urn:ngsi-ld:Pump:1") {
              id types createdAt properties speed: property(name: "speed")
              relationships { name targetId target { id properties } } } }"""
    )
    twin = data["twin"]
    assert twin["id"] == "urn:ngsi-ld:Pump:1"
    assert twin["types"] == ["Pump"]
    assert twin["properties"] == {"speed": 1001}
    assert twin["speed"] == 1001
    assert twin["createdAt"]
    assert twin["relationships"] == [
        {
            "name": "feeds",
            "targetId": "urn:ngsi-ld:Tank:1",
            "target": {"id": "urn:ngsi-ld:Tank:1", "properties": {"level": 0.1}},
        }
    ]
    assert (await gql.data('{ twin(id: "urn:ngsi-ld:Pump:99") { id } }')) == {"twin": None}


async def test_incoming_relationships_lead_back_to_the_source(
    client: httpx.AsyncClient, gql: GraphQL, app: TwinApp
) -> None:
    await seed(client)
    data = await gql.data(
        """{ twin(id: "urn:ngsi-ld:Tank:2") {
              incoming { name source { id speed: property(name: "speed") } } } }"""
    )
    assert data["twin"]["incoming"] == [
        {"name": "feeds", "source": {"id": "urn:ngsi-ld:Pump:2", "speed": 1002}}
    ]


async def test_twins_are_paged_with_cursors_and_filtered_with_q(
    client: httpx.AsyncClient, gql: GraphQL
) -> None:
    await seed(client, pumps=5)
    query = """query($after: String) { twins(type: "Pump", first: 2, after: $after, count: true) {
        totalCount edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }"""
    seen: list[str] = []
    after = None
    while True:
        page = (await gql.data(query, {"after": after}))["twins"]
        seen += [e["node"]["id"] for e in page["edges"]]
        assert page["totalCount"] == 5
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [f"urn:ngsi-ld:Pump:{n}" for n in range(5)]
    fast = await gql.data('{ twins(type: "Pump", q: "speed>1002") { edges { node { id } } } }')
    assert [e["node"]["id"] for e in fast["twins"]["edges"]] == [
        "urn:ngsi-ld:Pump:3",
        "urn:ngsi-ld:Pump:4",
    ]


async def test_a_hundred_twins_with_their_relationships_cost_a_few_store_reads(
    client: httpx.AsyncClient, gql: GraphQL, app: TwinApp
) -> None:
    await seed(client, pumps=100)
    with counted_reads(app.state.services.graph.store) as calls:
        data = await gql.data(
            """{ twins(type: "Pump", first: 100) { edges { node { id
                 relationships { target { id properties } } } } } }"""
        )
    edges = data["twins"]["edges"]
    assert len(edges) == 100
    assert all(
        e["node"]["relationships"][0]["target"]["id"].startswith("urn:ngsi-ld:Tank:") for e in edges
    )
    assert calls["get"] == 0
    assert calls["scan"] <= 2  # the page, then every target at once


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("{ twin(id: 1 { id } }", "GRAPHQL_PARSE_FAILED"),
        ('{ twin(id: "urn:x:1") { colour } }', "GRAPHQL_VALIDATION_FAILED"),
        ('{ twins(type: "Pump", first: 5000) { edges { cursor } } }', "BAD_USER_INPUT"),
        ('{ twins(type: "Pump", after: "nope") { edges { cursor } } }', "BAD_USER_INPUT"),
        ('{ twins(type: "Pump", q: "((speed>1") { edges { cursor } } }', "BAD_USER_INPUT"),
        (
            '{ twin(id: "urn:x:1") { '
            + "relationships { target { " * 7
            + "id"
            + " } }" * 7
            + " } }",
            "QUERY_TOO_COMPLEX",
        ),
        (
            "{ twins(first: 1000) { edges { node { relationships { target { "
            "relationships { target { relationships { target { id } } } } } } } } } }",
            "QUERY_TOO_COMPLEX",
        ),
    ],
)
async def test_a_bad_query_gets_an_error_with_a_code(
    client: httpx.AsyncClient, gql: GraphQL, query: str, code: str
) -> None:
    await seed(client, pumps=1)
    response = await client.post("/graphql", json={"query": query})
    body = response.json()
    assert body.get("errors"), body
    assert body["errors"][0]["extensions"]["code"] == code, body["errors"]


async def test_graphiql_is_served_to_a_browser(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()


async def test_tenants_see_only_their_twins(client: httpx.AsyncClient, gql: GraphQL) -> None:
    body = {"id": "urn:ngsi-ld:Pump:east", "type": "Pump"}
    created = await client.post(f"{NGSI}/entities", json=body, headers={"NGSILD-Tenant": "east"})
    assert created.status_code == 201
    query = '{ twin(id: "urn:ngsi-ld:Pump:east") { id } }'
    assert (await gql.data(query)) == {"twin": None}
    east = await gql(query, **{"NGSILD-Tenant": "east"})
    assert east["data"] == {"twin": {"id": "urn:ngsi-ld:Pump:east"}}


def _nested(pairs: int) -> str:
    """A query 1 + 2 * ``pairs`` fields deep: twin, then relationships/target pairs, then id."""
    inner = "relationships { target { " * pairs + "id" + " } }" * pairs
    return '{ twin(id: "urn:ngsi-ld:Pump:0") { ' + inner + " } }"


async def test_the_depth_limit_counts_fields_with_selections(
    client: httpx.AsyncClient, gql: GraphQL
) -> None:
    await seed(client, pumps=1)
    within = await client.post("/graphql", json={"query": _nested(3)})  # 7 deep
    assert "errors" not in within.json(), within.json()
    over = (await client.post("/graphql", json={"query": _nested(6)})).json()  # 13 deep
    assert over["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "13 fields deep; the limit is 12" in over["errors"][0]["message"]
    fragment = "query { ...F } fragment F on Query { " + _nested(6)[2:]
    spread = (await client.post("/graphql", json={"query": fragment})).json()
    assert spread["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


@pytest.mark.parametrize(
    "query",
    [
        "{ }",
        "query { }",
        '{ twin(id: "urn:ngsi-ld:Pump:0") { } }',
        "{ ...F } fragment F on Query { }",
    ],
)
async def test_empty_selections_are_answered_not_crashed_on(
    client: httpx.AsyncClient, query: str
) -> None:
    """graphql-core 3.3 accepts empty selection sets; the limits must not fail on them."""
    response = await client.post("/graphql", json={"query": query})
    assert response.status_code == 200
    body = response.json()
    for error in body.get("errors", []):
        assert error["extensions"]["code"] != "INTERNAL_SERVER_ERROR", error
    assert "errors" in body or body["data"] is not None
