"""/subscriptions: create, query, retrieve, update and delete NGSI-LD subscriptions."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from twin_server.api.ngsild import params as p
from twin_server.api.ngsild.context import services
from twin_server.api.ngsild.contexts import PATH as CONTEXTS_PATH
from twin_server.api.ngsild.entities import read_request, write_request
from twin_server.api.ngsild.request import JSON, JSONLD, NgsiRequest, negotiate
from twin_server.api.ngsild.responses import body_response
from twin_server.subscriptions.parse import parse_subscription
from twin_server.subscriptions.service import render

SUBSCRIPTIONS = "/ngsi-ld/v1/subscriptions/"
_OFFERED = (JSON, JSONLD)


async def create_subscription(request: Request) -> Response:
    """Create a subscription (201 with its Location; 409 if its id is taken)."""
    nreq = await write_request(request)
    context = await _linkable(request, nreq)
    subscription = parse_subscription(
        nreq.body, nreq.terms, tenant=nreq.tenant, context=context, creating=True
    )
    await services(request).subscriptions.create(subscription)
    location = SUBSCRIPTIONS + quote(subscription.id, safe=":")
    headers = {"Location": location}
    if nreq.tenant:
        headers["NGSILD-Tenant"] = nreq.tenant
    return Response(status_code=201, headers=headers)


async def query_subscriptions(request: Request) -> Response:
    """The tenant's subscriptions, paged with limit/offset (count=true adds the count)."""
    media = negotiate(request, _OFFERED)
    nreq = await read_request(request, ("limit", "offset", "count", "options"))
    limit, offset, count = p.paging(nreq.params, services(request).settings)
    sys_attrs = "sysAttrs" in p.options(nreq.params, {"sysAttrs"})
    found = services(request).subscriptions.listing(nreq.tenant)
    body = [render(s, sys_attrs=sys_attrs) for s in found[offset : offset + limit]]
    headers = {"NGSILD-Results-Count": str(len(found))} if count else {}
    return body_response(nreq, body, media=media, headers=headers)


async def retrieve_subscription(request: Request) -> Response:
    media = negotiate(request, _OFFERED)
    nreq = await read_request(request, ("options",))
    sys_attrs = "sysAttrs" in p.options(nreq.params, {"sysAttrs"})
    found = services(request).subscriptions.get(nreq.tenant, request.path_params["id"])
    return body_response(nreq, render(found, sys_attrs=sys_attrs), media=media)


async def update_subscription(request: Request) -> Response:
    """Change the members given (notification's are merged member by member): 204."""
    nreq = await write_request(request)
    context = await _linkable(request, nreq) if nreq.context is not None else None
    await services(request).subscriptions.update(
        nreq.tenant, request.path_params["id"], nreq.body, nreq.terms, context
    )
    return Response(status_code=204)


async def delete_subscription(request: Request) -> Response:
    nreq = await read_request(request, ())
    await services(request).subscriptions.delete(nreq.tenant, request.path_params["id"])
    return Response(status_code=204)


async def _linkable(request: Request, nreq: NgsiRequest) -> Any:
    """The subscriber's @context as a URL notifications can name in a Link header: an inline
    context is hosted here (kind ImplicitlyCreated) and named by its URL."""
    if nreq.context is None or isinstance(nreq.context, str):
        return nreq.context
    context_id = str(uuid.uuid4())
    store = services(request).graph.store
    await store.put_context(context_id, "ImplicitlyCreated", {"@context": nreq.context})
    return str(request.base_url).rstrip("/") + CONTEXTS_PATH + context_id
