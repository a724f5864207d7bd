"""/jsonldContexts: @contexts hosted by this server (and the remote ones it has cached)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from twin_server.api.ngsild import params as p
from twin_server.api.ngsild.context import services
from twin_server.api.ngsild.problem import UnsupportedMediaType
from twin_server.api.ngsild.request import JSON, check_params, header, negotiate, read_json
from twin_server.errors import BadRequestData, NotFound

PATH = "/ngsi-ld/v1/jsonldContexts/"


def hosted_id(url: str) -> str | None:
    """The local id when ``url`` names a context hosted here (any host: ids are unique)."""
    _, found, rest = url.partition(PATH)
    return rest if found and rest and "/" not in rest else None


async def create_context(request: Request) -> Response:
    """Host a user @context on this server (201 with its Location)."""
    check_params(request, ())
    media = (header(request, "content-type") or "").split(";")[0].strip()
    if media not in ("application/json", "application/ld+json"):
        raise UnsupportedMediaType("send the @context as application/json or application/ld+json")
    s = services(request)
    body = await read_json(request, s.settings.max_body_bytes)
    if not isinstance(body, dict) or "@context" not in body:
        raise BadRequestData('the body must be a JSON object with an "@context" member')
    context = body["@context"]
    if not isinstance(context, dict | list | str):
        raise BadRequestData("@context must be an object, an array or a URL")
    await s.resolver.term_map(context)  # refuse what cannot be processed, before storing
    context_id = str(uuid.uuid4())
    await s.graph.store.put_context(context_id, "Hosted", {"@context": context})
    return Response(status_code=201, headers={"Location": PATH + context_id})


async def list_contexts(request: Request) -> Response:
    """The @contexts this server hosts or has cached (details=true, kind=Hosted|Cached)."""
    negotiate(request, (JSON,))
    params = check_params(request, ("details", "kind"))
    s = services(request)
    kind = params.get("kind")
    if kind is not None and kind not in ("Hosted", "Cached", "ImplicitlyCreated"):
        raise BadRequestData("kind must be Hosted, Cached or ImplicitlyCreated")
    base = str(request.base_url).rstrip("/") + PATH
    entries: list[dict[str, Any]] = [
        {"URL": base + cid, "localId": cid, "kind": k, "createdAt": at}
        for cid, k, at in await s.graph.store.list_contexts()
    ]
    for url, cached in s.resolver.remote.items():
        entries.append(
            {
                "URL": url,
                "localId": f"cached:{url}",
                "kind": "Cached",
                "createdAt": _iso(cached.created_at),
                "lastUsage": _iso(cached.last_used_at),
                "numberOfHits": cached.uses,
            }
        )
    if kind is not None:
        entries = [e for e in entries if e["kind"] == kind]
    if p.flag(params, "details"):
        return _json(entries)
    return _json([e["URL"] for e in entries])


async def retrieve_context(request: Request) -> Response:
    """A hosted @context document (details=true: information about it)."""
    negotiate(request, (JSON, "application/ld+json"))
    params = check_params(request, ("details",))
    s = services(request)
    context_id = request.path_params["contextId"]
    found = await s.graph.store.get_context(context_id)
    if found is None:
        raise NotFound(f"no @context with id {context_id} is hosted here")
    kind, document, created = found
    if p.flag(params, "details"):
        url = str(request.base_url).rstrip("/") + PATH + context_id
        return _json({"URL": url, "localId": context_id, "kind": kind, "createdAt": created})
    return _json(document, media="application/ld+json")


async def delete_context(request: Request) -> Response:
    """Delete a hosted @context."""
    check_params(request, ("reload",))
    s = services(request)
    context_id = request.path_params["contextId"]
    if not await s.graph.store.delete_context(context_id):
        raise NotFound(f"no @context with id {context_id} is hosted here")
    s.resolver.forget(str(request.base_url).rstrip("/") + PATH + context_id)
    return Response(status_code=204)


def _json(data: Any, media: str = JSON) -> Response:
    return Response(orjson.dumps(data), media_type=media)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
