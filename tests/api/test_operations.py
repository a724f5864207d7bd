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
    inf = 'twin_http_request_seconds_bucket{le="+Inf",method="GET",route="retrieve_entity"} 2.0'
    assert inf in text, "every request is in the histogram's last bucket"
    first = text.split('twin_http_request_seconds_bucket{le="0.001",method="GET",')[1]
    assert float(first.split("} ")[1].split()[0]) <= 2.0


async def test_metrics_report_events_notifications_and_history(client: httpx.AsyncClient) -> None:
    await client.post(f"{NGSI}/entities", json=pump())
    body = {
        "type": "Subscription",
        "entities": [{"type": "Pump"}],
        "notification": {"endpoint": {"uri": "http://127.0.0.1:9/n"}},
    }
    assert (await client.post(f"{NGSI}/subscriptions", json=body)).status_code == 201
    text = (await client.get("/metrics")).text
    assert "twin_events_published 1.0" in text
    assert "twin_events_dropped 0.0" in text
    assert "twin_subscriptions 1.0" in text
    for gauge in ("twin_notifications_sent", "twin_notifications_failed", "twin_history_pruned"):
        assert f"\n{gauge} " in text
