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
    buckets = [
        line.split('le="')[1].split('"')[0] + " " + line.rsplit(" ", 1)[1]
        for line in text.splitlines()
        if line.startswith("twin_http_request_seconds_bucket")
        and 'method="GET",route="retrieve_entity"' in line
    ]
    bounds = [b.split()[0] for b in buckets]
    assert bounds[-3:] == ["2.5", "5.0", "+Inf"], "bounds spelled as prometheus_client does"
    counts = [float(b.split()[1]) for b in buckets]
    assert counts == sorted(counts), "buckets count cumulatively"
    assert counts[-1] == 2.0, "every request is in the last bucket"


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
