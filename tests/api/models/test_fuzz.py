"""Random model uploads and SPARQL requests never make the server answer 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.modeling.test_parser import ASSET, MOTOR
from twin_server.app import create_app
from twin_server.config import Settings

KEYS = [
    "@context",
    "@id",
    "@type",
    "contents",
    "name",
    "schema",
    "extends",
    "target",
    "fields",
    "enumValues",
    "enumValue",
    "valueSchema",
    "elementSchema",
    "mapKey",
    "mapValue",
    "displayName",
    "writable",
    "unit",
    "request",
    "response",
    "maxMultiplicity",
    "schemas",
]
ATOMS = [
    "dtmi:dtdl:context;3",
    "dtmi:dtdl:context;2",
    "Interface",
    "Telemetry",
    "Property",
    "Relationship",
    "Component",
    "Command",
    "Object",
    "Enum",
    "Array",
    "Map",
    "double",
    "string",
    "dtmi:com:example:Asset;1",
    "dtmi:com:example:X;1",
    "dtmi:bad",
    "Temperature",
]
documents = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12) | st.sampled_from(ATOMS),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=6)
    ),
    max_leaves=25,
)
interfaces = st.fixed_dictionaries(
    {
        "@context": st.sampled_from(["dtmi:dtdl:context;3", "dtmi:dtdl:context;2"]),
        "@id": st.sampled_from(["dtmi:com:example:F;1", "dtmi:com:example:G;1", "bad"]),
        "@type": st.just("Interface"),
    },
    optional={"contents": st.lists(documents, max_size=3), "extends": documents},
)


@pytest.fixture(scope="module")
def portal_client(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[BlockingPortal, httpx.AsyncClient]]:
    data: Path = tmp_path_factory.mktemp("models-fuzz")
    app = create_app(Settings(data_dir=data, sparql_timeout=2))
    lifespan = app.router.lifespan_context(app)
    with start_blocking_portal() as portal, portal.wrap_async_context_manager(lifespan):
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
        portal.call(lambda: client.post("/models", json=[ASSET, MOTOR]))
        yield portal, client
        portal.call(client.aclose)


@settings(max_examples=300, deadline=None)
@given(body=documents | interfaces | st.lists(interfaces, max_size=3))
def test_random_model_uploads_get_an_answer_not_a_crash(
    portal_client: tuple[BlockingPortal, httpx.AsyncClient], body: Any
) -> None:
    portal, client = portal_client
    response = portal.call(lambda: client.post("/models", content=json.dumps(body).encode()))
    assert response.status_code in (201, 400, 409), response.text
    if response.status_code == 201:  # keep the next examples able to create F and G again
        for model in response.json():
            portal.call(lambda m=model: client.delete(f"/models/{m['id']}"))


@settings(max_examples=150, deadline=None)
@given(
    query=st.text(max_size=60)
    | st.sampled_from(["SELECT * WHERE { ?s ?p ?o } LIMIT 3", "ASK {}", "DESCRIBE <urn:x>"])
)
def test_random_sparql_gets_an_answer_not_a_crash(
    portal_client: tuple[BlockingPortal, httpx.AsyncClient], query: str
) -> None:
    portal, client = portal_client
    response = portal.call(lambda: client.get("/sparql", params={"query": query}))
    assert response.status_code in (200, 400, 406, 503), response.text
