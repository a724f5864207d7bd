"""/entityOperations: per-entity results, 207 Multi-Status when some fail."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import NGSI, pump

pytestmark = pytest.mark.anyio
JSON = {"Content-Type": "application/json"}


async def ids(client: httpx.AsyncClient) -> list[str]:
    r = await client.get(f"{NGSI}/entities", params={"idPattern": ".*", "limit": "1000"})
    return [e["id"] for e in r.json()]


async def test_batch_create_returns_201_with_ids(client: httpx.AsyncClient) -> None:
    r = await client.post(f"{NGSI}/entityOperations/create", json=[pump(1), pump(2)], headers=JSON)
    assert r.status_code == 201
    assert r.json() == ["urn:ngsi-ld:Pump:1", "urn:ngsi-ld:Pump:2"]


async def test_batch_create_with_failures_returns_207_and_keeps_the_good_ones(
    client: httpx.AsyncClient,
) -> None:
    await client.post(f"{NGSI}/entities", json=pump(1), headers=JSON)
    bad = {"id": "urn:ngsi-ld:Pump:3"}
    r = await client.post(
        f"{NGSI}/entityOperations/create", json=[pump(1), pump(2), bad], headers=JSON
    )
    assert r.status_code == 207
    body = r.json()
    assert body["success"] == ["urn:ngsi-ld:Pump:2"]
    errors = {e["entityId"]: e["error"]["type"].rsplit("/", 1)[1] for e in body["errors"]}
    assert errors == {"urn:ngsi-ld:Pump:1": "AlreadyExists", "urn:ngsi-ld:Pump:3": "BadRequestData"}
    assert await ids(client) == ["urn:ngsi-ld:Pump:1", "urn:ngsi-ld:Pump:2"]


async def test_batch_upsert_creates_then_replaces_or_updates(client: httpx.AsyncClient) -> None:
    url = f"{NGSI}/entityOperations/upsert"
    r = await client.post(url, json=[pump(1)], headers=JSON)
    assert r.status_code == 201
    assert r.json() == ["urn:ngsi-ld:Pump:1"]
    replacement = {"id": "urn:ngsi-ld:Pump:1", "type": "Pump", "flow": {"value": 2}}
    r = await client.post(url, json=[replacement], headers=JSON)
    assert r.status_code == 204
    body = (await client.get(f"{NGSI}/entities/urn:ngsi-ld:Pump:1")).json()
    assert set(body) == {"id", "type", "flow"}
    r = await client.post(
        url,
        params={"options": "update"},
        json=[{"id": "urn:ngsi-ld:Pump:1", "type": "Pump", "speed": {"value": 7}}],
        headers=JSON,
    )
    assert r.status_code == 204
    body = (await client.get(f"{NGSI}/entities/urn:ngsi-ld:Pump:1")).json()
    assert set(body) == {"id", "type", "flow", "speed"}


async def test_batch_update_merge_and_delete(client: httpx.AsyncClient) -> None:
    await client.post(f"{NGSI}/entityOperations/create", json=[pump(1), pump(2)], headers=JSON)
    r = await client.post(
        f"{NGSI}/entityOperations/update",
        json=[
            {"id": "urn:ngsi-ld:Pump:1", "speed": {"value": 1}},
            {"id": "urn:ngsi-ld:Pump:9", "speed": {"value": 1}},
        ],
        headers=JSON,
    )
    assert r.status_code == 207
    assert r.json()["success"] == ["urn:ngsi-ld:Pump:1"]
    assert r.json()["errors"][0]["entityId"] == "urn:ngsi-ld:Pump:9"
    r = await client.post(
        f"{NGSI}/entityOperations/merge",
        json=[{"id": "urn:ngsi-ld:Pump:2", "feeds": "urn:ngsi-ld:null"}],
        headers=JSON,
    )
    assert r.status_code == 204
    assert "feeds" not in (await client.get(f"{NGSI}/entities/urn:ngsi-ld:Pump:2")).json()
    r = await client.post(
        f"{NGSI}/entityOperations/delete",
        json=["urn:ngsi-ld:Pump:1", "urn:ngsi-ld:Pump:2"],
        headers=JSON,
    )
    assert r.status_code == 204
    assert await ids(client) == []


async def test_batch_query_takes_a_query_object(client: httpx.AsyncClient) -> None:
    await client.post(
        f"{NGSI}/entityOperations/create",
        json=[pump(1), pump(2, speed={"value": 10})],
        headers=JSON,
    )
    query = {"type": "Query", "entities": [{"type": "Pump"}], "q": "speed<100", "attrs": ["speed"]}
    r = await client.post(
        f"{NGSI}/entityOperations/query", json=query, params={"count": "true"}, headers=JSON
    )
    assert r.status_code == 200
    assert r.headers["ngsild-results-count"] == "1"
    assert r.json() == [
        {"id": "urn:ngsi-ld:Pump:2", "type": "Pump", "speed": {"type": "Property", "value": 10}}
    ]


@pytest.mark.parametrize("body", [{}, [], "x", [pump(1), pump(1)]])
async def test_malformed_batches_are_rejected_whole(
    client: httpx.AsyncClient, body: object
) -> None:
    r = await client.post(f"{NGSI}/entityOperations/create", json=body, headers=JSON)
    assert r.status_code == 400
    assert await ids(client) == []


async def test_batch_larger_than_the_limit_is_rejected(
    app: object, client: httpx.AsyncClient
) -> None:
    limit = app.state.services.settings.max_batch_entities  # type: ignore[attr-defined]
    body = [pump(n) for n in range(limit + 1)]
    r = await client.post(f"{NGSI}/entityOperations/upsert", json=body, headers=JSON)
    assert r.status_code == 400
    assert str(limit) in r.json()["detail"]
