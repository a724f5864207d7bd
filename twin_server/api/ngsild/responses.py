"""Building NGSI-LD responses: JSON / JSON-LD / GeoJSON bodies and the Link header."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from twin_server.api.ngsild.problem import problem
from twin_server.api.ngsild.request import GEOJSON, JSON, JSONLD, NgsiRequest
from twin_server.jsonld.termmap import TermMap


def body_response(
    nreq: NgsiRequest,
    data: Any,
    *,
    media: str = JSON,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """``data`` as ``media``: JSON gets a Link header, JSON-LD gets @context in the body."""
    out_headers = dict(headers or {})
    if media == JSONLD:
        context = nreq.response_context()
        if isinstance(data, list):
            data = [{**d, "@context": context} if isinstance(d, dict) else d for d in data]
        elif isinstance(data, dict):
            data = {**data, "@context": context}
    else:
        out_headers["Link"] = nreq.context_link()
    if nreq.tenant:
        out_headers["NGSILD-Tenant"] = nreq.tenant
    return Response(orjson.dumps(data), status_code=status, media_type=media, headers=out_headers)


def no_content(nreq: NgsiRequest | None = None, **headers: str) -> Response:
    out = dict(headers)
    if nreq is not None and nreq.tenant:
        out["NGSILD-Tenant"] = nreq.tenant
    return Response(status_code=204, headers=out)


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


def geojson_media(media: str) -> bool:
    return media == GEOJSON
