"""What the demo sets up through the server's own APIs, as an operator would: the example DTDL
models, one twin per pump, the adapter bindings (OPC UA for the PLC values and the setpoint,
MQTT for the motor sensors), the anomaly hook and the rule that stops an anomalous pump."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from twin_server.demo.station import Station

EXAMPLES = Path(__file__).resolve().parents[2] / "dtdl/dtmi/twinserver/example"
PUMP_MODEL = "dtmi:twinserver:example:Pump;1"
THRESHOLD = 0.5  # the anomaly model's operating point (inference/pump-anomaly/README.md)
HOOK = {
    "id": "pump-anomaly",
    "model": "pump-anomaly",
    "type": "Pump",
    "watch": ["flowRate", "outletPressure", "motor"],
    "q": "speed>0",  # a stopped pump is outside what the model knows
    "staleAfter": 30,
    "features": {
        "temperature": "motor/temperature",
        "current": "motor/current",
        "vibration": "motor/vibration",
    },
}
RULE = {
    "id": "stop-anomalous-pump",
    "type": "Pump",
    "when": {"attribute": "anomalyScore", "above": THRESHOLD, "samples": 3},
    "clear": 0.3,
    "cooldown": 60,
    # the station runs each pump at one speed, a narrow part of the range the model was
    # trained on: by PSI its inputs drift, which is no reason to stop trusting its scores
    "holdOn": ["erroring", "stale inputs"],
    "actions": [
        {"command": "setSpeed", "payload": 0.0},
        {"alert": {"severity": "critical", "description": "pump anomaly: stopped by rule"}},
    ],
}


def link(base: str) -> str:
    return (
        f"<{base}/ngsi-ld/v1/jsonldContexts/{PUMP_MODEL}>; "
        'rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
    )


def twin_id(pump: str) -> str:
    return f"urn:ngsi-ld:Pump:{pump}"


async def configure(
    client: httpx.AsyncClient,
    station: Station,
    *,
    base: str,
    mqtt_url: str | None,
    prefix: str,
) -> None:
    documents = [json.loads(f.read_text()) for f in sorted(EXAMPLES.glob("*.json"))]
    await _ok(client.post("/models", json=documents), "uploading the example models")
    headers = {"Link": link(base)}
    for name in station.pumps:
        twin: dict[str, Any] = {
            "id": twin_id(name),
            "type": "Pump",
            "mode": {"type": "Property", "value": "automatic"},
        }
        await _ok(client.post("/ngsi-ld/v1/entities", json=twin, headers=headers), name)
        await _ok(client.post("/adapters/bindings", json=_opcua(station, name)), "a binding")
    if mqtt_url is not None:
        await _ok(client.post("/adapters/bindings", json=_mqtt(mqtt_url, prefix)), "a binding")
    await _ok(client.post("/inference/hooks", json=HOOK, headers=headers), "the hook")
    await _ok(client.post("/rules", json=RULE, headers=headers), "the rule")


def _opcua(station: Station, name: str) -> dict[str, Any]:
    return {
        "id": f"station-{name}",
        "adapter": "opcua",
        "connection": {"url": station.url, "publishingInterval": 100},
        "source": {"names": {"deviceId": name}, "samplingInterval": 100},
        "twin": "urn:ngsi-ld:Pump:{deviceId}",
        "attributes": [
            {"name": feature, "source": station.node(name, feature)}
            for feature in ("flowRate", "outletPressure", "speed")
        ],
        "commands": [{"command": "setSpeed", "target": {"write": station.node(name, "setpoint")}}],
    }


def _mqtt(url: str, prefix: str) -> dict[str, Any]:
    return {
        "id": "motor-sensors",
        "adapter": "mqtt",
        "connection": {"url": url, "cleanStart": True},
        "source": {"topic": prefix + "/{deviceId}/motor", "qos": 0},
        "twin": "urn:ngsi-ld:Pump:{deviceId}",
        "attributes": [{"name": "motor", "source": "/motor", "expect": "object"}],
    }


async def _ok(request: Any, what: str) -> httpx.Response:
    response: httpx.Response = await request
    if response.status_code >= 300:
        raise RuntimeError(f"demo set-up failed ({what}): {response.status_code} {response.text}")
    return response
