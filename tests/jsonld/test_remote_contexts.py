"""User @contexts named by URL: fetched once over real HTTP, cached, with a timeout and a size
limit; a context that cannot be fetched is 504 LdContextNotAvailable and nothing is written."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.conftest import NGSI, pump
from twin_server.app import TwinApp
from twin_server.config import Settings

pytestmark = pytest.mark.anyio

CONTEXT = {"@context": {"ex": "http://example.org/", "Pump": "ex:Pump", "speed": "ex:speed"}}


class ContextServer:
    def __init__(self) -> None:
        self.hits: dict[str, int] = {}
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits[self.path] = hits.get(self.path, 0) + 1
                if self.path == "/slow.jsonld":
                    time.sleep(1.5)
                if self.path in ("/ctx.jsonld", "/slow.jsonld"):
                    body = json.dumps(CONTEXT).encode()
                elif self.path == "/huge.jsonld":
                    body = json.dumps(
                        {"@context": {f"t{i}": f"http://x/{i}" for i in range(20000)}}
                    ).encode()
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/ld+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def context_server() -> Iterator[ContextServer]:
    server = ContextServer()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data", context_fetch_timeout=0.5, context_max_bytes=100_000
    )


def link(url: str) -> dict[str, str]:
    return {
        "Link": f'<{url}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
    }


async def test_link_header_context_is_fetched_once_and_used(
    client: httpx.AsyncClient, context_server: ContextServer
) -> None:
    headers = {"Content-Type": "application/json", **link(context_server.url + "/ctx.jsonld")}
    r = await client.post(f"{NGSI}/entities", json=pump(), headers=headers)
    assert r.status_code == 201, r.text
    plain = (await client.get(f"{NGSI}/entities/urn:ngsi-ld:Pump:1")).json()
    assert plain["type"] == "http://example.org/Pump"
    assert "http://example.org/speed" in plain
    compact = await client.get(
        f"{NGSI}/entities/urn:ngsi-ld:Pump:1", headers=link(context_server.url + "/ctx.jsonld")
    )
    assert compact.json()["type"] == "Pump"
    assert context_server.url + "/ctx.jsonld" in compact.headers["link"]
    assert context_server.hits["/ctx.jsonld"] == 1
    listed = (await client.get(f"{NGSI}/jsonldContexts", params={"kind": "Cached"})).json()
    assert listed == [context_server.url + "/ctx.jsonld"]


@pytest.mark.parametrize("path", ["/slow.jsonld", "/missing.jsonld", "/huge.jsonld"])
async def test_unfetchable_context_is_504_and_nothing_is_written(
    client: httpx.AsyncClient, context_server: ContextServer, path: str
) -> None:
    started = time.perf_counter()
    headers = {"Content-Type": "application/json", **link(context_server.url + path)}
    r = await client.post(f"{NGSI}/entities", json=pump(), headers=headers)
    assert time.perf_counter() - started < 1.4
    assert r.status_code == 504
    assert r.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/LdContextNotAvailable"
    assert path.split("/")[1] in r.json()["detail"]
    assert (await client.get(f"{NGSI}/entities/urn:ngsi-ld:Pump:1")).status_code == 404


async def test_hosted_context_can_be_named_in_a_link_header(
    app: TwinApp, client: httpx.AsyncClient
) -> None:
    r = await client.post(f"{NGSI}/jsonldContexts", json=CONTEXT)
    assert r.status_code == 201
    location = r.headers["location"]
    assert (await client.get(location)).json() == CONTEXT
    url = "http://testserver" + location
    headers = {"Content-Type": "application/json", **link(url)}
    assert (await client.post(f"{NGSI}/entities", json=pump(), headers=headers)).status_code == 201
    stored = (await client.get(f"{NGSI}/entities/urn:ngsi-ld:Pump:1")).json()
    assert stored["type"] == "http://example.org/Pump"
    details = (await client.get(f"{NGSI}/jsonldContexts", params={"details": "true"})).json()
    assert details[0]["kind"] == "Hosted"
    assert (await client.delete(location)).status_code == 204
    assert (await client.get(location)).status_code == 404


async def test_invalid_context_is_bad_request(client: httpx.AsyncClient) -> None:
    r = await client.post(f"{NGSI}/jsonldContexts", json={"@context": {"a": {"@id": 5}}})
    assert r.status_code == 400
    r = await client.post(f"{NGSI}/jsonldContexts", json={"nothing": 1})
    assert r.status_code == 400
