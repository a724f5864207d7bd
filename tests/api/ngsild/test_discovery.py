"""/types and /attributes describe what the graph holds."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import NGSI, pump

pytestmark = pytest.mark.anyio
JSON = {"Content-Type": "application/json"}


@pytest.fixture
async def filled(client: httpx.AsyncClient) -> httpx.AsyncClient:
    tank = {"id": "urn:ngsi-ld:Tank:1", "type": "Tank", "level": {"value": 1}}
    r = await client.post(
        f"{NGSI}/entityOperations/create", json=[pump(1), pump(2), tank], headers=JSON
    )
    assert r.status_code == 201
    return client


async def test_types_lists_entity_types(filled: httpx.AsyncClient) -> None:
    body = (await filled.get(f"{NGSI}/types")).json()
    assert body["type"] == "EntityTypeList"
    assert body["typeList"] == ["Pump", "Tank"]
    details = (await filled.get(f"{NGSI}/types", params={"details": "true"})).json()
    assert details[0]["typeName"] == "Pump"
    assert details[0]["attributeNames"] == ["feeds", "speed"]


async def test_type_info_counts_entities_and_describes_attributes(
    filled: httpx.AsyncClient,
) -> None:
    info = (await filled.get(f"{NGSI}/types/Pump")).json()
    assert info["type"] == "EntityTypeInfo"
    assert info["entityCount"] == 2
    kinds = {a["attributeName"]: a["attributeTypes"] for a in info["attributeDetails"]}
    assert kinds == {"feeds": ["Relationship"], "speed": ["Property"]}
    assert (await filled.get(f"{NGSI}/types/Valve")).status_code == 404


async def test_attributes_list_and_details(filled: httpx.AsyncClient) -> None:
    body = (await filled.get(f"{NGSI}/attributes")).json()
    assert body["attributeList"] == ["feeds", "level", "speed"]
    speed = (await filled.get(f"{NGSI}/attributes/speed")).json()
    assert speed["attributeCount"] == 2
    assert speed["typeNames"] == ["Pump"]
    assert (await filled.get(f"{NGSI}/attributes/colour")).status_code == 404
