"""The store fixture: every backend available here (an unavailable one is skipped, saying why)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from twin_server.store import Store, open_store


@pytest.fixture(params=["memory", "sqlite", "neo4j"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "neo4j":
        if not os.environ.get("NEO4J_URI"):
            pytest.skip("Neo4j store: NEO4J_URI is not set (Neo4j cannot be installed here)")
        pytest.skip("Neo4j store: not implemented yet (scale-out issue)")
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path}/t.db"
    s = open_store(url)
    await s.open()
    yield s
    await s.close()
