"""Readiness and Prometheus metrics."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import NGSI, pump

pytestmark = pytest.mark.anyio


async def test_health_reports_ready_with_the_store(client: httpx.AsyncClient) -> None:
    r = await client.get("/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert r.json()["store"] == "sqlite"


async def test_metrics_count_requests_per_route_and_status(client: httpx.AsyncClient) -> None:
    await client.post(f"{NGSI}/entities", json=pump())
    await client.get(f"{NGSI}/entities/urn:ngsi-ld:Pump:1")
    await client.get(f"{NGSI}/entities/urn:ngsi-ld:Pump:2")
    text = (await client.get("/metrics")).text
    assert 'twin_http_requests_total{method="POST",route="create_entity",status="201"} 1.0' in text
    assert 'twin_http_requests_total{method="GET",route="retrieve_entity",status="200"} 1.0' in text
    assert 'twin_http_requests_total{method="GET",route="retrieve_entity",status="404"} 1.0' in text
    assert 'twin_http_request_seconds_count{method="GET",route="retrieve_entity"} 2.0' in text
