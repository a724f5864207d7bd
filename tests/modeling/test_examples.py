"""The example models in dtdl/ are valid, upload, and give twins that follow them."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from twin_server.modeling.files import read_sources
from twin_server.modeling.parser import parse_texts

EXAMPLES = Path(__file__).resolve().parents[2] / "dtdl"
PUMP_CONTEXT = "http://testserver/ngsi-ld/v1/jsonldContexts/dtmi:twinserver:example:Pump;1"
LINK = f'<{PUMP_CONTEXT}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'


def test_the_example_models_are_valid_dtdl() -> None:
    models = parse_texts(read_sources([EXAMPLES]))
    assert len(models.interfaces()) == 8


@pytest.mark.anyio
async def test_a_pump_twin_of_the_example_models(client: httpx.AsyncClient) -> None:
    documents = [json.loads(text) for _, text in read_sources([EXAMPLES])]
    assert (await client.post("/models", json=documents)).status_code == 201
    pump = {
        "id": "urn:ngsi-ld:Pump:P1",
        "type": "Pump",
        "serialNumber": {"value": "P1-2026"},
        "installedOn": {"value": "2026-03-01"},
        "speed": {"value": 1480.0, "unitCode": "RPM"},
        "mode": {"value": "automatic"},
        "flowRate": {"value": 12.5, "observedAt": "2026-11-25T10:00:00Z"},
        "motor": {"value": {"temperature": 58.0, "current": 11.2}},
        "feeds": {"type": "Relationship", "object": "urn:ngsi-ld:Tank:T1"},
    }
    created = await client.post("/ngsi-ld/v1/entities", json=pump, headers={"Link": LINK})
    assert created.status_code == 201, created.text
    wrong = {**pump, "id": "urn:ngsi-ld:Pump:P2", "installedOn": {"value": "March"}}
    refused = await client.post("/ngsi-ld/v1/entities", json=wrong, headers={"Link": LINK})
    assert refused.status_code == 400
    assert "'March' is not a date" in refused.json()["detail"]
