"""Rules close the loop: N consecutive samples past a threshold send a command (as origin
rule, so manual mode refuses it) and raise an Alert entity; hysteresis, cooldown and the
hourly limit keep one anomaly from firing again and again; MTTA and the automation rate are
measured."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.adapters.test_mqtt_ingest import until
from tests.modeling.test_parser import ASSET, MOTOR, PUMP
from tests.modeling.test_twins import LINK, TANK, pump

pytestmark = pytest.mark.anyio
NGSI = "/ngsi-ld/v1"
RULE: dict[str, Any] = {
    "id": "slow-down",
    "type": "Pump",
    "when": {"attribute": "speed", "above": 2000, "samples": 2},
    "clear": 1500,
    "cooldown": 0,
    "actions": [
        {"command": "setSpeed", "payload": 1000.0},
        {"alert": {"severity": "high", "description": "overspeed"}},
    ],
}


async def setup(client: httpx.AsyncClient) -> None:
    assert (await client.post("/models", json=[ASSET, MOTOR, TANK, PUMP])).status_code == 201
    created = await client.post(f"{NGSI}/entities", json=pump(), headers={"Link": LINK})
    assert created.status_code == 201, created.text
    response = await client.post("/rules", json=RULE, headers={"Link": LINK})
    assert response.status_code == 201, response.text


async def speed(client: httpx.AsyncClient, value: float) -> None:
    body = {"speed": {"value": value}}
    url = f"{NGSI}/entities/urn:ngsi-ld:Pump:1/attrs"
    assert (await client.patch(url, json=body, headers={"Link": LINK})).status_code == 204


async def figures(client: httpx.AsyncClient) -> dict[str, Any]:
    found: dict[str, Any] = (await client.get("/rules")).json()
    return found


async def executions(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    found = await client.get(
        f"{NGSI}/entities",
        params={"type": "https://twinserver.dev/ns/CommandExecution", "options": "keyValues"},
    )
    result: list[dict[str, Any]] = found.json()
    return result


async def test_consecutive_samples_fire_once_until_cleared(client: httpx.AsyncClient) -> None:
    await setup(client)
    await speed(client, 2100.0)  # one sample: not yet
    await asyncio.sleep(0.1)
    assert (await figures(client))["rules"][0]["stats"]["fired"] == 0
    await speed(client, 2200.0)  # the second: fires

    async def fired() -> Any:
        found = await figures(client)
        stats = found["rules"][0]["stats"]
        return found if stats["commands"] == 1 and stats["alerts"] == 1 else None

    found = await until(fired)
    assert found["mttaSeconds"] is not None
    assert found["automationRate"] == 1.0
    metrics = (await client.get("/metrics")).text
    assert "twin_rules_automation_rate 1.0" in metrics
    assert 'twin_rules_fired_total{rule="slow-down"} 1.0' in metrics
    (execution,) = await executions(client)
    assert execution["https://twinserver.dev/ns/issuedBy"] == "rule"
    assert execution["https://twinserver.dev/ns/command"] == "setSpeed"
    alerts = (await client.get(f"{NGSI}/entities", params={"type": "Alert"})).json()
    assert alerts[0]["alertSource"]["object"] == "urn:ngsi-ld:Pump:1"
    assert alerts[0]["severity"]["value"] == "high"
    for value in (2300.0, 2400.0, 1800.0, 2500.0, 2600.0):  # not cleared below 1500: holds
        await speed(client, value)
    await asyncio.sleep(0.2)
    assert (await figures(client))["rules"][0]["stats"]["fired"] == 1
    for value in (1400.0, 2100.0, 2200.0):  # cleared, then two samples again: fires again
        await speed(client, value)

    async def twice() -> Any:
        stats = (await figures(client))["rules"][0]["stats"]
        return stats if stats["fired"] == 2 else None

    await until(twice)


async def test_manual_mode_refuses_the_rules_command_and_counts_it(
    client: httpx.AsyncClient,
) -> None:
    await setup(client)
    held = {"manual": True, "by": "ana"}
    assert (await client.put("/twins/urn:ngsi-ld:Pump:1/manualMode", json=held)).status_code == 200
    for value in (2100.0, 2200.0):
        await speed(client, value)

    async def refused() -> Any:
        found = await figures(client)
        return found if found["rules"][0]["stats"]["refused"] == 1 else None

    found = await until(refused)
    assert found["automationRate"] == 0.0
    (execution,) = await executions(client)
    assert execution["https://twinserver.dev/ns/status"] == "refused"


async def test_the_cooldown_and_hourly_limit_suppress_repeats(client: httpx.AsyncClient) -> None:
    assert (await client.post("/models", json=[ASSET, MOTOR, TANK, PUMP])).status_code == 201
    created = await client.post(f"{NGSI}/entities", json=pump(), headers={"Link": LINK})
    assert created.status_code == 201
    rule = dict(RULE, id="limited", cooldown=3600, when={"attribute": "speed", "above": 2000})
    rule["actions"] = [{"alert": {"severity": "low"}}]
    assert (await client.post("/rules", json=rule, headers={"Link": LINK})).status_code == 201
    for value in (2100.0, 1000.0, 2100.0, 1000.0, 2100.0):  # cleared each time, but cooling down
        await speed(client, value)

    async def counted() -> Any:
        stats = (await figures(client))["rules"][0]["stats"]
        return stats if stats["fired"] == 1 and stats["suppressed"] == 2 else None

    await until(counted)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"when": {"attribute": "speed"}}, "exactly one of above and below"),
        ({"actions": [{}]}, "sends a command or raises an alert"),
        ({"actions": []}, "actions"),
        ({"cooldown": -1}, "cooldown"),
    ],
)
async def test_a_bad_rule_is_refused(
    client: httpx.AsyncClient, change: dict[str, Any], reason: str
) -> None:
    response = await client.post("/rules", json=RULE | change)
    assert response.status_code == 400
    assert reason in response.json()["error"]["message"]
    assert (await figures(client))["rules"] == []
