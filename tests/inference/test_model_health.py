"""Model health and the loop back to people: input drift (PSI) raises an Alert and can ask
for a retraining (a RetrainingRequest entity and a webhook at a real HTTP receiver); operator
feedback (REST and GraphQL) is stored with its inputs and exported as a labelled data set;
rules take their fail-safe when the model behind them errs or a twin's inputs go stale."""

from __future__ import annotations

import asyncio
import csv
import io
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.adapters.test_mqtt_ingest import until
from tests.api.graphql.conftest import GraphQL
from tests.inference import onnx_models as om
from tests.inference.test_model_ops import register, scored, tank
from tests.modeling.test_parser import ASSET, MOTOR, PUMP
from tests.modeling.test_twins import LINK, TANK, pump
from tests.subscriptions.receiver import running_receiver
from twin_server.app import create_app
from twin_server.config import Settings

pytestmark = pytest.mark.anyio
NGSI = "/ngsi-ld/v1"
VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"


async def entities_of(client: httpx.AsyncClient, kind: str) -> list[dict[str, Any]]:
    found = await client.get(f"{NGSI}/entities", params={"type": kind, "options": "keyValues"})
    result: list[dict[str, Any]] = found.json()
    return result


@pytest.fixture
async def small_window(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(data_dir=tmp_path / "data", inference_drift_window=200)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client


async def upsert_levels(client: httpx.AsyncClient, levels: list[float]) -> None:
    batch = [tank(n, level) for n, level in enumerate(levels)]
    response = await client.post(f"{NGSI}/entityOperations/upsert", json=batch)
    assert response.status_code in (201, 204), response.text


async def test_drift_raises_an_alert_and_asks_for_a_retraining(
    small_window: httpx.AsyncClient,
) -> None:
    client = small_window
    reference = {"level": {"mean": 0.0, "std": 1.0}}
    await register(
        client, om.version("tanks", "1", om.linear([1.0]), ["level"], reference=reference)
    )
    assert (
        await client.post(
            "/inference/hooks", json={"id": "tanks", "model": "tanks", "type": "Tank"}
        )
    ).status_code == 201
    async with running_receiver("/retrain") as receiver:
        policy = {"onDrift": True, "webhook": receiver.url}
        put = await client.put("/inference/models/tanks/retraining", json=policy)
        assert put.status_code == 200, put.text
        rng = random.Random(5)
        await upsert_levels(client, [rng.gauss(0, 1) for _ in range(200)])

        async def psi() -> Any:
            model = (await client.get("/inference/models/tanks")).json()
            return model["versions"][0]["health"]["psi"] or None

        stable = await until(psi)
        assert stable["level"] < 0.2
        assert await entities_of(client, "Alert") == []
        await upsert_levels(client, [rng.gauss(3, 1) for _ in range(200)])

        async def alerted() -> Any:
            return await entities_of(client, "Alert")

        alert = (await until(alerted))[0]
        assert alert["category"] == "modelDrift"
        assert alert["model"] == "tanks"
        assert alert["driftingInputs"] == ["level"]
        model = (await client.get("/inference/models/tanks")).json()
        health = model["versions"][0]["health"]
        assert health["state"] == "drifting"
        assert health["psi"]["level"] > 0.2
        hooks = (await client.get("/inference/hooks")).json()
        assert hooks[0]["health"]["state"] == "drifting"
        request = (await receiver.wait_for(1))[0].body
        assert request["model"] == "tanks"
        assert request["reason"] == "drift"
        requests = await entities_of(client, "RetrainingRequest")
        assert [r["trigger"] for r in requests] == ["drift"]

        async def answered() -> Any:
            found = (await client.get("/inference/models/tanks")).json()["retraining"]
            return found.get("lastWebhook")

        assert (await until(answered))["status"] == 204
        await upsert_levels(client, [rng.gauss(3, 1) for _ in range(100)])
        await asyncio.sleep(0.3)
        assert len(await entities_of(client, "Alert")) == 1  # one alert per drift, not per batch


async def test_feedback_is_stored_with_its_inputs_exported_and_counted(
    client: httpx.AsyncClient, gql: GraphQL
) -> None:
    await register(client, om.version("tanks", "1", om.linear([2.0]), ["level"]))
    await client.post("/inference/hooks", json={"id": "tanks", "model": "tanks", "type": "Tank"})
    await client.put("/inference/models/tanks/retraining", json={"afterFeedback": 2})
    await client.post(f"{NGSI}/entities", json=tank(1, 3.0))
    await client.post(f"{NGSI}/entities", json=tank(2, 1.5))
    await scored(client, "urn:ngsi-ld:Tank:1", 6.0)
    await scored(client, "urn:ngsi-ld:Tank:2", 3.0)
    marked = await client.post(
        "/inference/feedback",
        json={
            "twin": "urn:ngsi-ld:Tank:1",
            "attribute": "score",
            "label": "falsePositive",
            "note": "the level gauge was being cleaned",
        },
    )
    assert marked.status_code == 201, marked.text
    record = marked.json()
    assert record["model"] == "tanks"
    assert record["modelVersion"] == "1"
    assert record["value"] == pytest.approx(6.0)
    assert record["inputs"] == {"level": 3.0}
    assert await entities_of(client, "RetrainingRequest") == []
    refusals = [
        (
            {"twin": "urn:ngsi-ld:Tank:1", "attribute": "level", "label": "truePositive"},
            400,
            "has no prediction 'level'",
        ),
        (
            {"twin": "urn:ngsi-ld:Tank:9", "attribute": "score", "label": "truePositive"},
            404,
            "there is no twin",
        ),
        ({"twin": "urn:ngsi-ld:Tank:1", "attribute": "score", "label": "maybe"}, 400, "label"),
    ]
    for body, status, reason in refusals:
        response = await client.post("/inference/feedback", json=body)
        assert response.status_code == status, response.text
        assert reason in response.json()["error"]["message"]
    data = await gql.data("""mutation { markPrediction(twinId: "urn:ngsi-ld:Tank:2",
        attribute: "score", label: "truePositive") }""")
    assert data["markPrediction"]["label"] == "truePositive"
    requests = await entities_of(client, "RetrainingRequest")
    assert [(r["trigger"], r["feedbackCount"]) for r in requests] == [("feedback", 2)]
    exported = await client.get("/inference/feedback", params={"model": "tanks", "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["twin"], r["label"], r["level"]) for r in rows] == [
        ("urn:ngsi-ld:Tank:1", "falsePositive", "3.0"),
        ("urn:ngsi-ld:Tank:2", "truePositive", "1.5"),
    ]
    assert len((await client.get("/inference/feedback")).json()) == 2
    assert (await client.get("/inference/feedback", params={"format": "xml"})).status_code == 400


RISK_RULE: dict[str, Any] = {
    "id": "risk",
    "type": "Pump",
    "when": {"attribute": "risk", "above": 2000, "samples": 1},
    "cooldown": 0,
    "actions": [{"command": "setSpeed", "payload": 1000.0}],
    "failSafe": [
        {"command": "setSpeed", "payload": 0.0},
        {"alert": {"severity": "high", "category": "failSafe"}},
    ],
}


async def pump_setup(
    client: httpx.AsyncClient, blob: bytes, rule: dict[str, Any] | None = None, **hook: Any
) -> None:
    assert (await client.post("/models", json=[ASSET, MOTOR, TANK, PUMP])).status_code == 201
    await register(client, om.version("risk", "1", blob, ["speed"], output="risk"), model="risk")
    body = {"id": "risk", "model": "risk", "type": "Pump", "watch": ["speed"], **hook}
    created = await client.post("/inference/hooks", json=body, headers={"Link": LINK})
    assert created.status_code == 201, created.text
    made_rule = await client.post("/rules", json=rule or RISK_RULE, headers={"Link": LINK})
    assert made_rule.status_code == 201, made_rule.text
    made = await client.post(f"{NGSI}/entities", json=pump(), headers={"Link": LINK})
    assert made.status_code == 201, made.text


async def speed(client: httpx.AsyncClient, value: float) -> None:
    url = f"{NGSI}/entities/urn:ngsi-ld:Pump:1/attrs"
    body = {"speed": {"value": value}}
    assert (await client.patch(url, json=body, headers={"Link": LINK})).status_code == 204


async def commands(client: httpx.AsyncClient) -> list[Any]:
    found = await entities_of(client, "https://twinserver.dev/ns/CommandExecution")
    return [e["https://twinserver.dev/ns/payload"] for e in found]


async def rule_stats(client: httpx.AsyncClient) -> dict[str, Any]:
    stats: dict[str, Any] = (await client.get("/rules")).json()["rules"][0]["stats"]
    return stats


async def test_stale_inputs_take_the_fail_safe_and_hold_the_rule_back(
    client: httpx.AsyncClient,
) -> None:
    await pump_setup(client, om.linear([1.0]), staleAfter=1)
    await speed(client, 100.0)

    async def fail_safe_sent() -> Any:
        return (await rule_stats(client))["failSafes"] == 1 and await commands(client)

    sent = await until(fail_safe_sent, timeout=6)
    assert sent == [0.0]
    hooks = (await client.get("/inference/hooks")).json()
    assert hooks[0]["health"]["staleTwins"] == 1

    async def alerted() -> Any:  # the fail-safe's second action, after its command
        return await entities_of(client, "Alert")

    alerts = await until(alerted)
    assert [a["category"] for a in alerts] == ["failSafe"]
    assert "stale inputs" in alerts[0]["cause"]
    await speed(client, 3000.0)  # fresh inputs: healthy again, and the rule acts

    async def acted() -> Any:
        found = await commands(client)
        return found if len(found) == 2 else None

    assert sorted(await until(acted)) == [0.0, 1000.0]


async def test_an_erroring_model_takes_the_fail_safe_once(client: httpx.AsyncClient) -> None:
    # the lookup model scores speeds 0 to 9 and fails on anything else
    await pump_setup(client, om.lookup([3000.0] * 10))
    await speed(client, 1.0)

    async def risky() -> Any:
        return (await rule_stats(client))["fired"] == 1

    await until(risky)
    for value in (50.0, 51.0, 52.0, 53.0):
        await speed(client, value)
        await asyncio.sleep(0.1)

    async def failed_safe() -> Any:
        return (await rule_stats(client))["failSafes"] == 1

    await until(failed_safe)
    model = (await client.get("/inference/models/risk")).json()
    health = model["versions"][0]["health"]
    assert health["state"] == "erroring"
    assert "indices element out of data bounds" in health["lastError"]
    payloads = sorted(await commands(client))
    assert payloads == [0.0, 1000.0]  # the first firing, then the fail-safe, once
    hooks = (await client.get("/inference/hooks")).json()
    assert hooks[0]["health"]["state"] == "erroring"
    assert hooks[0]["stats"]["errors"] >= 3
    await speed(client, 2.0)  # scored again (risk 3000), but the model is still unhealthy

    async def held_back() -> Any:
        return (await rule_stats(client))["heldBackUnhealthy"] >= 1

    await until(held_back)
    assert sorted(await commands(client)) == [0.0, 1000.0]
    assert (await rule_stats(client))["fired"] == 1


async def test_a_rule_holds_back_only_in_the_states_it_names(client: httpx.AsyncClient) -> None:
    rule = dict(RISK_RULE, holdOn=["erroring"])
    await pump_setup(client, om.linear([1.0]), rule, staleAfter=1)
    await speed(client, 100.0)

    async def stale() -> Any:
        hooks = (await client.get("/inference/hooks")).json()
        return hooks[0]["health"]["staleTwins"] == 1

    await until(stale, timeout=6)
    await asyncio.sleep(0.3)
    stats = await rule_stats(client)
    assert stats["failSafes"] == 0
    assert await commands(client) == []
