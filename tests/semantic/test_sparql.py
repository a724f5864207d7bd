"""The semantic graph over HTTP: SPARQL 1.1 protocol queries over models and mirrored twins,
result formats, read-only and timeout rules, tenants, and the whole-graph export."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.modeling.test_parser import ASSET, MOTOR, PUMP
from tests.modeling.test_twins import LINK, TANK, pump
from twin_server.app import TwinApp, create_app
from twin_server.config import Settings

pytestmark = pytest.mark.anyio
NGSI = "/ngsi-ld/v1"
SUBTYPES = """
SELECT ?twin ?relationship ?target WHERE {
  ?twin a/rdfs:subClassOf* <dtmi:com:example:Asset;1> .
  OPTIONAL { ?twin ?relationship ?target . ?relationship a dtdl:Relationship }
}"""


async def settle(app: TwinApp) -> None:
    """Wait until the mirror has taken every event published so far."""
    await asyncio.wait_for(app.state.mirror.caught_up(app.state.services.graph.bus.published), 5)


@pytest.fixture
async def twins(client: httpx.AsyncClient, app: TwinApp) -> httpx.AsyncClient:
    assert (await client.post("/models", json=[ASSET, MOTOR, TANK, PUMP])).status_code == 201
    tank_link = LINK.replace("Pump", "Tank")
    tank = {"id": "urn:ngsi-ld:Tank:1", "type": "Tank", "level": {"value": 2.0}}
    assert (
        await client.post(f"{NGSI}/entities", json=tank, headers={"Link": tank_link})
    ).status_code == 201
    created = await client.post(f"{NGSI}/entities", json=pump(), headers={"Link": LINK})
    assert created.status_code == 201, created.text
    await settle(app)
    return client


def rows(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    return [
        {k: v["value"] for k, v in binding.items()}
        for binding in response.json()["results"]["bindings"]
    ]


async def test_every_twin_of_a_type_or_its_subtypes_with_its_relationships(
    twins: httpx.AsyncClient,
) -> None:
    found = rows(await twins.get("/sparql", params={"query": SUBTYPES}))
    assert found == [
        {
            "twin": "urn:ngsi-ld:Pump:1",
            "relationship": "dtmi:com:example:Pump:_contents:__feeds;1",
            "target": "urn:ngsi-ld:Tank:1",
        }
    ]


async def test_static_properties_are_mirrored_and_telemetry_is_not(
    twins: httpx.AsyncClient,
) -> None:
    query = "SELECT ?p ?v WHERE { <urn:ngsi-ld:Pump:1> ?p ?v . ?p a ?kind }"
    found = {
        r["p"].rsplit("__", 1)[-1]: r["v"]
        for r in rows(await twins.get("/sparql", params={"query": query}))
    }
    assert found["serial;1"] == "P-001"
    assert found["speed;1"] == "1450.0"
    assert "flow;1" not in found  # telemetry (observedAt) stays out


async def test_a_query_sees_attribute_changes_the_mirror_has_only_gathered(
    twins: httpx.AsyncClient, app: TwinApp
) -> None:
    mirror = app.state.mirror
    mirror.flush_every = 3600.0  # only the query itself applies what was gathered
    response = await twins.patch(
        f"{NGSI}/entities/urn:ngsi-ld:Pump:1/attrs",
        json={"speed": {"type": "Property", "value": 1500}},
        headers={"Link": LINK},
    )
    assert response.status_code == 204, response.text
    # taken from the bus, not yet applied to the graph:
    await asyncio.wait_for(mirror.taken(app.state.services.graph.bus.published), 5)
    query = "SELECT ?v WHERE { <urn:ngsi-ld:Pump:1> ?p ?v . FILTER(STRENDS(STR(?p), 'speed;1')) }"
    assert rows(await twins.get("/sparql", params={"query": query})) == [{"v": "1500"}]


async def test_updates_and_deletes_reach_the_graph(twins: httpx.AsyncClient, app: TwinApp) -> None:
    await twins.patch(
        f"{NGSI}/entities/urn:ngsi-ld:Pump:1/attrs",
        json={"feeds": {"type": "Relationship", "object": "urn:ngsi-ld:Tank:2"}},
        headers={"Link": LINK},
    )
    await settle(app)
    targets = [r["target"] for r in rows(await twins.get("/sparql", params={"query": SUBTYPES}))]
    assert targets == ["urn:ngsi-ld:Tank:2"]
    assert (await twins.delete(f"{NGSI}/entities/urn:ngsi-ld:Pump:1")).status_code == 204
    await settle(app)
    assert rows(await twins.get("/sparql", params={"query": SUBTYPES})) == []


async def test_post_form_and_sparql_query_bodies_and_csv_results(twins: httpx.AsyncClient) -> None:
    form = await twins.post("/sparql", data={"query": SUBTYPES})
    assert len(rows(form)) == 1
    body = await twins.post(
        "/sparql",
        content=SUBTYPES.encode(),
        headers={"content-type": "application/sparql-query", "accept": "text/csv"},
    )
    assert body.status_code == 200
    assert body.headers["content-type"].startswith("text/csv")
    assert body.text.splitlines()[0].strip() == "twin,relationship,target"


async def test_ask_and_construct(twins: httpx.AsyncClient) -> None:
    ask = await twins.get(
        "/sparql", params={"query": "ASK { <urn:ngsi-ld:Pump:1> a <dtmi:com:example:Pump;1> }"}
    )
    assert ask.json()["boolean"] is True
    construct = await twins.get(
        "/sparql",
        params={"query": "CONSTRUCT { ?t a ?c } WHERE { ?t a ?c . ?c a dtdl:Interface }"},
        headers={"accept": "text/turtle"},
    )
    assert construct.status_code == 200
    assert "urn:ngsi-ld:Pump:1" in construct.text


async def test_bad_and_update_queries_are_refused(twins: httpx.AsyncClient) -> None:
    malformed = await twins.get("/sparql", params={"query": "SELEKT ?x WHERE {"})
    assert malformed.status_code == 400
    assert "malformed query" in malformed.json()["error"]["message"]
    update = await twins.post("/sparql", data={"update": "DELETE WHERE { ?s ?p ?o }"})
    assert update.status_code == 400
    assert "read-only" in update.json()["error"]["message"]
    missing = await twins.get("/sparql")
    assert missing.status_code == 400


async def test_tenants_see_only_their_twins(twins: httpx.AsyncClient, app: TwinApp) -> None:
    other = {"id": "urn:ngsi-ld:Pump:9", "type": "Pump", "serial": {"value": "X"}}
    created = await twins.post(
        f"{NGSI}/entities", json=other, headers={"Link": LINK, "NGSILD-Tenant": "east"}
    )
    assert created.status_code == 201, created.text
    await settle(app)
    query = "SELECT ?t WHERE { ?t a <dtmi:com:example:Pump;1> }"
    east = rows(
        await twins.get("/sparql", params={"query": query}, headers={"NGSILD-Tenant": "east"})
    )
    default = rows(await twins.get("/sparql", params={"query": query}))
    assert [r["t"] for r in east] == ["urn:ngsi-ld:Pump:9"]
    assert [r["t"] for r in default] == ["urn:ngsi-ld:Pump:1"]


async def test_the_whole_graph_exports_as_turtle_and_json_ld(twins: httpx.AsyncClient) -> None:
    turtle = await twins.get("/graph", headers={"accept": "text/turtle"})
    assert turtle.status_code == 200
    assert "sosa:" in turtle.text
    assert "urn:ngsi-ld:Pump:1" in turtle.text
    jsonld = await twins.get("/graph", headers={"accept": "application/ld+json"})
    nodes: list[dict[str, Any]] = json.loads(jsonld.text)
    assert any(n.get("@id") == "dtmi:com:example:Pump;1" for n in nodes)


# The interruption that stops the query may land in a gc callback (hypothesis installs one for
# the whole test run), where Python swallows it and prints it as ignored; the server sends
# another (tests/semantic/test_timeout.py), and this test still checks that the query stopped
# and the next one runs. The printed "ignored" is not a failure of the server.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_a_query_running_past_the_timeout_is_stopped(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, sparql_timeout=0.3))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            heavy = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
            response = await client.get("/sparql", params={"query": heavy})
            assert response.status_code == 503
            assert "longer than 0.3 s" in response.json()["error"]["message"]
            quick = await client.get("/sparql", params={"query": SUBTYPES})
            assert quick.status_code == 200  # the server (and the graph lock) survived
