"""MQTT sessions through the real Mosquitto: messages sent while the server was down arrive
after it restarts (persistent session), and replicas in one shared group split the traffic."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.adapters.test_health import serving
from tests.adapters.test_mqtt_ingest import binding, entity, live, until
from tests.mqtt_listener import publisher
from twin_server.config import Settings

pytestmark = pytest.mark.anyio


async def test_messages_sent_while_the_server_was_down_arrive_after_it_restarts(
    tmp_path: Path,
) -> None:
    prefix = f"test/{uuid.uuid4().hex}"
    bound = binding(prefix)
    bound["connection"] = {"clientId": f"ts-{uuid.uuid4().hex}", "sessionExpiry": 120}
    settings = Settings(data_dir=tmp_path)
    async with publisher() as publish:
        async with serving(settings) as client:
            assert (await client.post("/adapters/bindings", json=bound)).status_code == 201
            await live(client, publish, f"{prefix}/warmup/state", b'{"rpm": 1}')
        # the server is down: the broker keeps these for its session
        for n in range(5):
            await publish(f"{prefix}/away/state", f'{{"rpm": {n}}}'.encode(), qos=1)
        async with serving(settings) as client:

            async def all_arrived() -> Any:
                twin = await entity(client, "urn:ngsi-ld:Pump:away", options="keyValues")
                return twin if twin and twin["speed"] == 4 else None

            await until(all_arrived)
            history = await client.get(
                "/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:Pump:away",
                params={"options": "temporalValues"},
            )
    assert [v[0] for v in history.json()["speed"]["values"]] == [0, 1, 2, 3, 4]


async def test_replicas_in_a_shared_group_split_the_device_traffic(tmp_path: Path) -> None:
    prefix = f"test/{uuid.uuid4().hex}"
    group = f"g{uuid.uuid4().hex[:8]}"
    first, second = binding(prefix), binding(prefix)
    for one in (first, second):
        one["connection"] = {"clientId": f"ts-{uuid.uuid4().hex}", "sharedGroup": group}
    async with (
        serving(Settings(data_dir=tmp_path / "a")) as a,
        serving(Settings(data_dir=tmp_path / "b")) as b,
        publisher() as publish,
    ):
        assert (await a.post("/adapters/bindings", json=first)).status_code == 201
        assert (await b.post("/adapters/bindings", json=second)).status_code == 201
        for replica in (a, b):  # each replica's subscription is in place
            await live(replica, publish, f"{prefix}/warmup/state", b'{"rpm": 1}')
        for n in range(40):
            await publish(f"{prefix}/d{n}/state", f'{{"rpm": {n}}}'.encode())

        async def counted() -> Any:
            found = []
            for replica in (a, b):
                ids = set()
                for n in range(40):
                    if await entity(replica, f"urn:ngsi-ld:Pump:d{n}") is not None:
                        ids.add(n)
                found.append(ids)
            return found if len(found[0] | found[1]) == 40 else None

        in_a, in_b = await until(counted)
    assert in_a  # both took a share
    assert in_b
    assert not in_a & in_b  # and each message went to one of them only
