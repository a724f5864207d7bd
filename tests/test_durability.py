"""An acknowledged write, and its history, survive kill -9 of the server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.conftest import NGSI, pump
from tests.server import ServerProcess

pytestmark = pytest.mark.slow


def test_acknowledged_writes_survive_sigkill(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path).start()
    acknowledged: list[str] = []
    updated: dict[str, int] = {}

    async def write(client: httpx.AsyncClient, n: int) -> None:
        r = await client.post(f"{NGSI}/entities", json=pump(n))
        if r.status_code == 201:
            acknowledged.append(f"urn:ngsi-ld:Pump:{n}")
        r = await client.patch(
            f"{NGSI}/entities/urn:ngsi-ld:Pump:{n}/attrs", json={"speed": {"value": n * 10}}
        )
        if r.status_code == 204:
            updated[f"urn:ngsi-ld:Pump:{n}"] = n * 10

    async def load() -> None:
        limits = httpx.Limits(max_connections=20)
        async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=10) as client:
            await asyncio.gather(*(write(client, n) for n in range(300)))

    try:
        asyncio.run(load())
        server.kill()
        assert len(acknowledged) == 300
        again = ServerProcess(tmp_path).start()
        try:
            for entity_id in acknowledged:
                r = httpx.get(
                    f"{again.url}{NGSI}/entities/{entity_id}", params={"options": "keyValues"}
                )
                assert r.status_code == 200, entity_id
                assert r.json()["speed"] == updated[entity_id]
                history = httpx.get(
                    f"{again.url}{NGSI}/temporal/entities/{entity_id}",
                    params={"attrs": "speed", "format": "temporalValues"},
                )
                values = [v for v, _ in history.json()["speed"]["values"]]
                assert values == [1450, updated[entity_id]], entity_id  # its history too
        finally:
            again.stop()
    finally:
        server.stop()
