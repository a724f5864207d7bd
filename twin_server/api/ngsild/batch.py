"""/entityOperations/{create,upsert,update,delete,merge,query}: many entities per request.

Each entity succeeds or fails on its own; the response lists both (207 Multi-Status) unless
everything succeeded. All the writes of one request are committed together.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from twin_server.api.ngsild import params as p
from twin_server.api.ngsild.context import services
from twin_server.api.ngsild.entities import write_request
from twin_server.api.ngsild.render import render_entity
from twin_server.api.ngsild.request import JSON, JSONLD, NgsiRequest, negotiate
from twin_server.api.ngsild.responses import batch_error, body_response, no_content
from twin_server.core import ingest, operations
from twin_server.core.operations import Operation
from twin_server.core.types import Entity
from twin_server.errors import BadRequestData, TwinError
from twin_server.store.base import Applied

_Planned = list[tuple[Any, Operation | TwinError]]


async def batch_create(request: Request) -> Response:
    """Create many entities; 201 with their ids, or 207 with successes and per-entity errors."""
    nreq = await write_request(request, ("local",))
    plan = [_entity_op(nreq, item, operations.create) for item in _items(nreq, request)]
    successes, errors, _ = await _run(request, nreq, plan)
    if errors:
        return _multi_status(nreq, successes, errors)
    return body_response(nreq, successes, status=201)


async def batch_upsert(request: Request) -> Response:
    """Create or replace (options=replace, default) or update (options=update) many entities."""
    nreq = await write_request(request, ("options", "local"))
    opts = p.options(nreq.params, {"replace", "update"})
    if opts == {"replace", "update"}:
        raise BadRequestData("options replace and update exclude each other")
    update_mode = "update" in opts
    plan = [
        _entity_op(nreq, item, lambda e: operations.upsert(e, update_mode=update_mode))
        for item in _items(nreq, request)
    ]
    successes, errors, created = await _run(request, nreq, plan)
    if errors:
        return _multi_status(nreq, successes, errors)
    if created:
        return body_response(nreq, created, status=201)
    return no_content(nreq)


async def batch_update(request: Request) -> Response:
    """Append attributes to many existing entities (options=noOverwrite keeps existing values)."""
    nreq = await write_request(request, ("options", "local"))
    no_overwrite = "noOverwrite" in p.options(nreq.params, {"noOverwrite"})

    def build(entity: dict[str, Any]) -> Operation:
        return operations.append(
            entity["id"], entity["attrs"], no_overwrite=no_overwrite, types=entity.get("type")
        )

    plan = [_entity_op(nreq, item, build, require_type=False) for item in _items(nreq, request)]
    return await _all_or_multi(request, nreq, plan)


async def batch_merge(request: Request) -> Response:
    """Merge many entities, as PATCH /entities/{id} does for one."""
    nreq = await write_request(request, ("local",))
    plan = [
        _entity_op(nreq, item, operations.merge, require_type=False, allow_null=True)
        for item in _items(nreq, request)
    ]
    return await _all_or_multi(request, nreq, plan)


async def batch_delete(request: Request) -> Response:
    """Delete many entities by id."""
    nreq = await write_request(request, ("local",))
    plan: _Planned = []
    for item in _items(nreq, request):
        try:
            entity_id = ingest.entity_id(item)
            plan.append((entity_id, operations.delete(entity_id)))
        except TwinError as exc:
            plan.append((item, exc))
    return await _all_or_multi(request, nreq, plan)


async def batch_query(request: Request) -> Response:
    """Query entities with a Query object in the body (entities, attrs, q, geoQ, scopeQ)."""
    media = negotiate(request, (JSON, JSONLD))
    nreq = await write_request(
        request, ("limit", "offset", "count", "options", "format", "local", "lang")
    )
    body = nreq.body
    if not isinstance(body, dict) or body.get("type") != "Query":
        raise BadRequestData('the body must be a Query object ({"type": "Query", ...})')
    params = query_params(body)
    s = services(request)
    query = p.entity_query(params, nreq.terms)
    view = p.view({**params, **nreq.params}, nreq.terms)
    limit, offset, count = p.paging(nreq.params, s.settings)
    page = await s.graph.query(nreq.tenant, query, limit=limit, offset=offset, count=count)
    headers = {"NGSILD-Results-Count": str(page.total)} if count else {}
    return body_response(
        nreq, [render_entity(e, view) for e in page.entities], media=media, headers=headers
    )


def query_params(body: dict[str, Any]) -> dict[str, str]:
    """A Query object (clause 5.2.23) in the shape of GET /entities parameters."""
    unknown = set(body) - {
        "type",
        "entities",
        "attrs",
        "q",
        "geoQ",
        "scopeQ",
        "lang",
        "@context",
        "csf",
        "temporalQ",
    }
    if unknown:
        raise BadRequestData(f"unknown members of the Query: {sorted(unknown)}")
    params: dict[str, str] = {}
    selectors = body.get("entities") or []
    if not isinstance(selectors, list):
        raise BadRequestData("entities of a Query must be an array")
    ids = [s["id"] for s in selectors if isinstance(s, dict) and "id" in s]
    types = [s["type"] for s in selectors if isinstance(s, dict) and "type" in s]
    patterns = [s["idPattern"] for s in selectors if isinstance(s, dict) and "idPattern" in s]
    if ids:
        params["id"] = ",".join(ids)
    if types:
        params["type"] = ",".join(types)
    if patterns:
        params["idPattern"] = "|".join(f"(?:{x})" for x in patterns)
    if body.get("attrs"):
        params["attrs"] = ",".join(body["attrs"])
    for key in ("q", "scopeQ", "lang"):
        if body.get(key) is not None:
            params[key] = str(body[key])
    geo = body.get("geoQ")
    if isinstance(geo, dict):
        params["georel"] = str(geo.get("georel"))
        params["geometry"] = str(geo.get("geometry"))
        coordinates = geo.get("coordinates")
        params["coordinates"] = (
            coordinates if isinstance(coordinates, str) else orjson.dumps(coordinates).decode()
        )
        if geo.get("geoproperty"):
            params["geoproperty"] = str(geo["geoproperty"])
    return params


def _items(nreq: NgsiRequest, request: Request) -> list[Any]:
    body = nreq.body
    if not isinstance(body, list):
        raise BadRequestData("the body of a batch operation must be a JSON array")
    if not body:
        raise BadRequestData("the batch is empty")
    limit = services(request).settings.max_batch_entities
    if len(body) > limit:
        raise BadRequestData(f"the batch has {len(body)} entries; the limit is {limit}")
    return body


def _entity_op(
    nreq: NgsiRequest,
    item: Any,
    build: Callable[[Entity], Operation],
    *,
    require_type: bool = True,
    allow_null: bool = False,
) -> tuple[Any, Operation | TwinError]:
    """(entity id, operation), or (the id as given, the error) when the entry is invalid."""
    raw_id = item.get("id") if isinstance(item, dict) else None
    try:
        entity = ingest.entity_from_payload(
            item, nreq.terms, require_type=require_type, allow_null=allow_null
        )
        return entity["id"], build(entity)
    except TwinError as exc:
        return raw_id, exc


async def _run(
    request: Request, nreq: NgsiRequest, plan: _Planned
) -> tuple[list[str], list[dict[str, Any]], list[str]]:
    """Write the valid part of the plan; (succeeded ids, errors, created ids)."""
    runnable = [(eid, op) for eid, op in plan if not isinstance(op, TwinError)]
    seen: set[str] = set()
    for eid, _ in runnable:
        if eid in seen:
            raise BadRequestData(f"entity {eid} appears more than once in the batch")
        seen.add(eid)
    results = iter(await services(request).graph.write_many(nreq.tenant, runnable))
    successes: list[str] = []
    errors: list[dict[str, Any]] = []
    created: list[str] = []
    for eid, op in plan:
        outcome = op if isinstance(op, TwinError) else next(results)
        if isinstance(outcome, Exception):
            errors.append(batch_error(eid, outcome))
        else:
            successes.append(eid)
            if isinstance(outcome, Applied) and outcome.outcome.created:
                created.append(eid)
    return successes, errors, created


async def _all_or_multi(request: Request, nreq: NgsiRequest, plan: _Planned) -> Response:
    successes, errors, _ = await _run(request, nreq, plan)
    if errors:
        return _multi_status(nreq, successes, errors)
    return no_content(nreq)


def _multi_status(
    nreq: NgsiRequest, successes: list[str], errors: list[dict[str, Any]]
) -> Response:
    return body_response(nreq, {"success": successes, "errors": errors}, status=207)
