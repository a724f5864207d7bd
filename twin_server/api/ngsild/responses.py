"""Building NGSI-LD responses: JSON / JSON-LD / GeoJSON bodies and the Link header."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from twin_server.api.ngsild.problem import problem
from twin_server.api.ngsild.request import JSON, JSONLD, NgsiRequest
from twin_server.jsonld.termmap import TermMap


class NgsiResponse(Response):
    """A response built straight from bytes and raw headers (Starlette's Response re-encodes
    every header on each request; on the hot routes that is measurable)."""

    def __init__(self, body: bytes, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        self.status_code = status
        self.body = body
        self.background = None
        self.raw_headers = [(b"content-length", str(len(body)).encode()), *headers]


def body_response(
    nreq: NgsiRequest,
    data: Any,
    *,
    media: str = JSON,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """``data`` as ``media``: JSON gets a Link header, JSON-LD gets @context in the body."""
    if media == JSONLD:
        context = nreq.response_context()
        if isinstance(data, list):
            data = [{**d, "@context": context} if isinstance(d, dict) else d for d in data]
        elif isinstance(data, dict):
            data = {**data, "@context": context}
    return encoded_response(nreq, orjson.dumps(data), media=media, status=status, headers=headers)


def encoded_response(
    nreq: NgsiRequest,
    body: bytes,
    *,
    media: str = JSON,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """An already-encoded body with the NGSI-LD headers (Link for JSON, the tenant)."""
    raw = [(b"content-type", media.encode())]
    if media != JSONLD:
        raw.append((b"link", nreq.context_link().encode()))
    if nreq.tenant:
        raw.append((b"ngsild-tenant", nreq.tenant.encode()))
    for name, value in (headers or {}).items():
        raw.append((name.lower().encode(), value.encode()))
    return NgsiResponse(body, status, raw)


def no_content(nreq: NgsiRequest | None = None, **headers: str) -> Response:
    raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    if nreq is not None and nreq.tenant:
        raw.append((b"ngsild-tenant", nreq.tenant.encode()))
    return NgsiResponse(b"", 204, raw)


def update_result(
    nreq: NgsiRequest, updated: list[str], not_updated: list[tuple[str, str]], terms: TermMap
) -> Response:
    """204 when every attribute was updated, else 207 with an UpdateResult."""
    if not not_updated:
        return no_content(nreq)
    body = {
        "updated": [terms.compact(n) for n in updated],
        "notUpdated": [{"attributeName": terms.compact(n), "reason": r} for n, r in not_updated],
    }
    return body_response(nreq, body, status=207)


def batch_error(entity_id: Any, error: Exception) -> dict[str, Any]:
    return {"entityId": entity_id, "error": problem(error)}
