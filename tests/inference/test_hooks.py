"""Inference hooks with the real pump-anomaly ONNX model (built by inference/pump-anomaly/
train.py): a change of a watched attribute scores the twin, and the prediction is attached as
twin state (predictedBy, modelVersion, observedAt) that GraphQL shows; a model whose file does
not match its pinned SHA-256 is refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.adapters.test_mqtt_ingest import until
from tests.api.graphql.conftest import GraphQL
from twin_server.app import create_app
from twin_server.config import Settings
from twin_server.simulation.pumps import Pump

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]
NGSI = "/ngsi-ld/v1"
PUMP = "dtmi:twinserver:example:Pump;1"
LINK = (
    f"<http://testserver/ngsi-ld/v1/jsonldContexts/{PUMP}>; "
    'rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
)
HOOK = {
    "id": "pumps",
    "model": "pump-anomaly",
    "type": "Pump",
    "watch": ["flowRate", "outletPressure", "motor"],
    "features": {
        "temperature": "motor/temperature",
        "current": "motor/current",
        "vibration": "motor/vibration",
    },
}
AT = "2026-12-01T10:00:00Z"


def state(pump: Pump, seed: int) -> dict[str, Any]:
    import random

    reading = pump.read(random.Random(seed))
    return {
        "flowRate": {"value": reading["flowRate"], "observedAt": AT},
        "outletPressure": {"value": reading["outletPressure"], "observedAt": AT},
        "speed": {"value": reading["speed"]},
        "motor": {"value": {k: reading[k] for k in ("temperature", "current", "vibration")}},
    }


async def upload_models(client: httpx.AsyncClient) -> None:
    files = sorted((ROOT / "dtdl/dtmi/twinserver/example").glob("*.json"))
    documents = [json.loads(f.read_text()) for f in files]
    response = await client.post("/models", json=documents)
    assert response.status_code == 201, response.text


async def prediction(client: httpx.AsyncClient, twin_id: str) -> Any:
    twin = (await client.get(f"{NGSI}/entities/{twin_id}", headers={"Link": LINK})).json()
    return twin.get("anomalyScore")


async def test_a_hooked_twin_gets_its_anomaly_score_as_a_prediction(
    client: httpx.AsyncClient, gql: GraphQL
) -> None:
    await upload_models(client)
    created = await client.post("/inference/hooks", json=HOOK, headers={"Link": LINK})
    assert created.status_code == 201, created.text
    healthy = {"id": "urn:ngsi-ld:Pump:1", "type": "Pump", **state(Pump(), 1)}
    response = await client.post(f"{NGSI}/entities", json=healthy, headers={"Link": LINK})
    assert response.status_code == 201, response.text

    async def scored() -> Any:
        found = await prediction(client, "urn:ngsi-ld:Pump:1")
        return found if found else None

    first = await until(scored)
    assert first["value"] < 0.5  # healthy
    assert first["predictedBy"]["value"] == "pump-anomaly"
    assert first["modelVersion"]["value"] == "1"
    assert "observedAt" in first
    faulty = state(Pump(fault="bearing", level=0.8), 2)
    patched = await client.patch(
        f"{NGSI}/entities/urn:ngsi-ld:Pump:1/attrs", json=faulty, headers={"Link": LINK}
    )
    assert patched.status_code == 204, patched.text

    async def anomalous() -> Any:
        found = await prediction(client, "urn:ngsi-ld:Pump:1")
        return found if found and found["value"] > 0.5 else None

    await until(anomalous)
    data = await gql.data(
        """{ twin(id: "urn:ngsi-ld:Pump:1") { ... on Pump { anomalyScorePrediction {
             value model modelVersion } } predictions { output model } } }"""
    )
    typed = data["twin"]["anomalyScorePrediction"]
    assert typed["value"] > 0.5
    assert typed["model"] == "pump-anomaly"
    assert data["twin"]["predictions"] == [{"output": "anomalyScore", "model": "pump-anomaly"}]
    hooks = (await client.get("/inference/hooks")).json()
    assert hooks[0]["stats"]["scored"] >= 2
    assert hooks[0]["stats"]["errors"] == 0
    metrics = (await client.get("/metrics")).text
    assert 'twin_inference_scored_total{hook="pumps"}' in metrics
    assert 'twin_inference_latency_seconds{hook="pumps",quantile="0.99"}' in metrics


async def test_a_model_whose_file_does_not_match_its_pin_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "inference"
    shutil.copytree(ROOT / "inference/pump-anomaly", folder / "pump-anomaly")
    model = folder / "pump-anomaly/model.onnx"
    model.write_bytes(model.read_bytes() + b"\0")  # one byte more: not the pinned file
    app = create_app(Settings(data_dir=tmp_path / "data", inference_dir=folder))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.get("/inference/models")).json() == []
            refused = await client.post("/inference/hooks", json=HOOK)
    assert refused.status_code == 400
    assert "there is no model 'pump-anomaly'" in refused.json()["error"]["message"]


async def test_a_bad_hook_is_refused_with_its_reason(client: httpx.AsyncClient) -> None:
    bad = dict(HOOK, features={"colour": "paint"})
    response = await client.post("/inference/hooks", json=bad)
    assert response.status_code == 400
    assert "['colour'] are not inputs of pump-anomaly" in response.json()["error"]["message"]
    assert (await client.get("/inference/hooks")).json() == []
