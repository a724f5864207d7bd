"""Reading a JSON request body for the non-NGSI-LD APIs (adapters, commands)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from twin_server.api.models.errors import PayloadTooLarge, UnsupportedMediaType
from twin_server.errors import BadRequestData

MAX_BYTES = 1024 * 1024


async def read_json(request: Request, what: str, max_bytes: int = MAX_BYTES) -> Any:
    """The body as JSON; 415 unless application/json, 413 past ``max_bytes``, 400 if not JSON."""
    media = request.headers.get("content-type", "").split(";")[0].strip()
    if media != "application/json":
        raise UnsupportedMediaType(f"{what} is sent as application/json")
    body = await request.body()
    if len(body) > max_bytes:
        raise PayloadTooLarge(f"{what} is at most {max_bytes} bytes")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequestData(f"the body is not JSON: {exc}") from None


async def read_named(request: Request, resource_id: str, what: str) -> dict[str, Any]:
    """A PUT body: a JSON object whose ``id`` (filled in when absent) is the path's."""
    data = await read_json(request, what)
    if not isinstance(data, dict):
        raise BadRequestData(f"{what} is a JSON object")
    if data.setdefault("id", resource_id) != resource_id:
        raise BadRequestData(f"the body's id {data['id']!r} is not {resource_id!r}")
    return data
