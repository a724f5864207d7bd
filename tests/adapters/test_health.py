"""Device health as twin state: a device twin per device (state, last report, messages, rate,
errors), a connection twin per broker, stale marking after the expected interval, the figures
in /metrics; and bindings loaded from YAML files at start."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.adapters.test_mqtt_ingest import binding, entity, live, until
from tests.mqtt_listener import publisher
from twin_server.adapters import health
from twin_server.adapters.bindings import parse_binding
from twin_server.app import create_app
from twin_server.bus.memory import MemoryBus
from twin_server.config import Settings
from twin_server.core.service import TwinGraph
from twin_server.errors import BadRequestData
from twin_server.store.sqlite import SqliteStore

pytestmark = pytest.mark.anyio
NS = "https://twinserver.dev/ns/"


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client


async def test_devices_report_health_and_go_stale_when_silent(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, adapter_health_interval=0.2)
    prefix = f"test/{uuid.uuid4().hex}"
    bound = binding(prefix, expectedInterval=2.0)
    async with serving(settings) as client, publisher() as publish:
        assert (await client.post("/adapters/bindings", json=bound)).status_code == 201
        await live(client, publish, f"{prefix}/warmup/state", b'{"rpm": 1}')
        await publish(f"{prefix}/h1/state", b'{"rpm": 10}')
        await publish(f"{prefix}/h1/state", b'{"rpm": "bad"}')

        async def device() -> Any:
            found = await entity(client, "urn:ngsi-ld:Device:Pump:h1", options="keyValues")
            return found if found and found.get(NS + "messages") == 1 else None

        health = await until(device)
        assert health[NS + "controlledAsset"] == "urn:ngsi-ld:Pump:h1"
        assert health[NS + "deviceState"] == "ok"
        assert health[NS + "binding"] == bound["id"]
        assert NS + "dateLastValueReported" in health

        async def stale() -> Any:
            twin = await entity(client, "urn:ngsi-ld:Pump:h1", options="keyValues")
            return twin if twin.get(NS + "stale") is True else None

        await until(stale)
        state = await entity(client, "urn:ngsi-ld:Device:Pump:h1", options="keyValues")
        assert state[NS + "deviceState"] == "stale"
        await publish(f"{prefix}/h1/state", b'{"rpm": 11}')

        async def fresh() -> Any:
            twin = await entity(client, "urn:ngsi-ld:Pump:h1", options="keyValues")
            return twin if twin.get(NS + "stale") is False else None

        assert (await until(fresh))["speed"] == 11
        devices = await client.get(
            "/ngsi-ld/v1/entities", params={"type": NS + "Device", "options": "keyValues"}
        )
        brokers = [e for e in devices.json() if e["id"].startswith("urn:ngsi-ld:Device:mqtt:")]
        assert [b[NS + "connected"] for b in brokers] == [True]
        metrics = (await client.get("/metrics")).text
    assert f'twin_adapter_messages_committed_total{{binding="{bound["id"]}"}}' in metrics
    assert f'twin_adapter_messages_rejected_total{{binding="{bound["id"]}"}} 1.0' in metrics
    assert "twin_adapter_connected{" in metrics


async def test_bindings_are_loaded_from_yaml_files_at_start(tmp_path: Path) -> None:
    folder = tmp_path / "bindings"
    folder.mkdir()
    (folder / "north.yaml").write_text(
        """
- id: north
  adapter: mqtt
  source: {topic: "plant/north/{deviceId}/state"}
  twin: "urn:ngsi-ld:Pump:{deviceId}"
  attributes:
    - {name: speed, source: /rpm}
- id: south
  adapter: mqtt
  source: {format: iota-json, apikey: south}
  twin: "urn:ngsi-ld:Pump:{deviceId}"
"""
    )
    settings = Settings(data_dir=tmp_path / "data", adapter_bindings=folder)
    async with serving(settings) as client:
        listed = (await client.get("/adapters/bindings")).json()
    assert [b["id"] for b in listed] == ["north", "south"]
    assert listed[0]["source"] == {"topic": "plant/north/{deviceId}/state"}


async def test_a_bad_binding_file_stops_the_start_and_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nadapter: mqtt\ntwin: not-a-uri\n")
    settings = Settings(data_dir=tmp_path / "data", adapter_bindings=bad)
    with pytest.raises(BadRequestData, match=r"bad\.yaml: invalid binding"):
        async with serving(settings):
            pass


async def test_a_health_round_commits_its_device_twins_a_chunk_at_a_time(tmp_path: Path) -> None:
    """Readings committed during a round wait for one chunk of device twins, not for all."""
    store = SqliteStore(f"sqlite:///{tmp_path}/t.db")
    await store.open()
    try:
        rounds = health.Health(TwinGraph(store, MemoryBus()), interval=60)
        pumps = parse_binding(
            {
                "id": "pumps",
                "adapter": "mqtt",
                "source": {"topic": "plant/{deviceId}/state"},
                "twin": "urn:ngsi-ld:Pump:{deviceId}",
                "attributes": [{"name": "speed", "source": "/rpm"}],
            }
        )
        devices = 2 * health.CHUNK + health.CHUNK // 2
        for n in range(devices):
            rounds.reported(pumps, f"urn:ngsi-ld:Pump:p{n}")
        before = store.commits
        await rounds.write()
        assert store.commits - before == 3
        for n in range(devices):
            twin = await store.get("", f"urn:ngsi-ld:Device:Pump:p{n}")
            assert twin is not None
            assert twin["attrs"][NS + "messages"][0]["value"] == 1
    finally:
        await store.close()
