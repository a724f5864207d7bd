"""Shared fixtures: settings in a temporary data dir, the app with its lifespan running, and an
httpx client talking to it through the ASGI transport (real HTTP semantics, no socket)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from twin_server.app import TwinApp, create_app
from twin_server.config import Settings


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[TwinApp]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: TwinApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


NGSI = "/ngsi-ld/v1"


def pump(n: int | str = 1, **attrs: Any) -> dict[str, Any]:
    """A small pump entity (normalized), with extra attributes given as keyword arguments."""
    entity: dict[str, Any] = {
        "id": f"urn:ngsi-ld:Pump:{n}",
        "type": "Pump",
        "speed": {"type": "Property", "value": 1450, "unitCode": "RPM"},
        "feeds": {"type": "Relationship", "object": "urn:ngsi-ld:Tank:1"},
    }
    entity.update(attrs)
    return entity


@pytest.fixture
def make_pump() -> Callable[..., dict[str, Any]]:
    return pump
