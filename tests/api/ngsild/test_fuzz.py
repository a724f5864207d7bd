"""Random requests, hostile or malformed, never make the server answer 500."""

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

from tests.conftest import NGSI, pump
from twin_server.api.ngsild.temporal import TIME_PARAMS
from twin_server.app import create_app
from twin_server.config import Settings


@pytest.fixture(scope="module")
def portal_client(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[BlockingPortal, httpx.AsyncClient]]:
    data: Path = tmp_path_factory.mktemp("fuzz")
    app = create_app(Settings(data_dir=data, max_body_bytes=20_000))
    lifespan = app.router.lifespan_context(app)
    with start_blocking_portal() as portal, portal.wrap_async_context_manager(lifespan):
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        )
        portal.call(lambda: client.post(f"{NGSI}/entities", json=pump(1)))
        yield portal, client
        portal.call(client.aclose)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from(["urn:ngsi-ld:null", "urn:x:1", "Property", "Relationship", "GeoProperty"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "type",
                    "value",
                    "object",
                    "speed",
                    "@context",
                    "coordinates",
                    "datasetId",
                    "observedAt",
                    "languageMap",
                    "vocab",
                    "json",
                    "valueList",
                    "objectList",
                    "scope",
                    "entities",
                    "q",
                    "attrs",
                    "temporalQ",
                    "timerel",
                    "timeAt",
                    "notification",
                    "endpoint",
                    "uri",
                ]
            )
            | st.text(max_size=8),
            inner,
            max_size=5,
        )
    ),
    max_leaves=15,
)
paths = st.sampled_from(
    [
        "/entities",
        "/entities/urn:ngsi-ld:Pump:1",
        "/entities/urn:ngsi-ld:Pump:1/attrs",
        "/entities/urn:ngsi-ld:Pump:1/attrs/speed",
        "/entities/%20bad",
        "/entityOperations/create",
        "/entityOperations/upsert",
        "/entityOperations/update",
        "/entityOperations/delete",
        "/entityOperations/merge",
        "/entityOperations/query",
        "/types",
        "/types/Pump",
        "/attributes",
        "/attributes/speed",
        "/jsonldContexts",
        "/jsonldContexts/nope",
        "/entities/urn:x/attrs/%ZZ",
        "/temporal/entities",
        "/temporal/entities/urn:ngsi-ld:Pump:1",
        "/temporal/entities/urn:ngsi-ld:Pump:1/attrs",
        "/temporal/entities/urn:ngsi-ld:Pump:1/attrs/speed",
        "/temporal/entities/urn:ngsi-ld:Pump:1/attrs/speed/urn:ngsi-ld:Instance:1",
        "/temporal/entities/urn:ngsi-ld:Pump:1/attrs/speed/urn:ngsi-ld:Instance:99999999999999999999",
        "/temporal/entityOperations/query",
        "/subscriptions",
        "/subscriptions/urn:ngsi-ld:Subscription:x",
    ]
)
param_names = st.sampled_from(
    [
        "type",
        "q",
        "attrs",
        "pick",
        "omit",
        "options",
        "format",
        "limit",
        "offset",
        "count",
        "georel",
        "geometry",
        "coordinates",
        "idPattern",
        "id",
        "scopeQ",
        "lang",
        "datasetId",
        "deleteAll",
        "details",
        *TIME_PARAMS,
        "junk",
    ]
)
param_values = st.text(max_size=25) | st.sampled_from(
    [
        "Pump",
        "speed>1",
        "near;maxDistance==10",
        "Point",
        "[1,2]",
        "keyValues,sysAttrs",
        "true",
        "-1",
        "100000",
        "(((",
        "/a/#",
        'speed[x]=="y"',
        "concise",
        "between",
        "2026-01-01T00:00:00Z",
        "9999-99-99T00:00:00Z",
        "temporalValues",
        "aggregatedValues",
        "avg,sum,distinctCount",
        "PT1H",
        "P0D",
        "P99999999999Y",
    ]
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/ld+json",
        "application/merge-patch+json",
        "text/plain",
        "",
        "application/x",
    ]
)
links = st.sampled_from(
    [
        None,
        '<http://127.0.0.1:9/ctx.jsonld>; rel="http://www.w3.org/ns/json-ld#context"',
        "garbage",
        "<x>; rel=other",
    ]
)


@settings(max_examples=400, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "PATCH", "PUT", "DELETE"]),
    path=paths,
    params=st.dictionaries(param_names, param_values, max_size=4),
    body=json_values | st.binary(max_size=40),
    content_type=content_types,
    link=links,
    tenant=st.sampled_from([None, "acme", "bad tenant!", ""]),
    accept=st.sampled_from(
        [None, "application/json", "application/geo+json", "text/html", "*/*;q=0"]
    ),
)
def test_random_requests_never_get_a_500(
    portal_client: tuple[BlockingPortal, httpx.AsyncClient],
    method: str,
    path: str,
    params: dict[str, str],
    body: Any,
    content_type: str,
    link: str | None,
    tenant: str | None,
    accept: str | None,
) -> None:
    portal, client = portal_client
    headers = {"Content-Type": content_type}
    for name, value in (("Link", link), ("NGSILD-Tenant", tenant), ("Accept", accept)):
        if value is not None:
            headers[name] = value
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = portal.call(
        lambda: client.request(method, NGSI + path, params=params, content=content, headers=headers)
    )
    assert response.status_code < 500 or response.status_code == 504, (
        response.status_code,
        response.text,
    )
    if response.status_code >= 400 and response.content:
        problem = response.json()
        assert problem["type"].startswith("https://uri.etsi.org/ngsi-ld/errors/")
        assert problem["detail"]
