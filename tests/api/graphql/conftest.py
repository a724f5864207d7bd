"""GraphQL test helpers: run a document over HTTP (ASGI transport) and return the answer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest


class GraphQL:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def __call__(
        self, query: str, variables: dict[str, Any] | None = None, **headers: str
    ) -> dict[str, Any]:
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        body = await self(query, variables)
        assert "errors" not in body, body["errors"]
        return body["data"]


@pytest.fixture
def gql(client: httpx.AsyncClient) -> GraphQL:
    return GraphQL(client)


@contextmanager
def counted_reads(store: Any) -> Iterator[dict[str, int]]:
    """Counts the store's scans and gets while the block runs."""
    calls = {"scan": 0, "get": 0}
    scan, get = store.scan, store.get

    def counted_scan(*args: Any, **kwargs: Any) -> Any:
        calls["scan"] += 1
        return scan(*args, **kwargs)

    async def counted_get(*args: Any, **kwargs: Any) -> Any:
        calls["get"] += 1
        return await get(*args, **kwargs)

    store.scan, store.get = counted_scan, counted_get
    try:
        yield calls
    finally:
        store.scan, store.get = scan, get
