"""MQTT security against a real Mosquitto with TLS and passwords: a binding connects with an
X.509 client certificate or a username and password; a wrong one is reported as a failed
connection (and no twin changes)."""

from __future__ import annotations

import asyncio
import ssl
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.adapters.secure_broker import SecureBroker, available, secure_broker
from tests.adapters.test_mqtt_ingest import binding, entity, until

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(available() is not None, reason=f"secure broker: {available()}"),
]


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    with secure_broker(tmp_path_factory.mktemp("broker")) as running:
        yield running


def device(broker: SecureBroker, *, tls: bool) -> paho.Client:
    client = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
    if tls:
        client.tls_set(
            ca_certs=str(broker.ca),
            certfile=str(broker.client_cert),
            keyfile=str(broker.client_key),
            cert_reqs=ssl.CERT_REQUIRED,
        )
        client.connect("127.0.0.1", broker.tls_port)
    else:
        client.username_pw_set(broker.username, broker.password)
        client.connect("127.0.0.1", broker.password_port)
    client.loop_start()
    return client


async def publish_until(
    client: httpx.AsyncClient, broker: SecureBroker, topic: str, *, tls: bool
) -> Any:
    """A device (with the same kind of credential) publishes until the twin has its value."""
    sender = device(broker, tls=tls)

    async def arrived() -> Any:
        info = sender.publish(topic, b'{"rpm": 42}', qos=1)
        await asyncio.to_thread(info.wait_for_publish, 5)
        await asyncio.sleep(0.05)
        return await entity(client, "urn:ngsi-ld:Pump:s1", options="keyValues")

    try:
        return await until(arrived)
    finally:
        sender.disconnect()
        sender.loop_stop()


async def connection_state(client: httpx.AsyncClient) -> Any:
    adapters = (await client.get("/adapters")).json()
    return next(a for a in adapters if a["name"] == "mqtt")["connections"]


async def test_tls_with_a_client_certificate(
    client: httpx.AsyncClient, broker: SecureBroker
) -> None:
    prefix = f"test/{uuid.uuid4().hex}"
    bound = binding(prefix)
    bound["connection"] = {
        "url": f"mqtts://127.0.0.1:{broker.tls_port}",
        "clientId": f"ts-{uuid.uuid4().hex}",
        "caFile": str(broker.ca),
        "certFile": str(broker.client_cert),
        "keyFile": str(broker.client_key),
    }
    assert (await client.post("/adapters/bindings", json=bound)).status_code == 201
    twin = await publish_until(client, broker, f"{prefix}/s1/state", tls=True)
    assert twin["speed"] == 42
    assert [c["connected"] for c in await connection_state(client)] == [True]


async def test_username_and_password(client: httpx.AsyncClient, broker: SecureBroker) -> None:
    prefix = f"test/{uuid.uuid4().hex}"
    bound = binding(prefix)
    url = f"mqtt://{broker.username}:{broker.password}@127.0.0.1:{broker.password_port}"
    bound["connection"] = {"url": url, "clientId": f"ts-{uuid.uuid4().hex}"}
    assert (await client.post("/adapters/bindings", json=bound)).status_code == 201
    twin = await publish_until(client, broker, f"{prefix}/s1/state", tls=False)
    assert twin["speed"] == 42


@pytest.mark.parametrize("credential", ["wrong password", "no client certificate"])
async def test_a_refused_credential_is_a_failed_connection(
    client: httpx.AsyncClient, broker: SecureBroker, credential: str
) -> None:
    bound = binding(f"test/{uuid.uuid4().hex}")
    if credential == "wrong password":
        url = f"mqtt://{broker.username}:nope@127.0.0.1:{broker.password_port}"
        bound["connection"] = {"url": url, "clientId": f"ts-{uuid.uuid4().hex}"}
    else:
        bound["connection"] = {
            "url": f"mqtts://127.0.0.1:{broker.tls_port}",
            "clientId": f"ts-{uuid.uuid4().hex}",
            "caFile": str(broker.ca),
        }
    assert (await client.post("/adapters/bindings", json=bound)).status_code == 201

    async def reported() -> Any:
        (connection,) = await connection_state(client)
        return connection if connection["error"] else None

    connection = await until(reported)
    assert connection["connected"] is False
    assert connection["error"].startswith(("connect refused", "disconnected:", "cannot connect"))
