"""Model operations through the API with real ONNX models (tests/inference/onnx_models.py):
versions registered with their SHA-256 pinned, shadow and A/B deployments, rollback without
a restart, hook features from related twins, history windows and periods, bundled hooks."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.adapters.test_mqtt_ingest import until
from tests.inference import onnx_models as om
from twin_server.app import create_app
from twin_server.config import Settings

pytestmark = pytest.mark.anyio
NGSI = "/ngsi-ld/v1"
SHADOW = "urn:ngsi-ld:Dataset:shadow:tanks:2"
ROOT = Path(__file__).resolve().parents[2]


def tank(n: int, level: float, **more: Any) -> dict[str, Any]:
    return {"id": f"urn:ngsi-ld:Tank:{n}", "type": "Tank", "level": {"value": level}, **more}


async def register(client: httpx.AsyncClient, body: dict[str, Any], model: str = "tanks") -> Any:
    response = await client.post(f"/inference/models/{model}/versions", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def score_of(client: httpx.AsyncClient, twin: str, dataset: str | None = None) -> Any:
    found = (await client.get(f"{NGSI}/entities/{twin}", params={"attrs": "score"})).json()
    instances = found.get("score")
    if instances is None:
        return None
    instances = instances if isinstance(instances, list) else [instances]
    return next((i for i in instances if i.get("datasetId") == dataset), None)


async def scored(client: httpx.AsyncClient, twin: str, value: float, **kw: Any) -> Any:
    async def check() -> Any:
        found = await score_of(client, twin, **kw)
        return found if found and abs(found["value"] - value) < 1e-4 else None

    return await until(check)


async def test_versions_shadow_split_and_rollback(client: httpx.AsyncClient) -> None:
    await register(client, om.version("tanks", "1", om.linear([1.0]), ["level"]))
    await register(client, om.version("tanks", "2", om.linear([10.0]), ["level"]))
    model = (await client.get("/inference/models/tanks")).json()
    assert model["deployment"]["active"] == "1"  # a new version does not act by itself
    assert [v["version"] for v in model["versions"]] == ["1", "2"]
    hook = {"id": "tanks", "model": "tanks", "type": "Tank"}
    assert (await client.post("/inference/hooks", json=hook)).status_code == 201

    shadowed = await client.put(
        "/inference/models/tanks/deployment", json={"active": "1", "shadow": ["2"]}
    )
    assert shadowed.status_code == 200, shadowed.text
    await client.post(f"{NGSI}/entities", json=tank(1, 0.5))
    acted = await scored(client, "urn:ngsi-ld:Tank:1", 0.5)
    assert acted["modelVersion"]["value"] == "1"
    assert "shadow" not in acted
    shadow = await scored(client, "urn:ngsi-ld:Tank:1", 5.0, dataset=SHADOW)
    assert shadow["shadow"]["value"] is True
    assert shadow["modelVersion"]["value"] == "2"
    assert shadow["inputs"]["value"] == {"level": 0.5}

    await client.put("/inference/models/tanks/deployment", json={"active": "2"})
    await client.patch(f"{NGSI}/entities/urn:ngsi-ld:Tank:1/attrs", json={"level": {"value": 0.6}})
    await scored(client, "urn:ngsi-ld:Tank:1", 6.0)

    rolled = await client.post("/inference/models/tanks/rollback")
    assert rolled.json()["deployment"] == {"active": "1", "shadow": ["2"], "split": {}}
    await client.patch(f"{NGSI}/entities/urn:ngsi-ld:Tank:1/attrs", json={"level": {"value": 0.7}})
    await scored(client, "urn:ngsi-ld:Tank:1", 0.7)

    split = await client.put(
        "/inference/models/tanks/deployment", json={"active": "1", "split": {"2": 0.5}}
    )
    assert split.status_code == 200, split.text
    for n in range(2, 22):
        await client.post(f"{NGSI}/entities", json=tank(n, 1.0))
    versions = []
    for n in range(2, 22):

        async def any_score(twin: str = f"urn:ngsi-ld:Tank:{n}") -> Any:
            return await score_of(client, twin)

        versions.append((await until(any_score))["modelVersion"]["value"])
    assert 4 <= versions.count("2") <= 16, versions  # about half, by twin id
    again = []
    for n in range(2, 22):  # the same twins go to the same versions
        await client.patch(
            f"{NGSI}/entities/urn:ngsi-ld:Tank:{n}/attrs", json={"level": {"value": 2.0}}
        )
    for n, first in zip(range(2, 22), versions, strict=True):
        expected = 2.0 if first == "1" else 20.0
        again.append((await scored(client, f"urn:ngsi-ld:Tank:{n}", expected))["modelVersion"])
    hooks = (await client.get("/inference/hooks")).json()
    assert hooks[0]["stats"]["shadowScored"] >= 1


async def test_a_bad_version_is_refused_and_changes_nothing(client: httpx.AsyncClient) -> None:
    good = om.version("tanks", "1", om.linear([1.0]), ["level"])
    wrong_pin = om.version("tanks", "1", om.linear([1.0]), ["level"], sha256="0" * 64)
    not_onnx = om.version("tanks", "1", b"not a model at all", ["level"])
    wrong_tensor = om.version("tanks", "1", om.linear([1.0]), ["level"])
    wrong_tensor["manifest"]["inputs"][0]["tensor"] = "input"
    cases = [
        (wrong_pin, "not the pinned 0000"),
        (not_onnx, "not an ONNX model onnxruntime can load"),
        (wrong_tensor, "the ONNX graph has inputs ['X']"),
        ({**good, "onnx": "%%%"}, "onnx: not valid base64"),
        ({"manifest": good["manifest"]}, '{"manifest": {…}, "onnx": "<base64>"}'),
        ({**good, "manifest": {**good["manifest"], "file": "../escape.onnx"}}, "file"),
        ({**good, "manifest": {**good["manifest"], "id": "other"}}, "is not 'tanks'"),
    ]
    for body, reason in cases:
        response = await client.post("/inference/models/tanks/versions", json=body)
        assert response.status_code == 400, (reason, response.text)
        assert reason in response.json()["error"]["message"], response.text
    assert (await client.get("/inference/models/tanks")).status_code == 404
    await register(client, good)
    again = await client.post("/inference/models/tanks/versions", json=good)
    assert again.status_code == 409
    unknown = await client.put("/inference/models/tanks/deployment", json={"active": "9"})
    assert unknown.status_code == 400
    assert "has no version ['9']" in unknown.json()["error"]["message"]
    bad_split = await client.put(
        "/inference/models/tanks/deployment", json={"active": "1", "split": {"1": 0.5}}
    )
    assert bad_split.status_code == 400
    no_history = await client.post("/inference/models/tanks/rollback")
    assert no_history.status_code == 400
    assert (await client.get("/inference/models/tanks")).json()["deployment"]["active"] == "1"


async def test_a_registered_version_and_its_deployment_survive_a_restart(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    for round_ in (1, 2):
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                if round_ == 1:
                    await register(client, om.version("tanks", "1", om.linear([1.0]), ["level"]))
                    await register(client, om.version("tanks", "2", om.linear([2.0]), ["level"]))
                    deployed = await client.put(
                        "/inference/models/tanks/deployment", json={"active": "2", "shadow": ["1"]}
                    )
                    assert deployed.status_code == 200
                else:
                    model = (await client.get("/inference/models/tanks")).json()
                    assert model["deployment"]["active"] == "2"
                    assert model["deployment"]["shadow"] == ["1"]
                    assert len(model["history"]) == 1


async def test_features_from_a_related_twin_and_a_history_window(
    client: httpx.AsyncClient,
) -> None:
    # score = level + 10 * upstream's pressure + 100 * mean of level over the last 60 s
    blob = om.linear([1.0, 10.0, 100.0])
    await register(client, om.version("tanks", "1", blob, ["level", "inlet", "levelMean"]))
    hook = {
        "id": "tanks",
        "model": "tanks",
        "type": "Tank",
        "watch": ["level"],
        "features": {
            "inlet": {"via": "fedBy", "attribute": "pressure"},
            "levelMean": {"attribute": "level", "window": 60, "aggregate": "mean"},
        },
    }
    created = await client.post("/inference/hooks", json=hook)
    assert created.status_code == 201, created.text
    pump = {"id": "urn:ngsi-ld:Pump:1", "type": "Pump", "pressure": {"value": 2.0}}
    await client.post(f"{NGSI}/entities", json=pump)
    fed = {"fedBy": {"type": "Relationship", "object": "urn:ngsi-ld:Pump:1"}}
    t0 = "2026-12-01T10:00:00Z"
    await client.post(
        f"{NGSI}/entities", json=tank(1, 1.0, **fed) | {"level": {"value": 1.0, "observedAt": t0}}
    )
    await scored(client, "urn:ngsi-ld:Tank:1", 1.0 + 20.0 + 100.0)
    for value, at in ((3.0, "2026-12-01T10:00:30Z"), (5.0, "2026-12-01T10:01:10Z")):
        await client.patch(
            f"{NGSI}/entities/urn:ngsi-ld:Tank:1/attrs",
            json={"level": {"value": value, "observedAt": at}},
        )
    # at 10:01:10 the 60 s window holds 3.0 (10:00:30) and 5.0, not 1.0 (10:00:00)
    await scored(client, "urn:ngsi-ld:Tank:1", 5.0 + 20.0 + 100.0 * 4.0)
    lonely = tank(2, 1.0)  # no fedBy: its inlet feature is missing
    await client.post(f"{NGSI}/entities", json=lonely)

    async def counted() -> Any:
        hooks = (await client.get("/inference/hooks")).json()
        return hooks[0]["stats"]["incomplete"] >= 1

    await until(counted)
    assert await score_of(client, "urn:ngsi-ld:Tank:2") is None
    bad = dict(
        hook,
        id="bad",
        features={"inlet": {"via": "fedBy", "attribute": "p", "window": 5, "aggregate": "mean"}},
    )
    refused = await client.post("/inference/hooks", json=bad)
    assert refused.status_code == 400
    assert "not a related twin's" in refused.json()["error"]["message"]


async def test_a_periodic_hook_scores_twins_that_do_not_change(client: httpx.AsyncClient) -> None:
    await register(client, om.version("tanks", "1", om.linear([2.0]), ["level"]))
    await client.post(f"{NGSI}/entities", json=tank(1, 4.0))
    hook = {"id": "tanks", "model": "tanks", "type": "Tank", "onChange": False, "every": 1}
    assert (await client.post("/inference/hooks", json=hook)).status_code == 201
    first = await scored(client, "urn:ngsi-ld:Tank:1", 8.0)

    async def rescored() -> Any:
        found = await score_of(client, "urn:ngsi-ld:Tank:1")
        return found if found["observedAt"] != first["observedAt"] else None

    await until(rescored, timeout=5)


async def test_hooks_bundled_in_a_model_folder_are_installed(tmp_path: Path) -> None:
    folder = tmp_path / "inference"
    shutil.copytree(ROOT / "inference/pump-anomaly", folder / "pump-anomaly")
    hook = {"id": "bundled", "model": "pump-anomaly", "type": "Pump"}
    (folder / "pump-anomaly/hooks.json").write_text(json.dumps([hook]))
    app = create_app(Settings(data_dir=tmp_path / "data", inference_dir=folder))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            hooks = (await client.get("/inference/hooks")).json()
    assert [h["id"] for h in hooks] == ["bundled"]


async def test_a_hook_with_q_scores_only_the_twins_matching_it(client: httpx.AsyncClient) -> None:
    await register(client, om.version("tanks", "1", om.linear([2.0]), ["level"]))
    hook = {"id": "tanks", "model": "tanks", "type": "Tank", "q": "level>1"}
    assert (await client.post("/inference/hooks", json=hook)).status_code == 201
    await client.post(f"{NGSI}/entities", json=tank(1, 0.5))
    await client.post(f"{NGSI}/entities", json=tank(2, 3.0))
    await scored(client, "urn:ngsi-ld:Tank:2", 6.0)
    assert await score_of(client, "urn:ngsi-ld:Tank:1") is None
    bad = await client.post("/inference/hooks", json=dict(hook, id="bad", q="(level>1"))
    assert bad.status_code == 400


async def test_a_confidence_tensor_becomes_the_predictions_confidence(
    client: httpx.AsyncClient,
) -> None:
    body = om.version("tanks", "1", om.with_confidence([1.0]), ["level"])
    body["manifest"]["outputs"][0]["confidence"] = "confidence"
    await register(client, body)
    await client.post("/inference/hooks", json={"id": "tanks", "model": "tanks", "type": "Tank"})
    await client.post(f"{NGSI}/entities", json=tank(1, 2.0))
    found = await scored(client, "urn:ngsi-ld:Tank:1", 2.0)
    assert found["confidence"]["value"] == pytest.approx(1 / (1 + math.exp(-2.0)), rel=1e-5)
    wrong = om.version("tanks", "2", om.with_confidence([1.0]), ["level"])
    wrong["manifest"]["outputs"][0]["confidence"] = "certainty"
    refused = await client.post("/inference/models/tanks/versions", json=wrong)
    assert refused.status_code == 400
    assert "'certainty'" in refused.json()["error"]["message"]
