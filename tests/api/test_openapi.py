"""The OpenAPI document describes every NGSI-LD route, each with a summary."""

from __future__ import annotations

import httpx
import pytest

from twin_server.api.ngsild.routes import TABLE

pytestmark = pytest.mark.anyio


async def test_openapi_lists_every_ngsi_ld_route_with_a_summary(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()
    operations = {
        op["operationId"]: (path, method, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
    }
    for (shape, method), (endpoint, names) in TABLE.items():
        path, found_method, op = operations[endpoint.__name__]
        assert found_method == method.lower()
        assert path.startswith("/ngsi-ld/v1/" + shape.split("/")[0])
        assert all("{" + name + "}" in path for name in names)
        assert op["summary"], endpoint.__name__
    assert "/health" in document["paths"]
    assert (await client.get("/docs")).status_code == 200
