"""The models API over HTTP (ASGI transport): upload in every format, all or nothing, list,
get, decommission, delete, and the @context generated for NGSI-LD tools."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.modeling.test_parser import ASSET, MOTOR, PUMP
from twin_server.app import create_app
from twin_server.config import Settings

pytestmark = pytest.mark.anyio
TANK = {
    "@context": "dtmi:dtdl:context;3",
    "@id": "dtmi:com:example:Tank;1",
    "@type": "Interface",
    "contents": [{"@type": "Property", "name": "level", "schema": "double"}],
}
ALL = [ASSET, MOTOR, TANK, PUMP]


async def upload(client: httpx.AsyncClient, models: Any) -> httpx.Response:
    return await client.post("/models", json=models)


async def test_uploading_an_array_stores_every_model_with_its_metadata(
    client: httpx.AsyncClient,
) -> None:
    response = await upload(client, ALL)
    assert response.status_code == 201, response.text
    created = response.json()
    assert [m["id"] for m in created] == [m["@id"] for m in ALL]
    pump = next(m for m in created if m["id"] == "dtmi:com:example:Pump;1")
    assert pump["displayName"] == {"en": "Pump"}
    assert pump["decommissioned"] is False
    assert pump["uploadTime"].endswith("Z")
    assert pump["model"] == PUMP


async def test_an_invalid_model_stores_nothing_and_lists_every_error(
    client: httpx.AsyncClient,
) -> None:
    bad_motor = {**MOTOR, "contents": [{"@type": "Telemetry", "name": "t", "schema": "doubel"}]}
    bad_tank = {**TANK, "contents": [{"@type": "Property", "name": "2x", "schema": "double"}]}
    response = await upload(client, [ASSET, bad_motor, bad_tank, PUMP])
    assert response.status_code == 400
    assert response.headers["x-ms-error-code"] == "DTDLParserError"
    error = response.json()["error"]
    assert error["code"] == "DTDLParserError"
    assert sorted(d["validationId"] for d in error["details"]) == [
        "dtmi:dtdl:parsingError:badDtmiOrTerm",
        "dtmi:dtdl:parsingError:stringInvalid",
    ]
    assert {d["source"] for d in error["details"]} == {"upload"}
    assert all(isinstance(d["line"], int) for d in error["details"])
    listed = (await client.get("/models")).json()
    assert listed["value"] == []


async def test_a_model_referring_to_a_missing_one_is_refused_with_the_missing_dtmi(
    client: httpx.AsyncClient,
) -> None:
    response = await upload(client, PUMP)
    assert response.status_code == 400
    details = response.json()["error"]["details"]
    assert sorted(d["value"] for d in details if d["code"] == "unresolvedReference") == [
        "dtmi:com:example:Asset;1",
        "dtmi:com:example:Motor;1",
    ]


async def test_later_uploads_may_refer_to_stored_models(client: httpx.AsyncClient) -> None:
    assert (await upload(client, [ASSET, MOTOR, TANK])).status_code == 201
    assert (await upload(client, PUMP)).status_code == 201


async def test_models_are_immutable_a_second_upload_of_an_id_is_409(
    client: httpx.AsyncClient,
) -> None:
    assert (await upload(client, TANK)).status_code == 201
    again = await upload(client, TANK)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "ModelAlreadyExists"


async def test_multipart_files_and_zip_archives_upload_like_json(
    client: httpx.AsyncClient,
) -> None:
    files = [
        ("files", ("asset.json", json.dumps(ASSET), "application/json")),
        ("files", ("motor.json", json.dumps(MOTOR), "application/json")),
    ]
    response = await client.post("/models", files=files)
    assert response.status_code == 201, response.text
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("models/tank.json", json.dumps(TANK))
        archive.writestr("models/pump.json", json.dumps(PUMP))
        archive.writestr("README.txt", "not a model")
    response = await client.post(
        "/models", content=buffer.getvalue(), headers={"content-type": "application/zip"}
    )
    assert response.status_code == 201, response.text
    assert sorted(m["id"] for m in response.json()) == [
        "dtmi:com:example:Pump;1",
        "dtmi:com:example:Tank;1",
    ]


async def test_errors_in_a_multipart_upload_name_the_file_and_line(
    client: httpx.AsyncClient,
) -> None:
    bad = json.dumps({**TANK, "contents": [{"@type": "Nope", "name": "x"}]}, indent=2)
    response = await client.post("/models", files=[("f", ("tank.json", bad, "application/json"))])
    assert response.status_code == 400
    [detail] = response.json()["error"]["details"]
    assert (detail["source"], detail["line"]) == ("tank.json", 7)  # the "@type" line


async def test_listing_pages_and_follows_dependencies(client: httpx.AsyncClient) -> None:
    assert (await upload(client, ALL)).status_code == 201
    first = await client.get("/models", headers={"max-items-per-page": "3"})
    body = first.json()
    assert [m["id"] for m in body["value"]] == [m["@id"] for m in ALL[:3]]
    assert "model" not in body["value"][0]
    second = (await client.get(body["nextLink"], headers={"max-items-per-page": "3"})).json()
    assert [m["id"] for m in second["value"]] == ["dtmi:com:example:Pump;1"]
    assert second["nextLink"] is None
    deps = await client.get(
        "/models",
        params={"dependenciesFor": "dtmi:com:example:Pump;1", "includeModelDefinition": "true"},
    )
    ids = [m["id"] for m in deps.json()["value"]]
    assert ids[0] == "dtmi:com:example:Pump;1"
    assert sorted(ids[1:]) == ["dtmi:com:example:Asset;1", "dtmi:com:example:Motor;1"]
    assert deps.json()["value"][0]["model"] == PUMP


async def test_get_returns_one_model_or_404(client: httpx.AsyncClient) -> None:
    assert (await upload(client, TANK)).status_code == 201
    got = await client.get(f"/models/{quote(TANK['@id'])}", params={"includeModelDefinition": True})
    assert got.status_code == 200
    assert got.json()["model"] == TANK
    missing = await client.get("/models/dtmi:com:example:Nope;1")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "ModelNotFound"


async def test_a_model_is_decommissioned_with_a_json_patch(client: httpx.AsyncClient) -> None:
    assert (await upload(client, TANK)).status_code == 201
    patch = [{"op": "replace", "path": "/decommissioned", "value": True}]
    response = await client.patch(f"/models/{TANK['@id']}", json=patch)
    assert response.status_code == 204
    assert (await client.get(f"/models/{TANK['@id']}")).json()["decommissioned"] is True
    other = [{"op": "replace", "path": "/displayName", "value": "x"}]
    assert (await client.patch(f"/models/{TANK['@id']}", json=other)).status_code == 400


async def test_a_model_others_use_cannot_be_deleted_until_they_are(
    client: httpx.AsyncClient,
) -> None:
    assert (await upload(client, ALL)).status_code == 201
    refused = await client.delete("/models/dtmi:com:example:Asset;1")
    assert refused.status_code == 409
    assert "dtmi:com:example:Pump;1" in refused.json()["error"]["message"]
    assert (await client.delete("/models/dtmi:com:example:Pump;1")).status_code == 204
    assert (await client.delete("/models/dtmi:com:example:Asset;1")).status_code == 204
    assert (await client.get("/models/dtmi:com:example:Asset;1")).status_code == 404
    assert (await upload(client, ASSET)).status_code == 201  # the id is free again


async def test_a_model_with_twins_cannot_be_deleted(client: httpx.AsyncClient) -> None:
    assert (await upload(client, TANK)).status_code == 201
    # A DTMI holds ';', which NGSI-LD forbids in names: clients use the generated context.
    url = "http://testserver/ngsi-ld/v1/jsonldContexts/" + TANK["@id"]
    link = f'<{url}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
    twin = {"id": "urn:ngsi-ld:Tank:1", "type": "Tank", "level": {"value": 3}}
    created = await client.post("/ngsi-ld/v1/entities", json=twin, headers={"Link": link})
    assert created.status_code == 201, created.text
    refused = await client.delete(f"/models/{TANK['@id']}")
    assert refused.status_code == 409
    assert "1 twin" in refused.json()["error"]["message"]


async def test_the_generated_context_gives_ngsi_ld_tools_short_names(
    client: httpx.AsyncClient,
) -> None:
    assert (await upload(client, [ASSET, MOTOR, TANK, PUMP])).status_code == 201
    url = "http://testserver/ngsi-ld/v1/jsonldContexts/" + quote(PUMP["@id"], safe=":;")
    served = await client.get(url)
    assert served.status_code == 200, served.text
    terms = served.json()["@context"]
    assert terms["Pump"] == "dtmi:com:example:Pump;1"
    assert terms["serial"] == "dtmi:com:example:Asset:_contents:__serial;1"  # inherited
    link = f'<{url}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
    twin = {"id": "urn:ngsi-ld:Pump:1", "type": "Pump", "speed": {"value": 3.5}}
    created = await client.post("/ngsi-ld/v1/entities", json=twin, headers={"Link": link})
    assert created.status_code == 201, created.text
    plain = (await client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Pump:1")).json()
    assert plain["type"] == "dtmi:com:example:Pump;1"
    assert "dtmi:com:example:Pump:_contents:__speed;1" in plain
    short = await client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Pump:1", headers={"Link": link})
    assert short.json()["speed"]["value"] == 3.5


async def test_bad_uploads_are_refused_with_the_reason(client: httpx.AsyncClient) -> None:
    not_json = await client.post(
        "/models", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 400
    assert not_json.json()["error"]["details"][0]["code"] == "invalidJson"
    text = await client.post("/models", content=b"x", headers={"content-type": "text/plain"})
    assert text.status_code == 415
    bad_zip = await client.post(
        "/models", content=b"PK nope", headers={"content-type": "application/zip"}
    )
    assert bad_zip.status_code == 400
    assert "zip" in bad_zip.json()["error"]["message"]
    scalar = await upload(client, 42)
    assert scalar.status_code == 400
    assert scalar.json()["error"]["details"][0]["code"] == "notJsonObject"


async def test_stored_models_are_back_after_a_restart(settings: Settings) -> None:
    for round_ in range(2):
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                if round_ == 0:
                    assert (await upload(client, [ASSET, MOTOR, TANK])).status_code == 201
                else:
                    listed = (await client.get("/models")).json()["value"]
                    assert [m["id"] for m in listed] == [ASSET["@id"], MOTOR["@id"], TANK["@id"]]
                    # the reloaded models resolve references of a new upload
                    assert (await upload(client, PUMP)).status_code == 201


async def test_a_model_repository_folder_resolves_uploads_and_its_models_are_stored(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "repo" / "dtmi" / "com" / "example"
    folder.mkdir(parents=True)
    (folder / "asset-1.json").write_text(json.dumps(ASSET))
    (folder / "motor-1.json").write_text(json.dumps(MOTOR))
    (folder / "tank-1.json").write_text(json.dumps(TANK))
    settings = Settings(data_dir=tmp_path / "data", model_repository=tmp_path / "repo")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await upload(client, PUMP)
            assert response.status_code == 201, response.text
            stored = sorted(m["id"] for m in (await client.get("/models")).json()["value"])
            assert stored == [ASSET["@id"], MOTOR["@id"], PUMP["@id"]]


async def test_one_context_covers_every_model_with_its_unambiguous_names(
    client: httpx.AsyncClient,
) -> None:
    assert (await upload(client, ALL)).status_code == 201
    served = await client.get("/ngsi-ld/v1/jsonldContexts/models")
    assert served.status_code == 200
    terms = served.json()["@context"]
    assert terms["Pump"] == "dtmi:com:example:Pump;1"
    assert terms["Tank"] == "dtmi:com:example:Tank;1"
    assert terms["level"] == "dtmi:com:example:Tank:_contents:__level;1"
    assert "serial" in terms  # inherited by Pump, defined once in Asset
    assert (await client.delete("/models/dtmi:com:example:Pump;1")).status_code == 204
    after = (await client.get("/ngsi-ld/v1/jsonldContexts/models")).json()["@context"]
    assert "Pump" not in after
