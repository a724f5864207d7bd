"""History retention: each tenant's policy (maximum age, maximum count per attribute) is
enforced on what is stored; tenants without a policy keep everything."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from twin_server.app import TwinApp, create_app
from twin_server.config import Settings

pytestmark = pytest.mark.anyio
NGSI = "/ngsi-ld/v1"


@pytest.fixture
async def client_and_app(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, TwinApp]]:
    settings = Settings(
        data_dir=tmp_path,
        temporal_retention={"*": {"maxInstances": 2}, "east": {"maxAge": "P1D"}},
        temporal_retention_interval=3600,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client, app


async def speeds(client: httpx.AsyncClient, tenant: str) -> list[object]:
    response = await client.get(
        f"{NGSI}/temporal/entities/urn:ngsi-ld:Pump:1",
        params={"attrs": "speed"},
        headers={"NGSILD-Tenant": tenant} if tenant else {},
    )
    assert response.status_code == 200, response.text
    return [i["value"] for i in response.json()["speed"]]


async def write(client: httpx.AsyncClient, tenant: str, observed: list[str]) -> None:
    headers = {"NGSILD-Tenant": tenant} if tenant else {}
    for n, when in enumerate(observed):
        body = {
            "id": "urn:ngsi-ld:Pump:1",
            "type": "Pump",
            "speed": {"type": "Property", "value": n, "observedAt": when},
        }
        response = await client.post(
            f"{NGSI}/entityOperations/upsert", json=[body], headers=headers
        )
        assert response.status_code in (201, 204), response.text


async def test_each_tenant_keeps_what_its_policy_says(
    client_and_app: tuple[httpx.AsyncClient, TwinApp],
) -> None:
    client, app = client_and_app
    recent = ["2999-01-01T00:00:00Z", "2999-01-02T00:00:00Z"]
    await write(client, "", ["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", *recent])
    await write(client, "east", ["2001-01-01T00:00:00Z", "2001-01-02T00:00:00Z", *recent])
    deleted = await app.state.retention.enforce()
    assert deleted == 4
    assert await speeds(client, "") == [2, 3]  # "*": the newest two per attribute
    assert await speeds(client, "east") == [2, 3]  # P1D: what was observed in the last day on
    assert await app.state.retention.enforce() == 0
