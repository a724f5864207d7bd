"""Random GraphQL documents and variables, hostile or malformed, never make the server answer
500, and every error they get carries a code."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import given, settings
from hypothesis import strategies as st

from twin_server.app import create_app
from twin_server.config import Settings

PIECES = [
    "{",
    "}",
    "(",
    ")",
    "query",
    "mutation",
    "subscription",
    "twin",
    "twins",
    "models",
    'id: "urn:ngsi-ld:Pump:1"',
    "id: 1",
    'type: "Pump"',
    'q: "speed>1"',
    "first: 100000",
    'after: "x"',
    "properties",
    'property(name: "speed")',
    "relationships",
    "target",
    "incoming",
    "source",
    "edges",
    "node",
    "createTwin",
    "updateTwin",
    "deleteTwin",
    "sendCommand",
    'command: "setSpeed"',
    "payload: {a: [1, 2]}",
    "properties: {speed: null}",
    "a: twin",
    "...",
    "fragment F on Twin { id }",
    "$v",
    "@skip(if: true)",
    "__typename",
    "__schema { types { name } }",
]
documents = st.lists(st.sampled_from(PIECES), max_size=14).map(" ".join) | st.text(max_size=60)
variables = st.dictionaries(
    st.sampled_from(["v", "after", "payload", "id"]),
    st.none() | st.integers() | st.text(max_size=10) | st.lists(st.integers(), max_size=3),
    max_size=3,
)


@pytest.fixture(scope="module")
def portal_client(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[BlockingPortal, httpx.AsyncClient]]:
    data: Path = tmp_path_factory.mktemp("gqlfuzz")
    app = create_app(Settings(data_dir=data))
    lifespan = app.router.lifespan_context(app)
    with start_blocking_portal() as portal, portal.wrap_async_context_manager(lifespan):
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        )
        body = {"id": "urn:ngsi-ld:Pump:1", "type": "Pump"}
        portal.call(lambda: client.post("/ngsi-ld/v1/entities", json=body))
        yield portal, client
        portal.call(client.aclose)


@settings(max_examples=300, deadline=None)
@given(document=documents, variables=variables)
def test_random_documents_never_get_a_500(
    portal_client: tuple[BlockingPortal, httpx.AsyncClient],
    document: str,
    variables: dict[str, Any],
) -> None:
    portal, client = portal_client
    response = portal.call(
        lambda: client.post("/graphql", json={"query": document, "variables": variables})
    )
    assert response.status_code < 500, response.text
    if response.headers["content-type"].startswith("text/plain"):
        # no document at all: refused by the GraphQL-over-HTTP layer before any execution
        assert response.status_code == 400
        assert response.text
        return
    body = response.json()
    for error in body.get("errors") or ():
        assert error["extensions"]["code"], error
        assert error["extensions"]["code"] != "INTERNAL_SERVER_ERROR", error
