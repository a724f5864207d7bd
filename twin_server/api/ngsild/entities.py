"""/entities and /entities/{id}: create, retrieve, query, replace, merge, delete."""

from __future__ import annotations

from urllib.parse import quote

import orjson
from starlette.requests import Request
from starlette.responses import Response

from twin_server.api.ngsild import params as p
from twin_server.api.ngsild.context import services
from twin_server.api.ngsild.render import feature, render_entity
from twin_server.api.ngsild.request import (
    GEOJSON,
    JSON,
    JSONLD,
    MERGE_PATCH,
    NgsiRequest,
    negotiate,
    ngsi_request,
)
from twin_server.api.ngsild.responses import body_response, encoded_response, no_content
from twin_server.core import ingest, operations
from twin_server.core.types import Entity
from twin_server.errors import BadRequestData, NotFound

ENTITIES = "/ngsi-ld/v1/entities/"
_OFFERED = (JSON, JSONLD, GEOJSON)
_SELECTORS = ("id", "idPattern", "type", "attrs", "q", "georel", "scopeQ")


async def read_request(request: Request, allowed: tuple[str, ...]) -> NgsiRequest:
    s = services(request)
    return await ngsi_request(
        request, resolver=s.resolver, allowed=allowed, max_body=s.settings.max_body_bytes
    )


async def write_request(
    request: Request, allowed: tuple[str, ...] = (), *, merge_patch: bool = False
) -> NgsiRequest:
    s = services(request)
    types = (JSON, JSONLD, MERGE_PATCH) if merge_patch else (JSON, JSONLD)
    return await ngsi_request(
        request,
        resolver=s.resolver,
        allowed=allowed,
        body=True,
        max_body=s.settings.max_body_bytes,
        content_types=types,
    )


async def create_entity(request: Request) -> Response:
    """Create an entity (201 with its Location; 409 AlreadyExists if the id is taken)."""
    nreq = await write_request(request, ("local",))
    entity = ingest.entity_from_payload(nreq.body, nreq.terms)
    await services(request).graph.write(nreq.tenant, entity["id"], operations.create(entity))
    location = ENTITIES + quote(entity["id"], safe=":")
    return Response(status_code=201, headers=_tenant_header(nreq, Location=location))


async def retrieve_entity(request: Request) -> Response:
    """Retrieve one entity (normalized, keyValues, concise or GeoJSON;
    attrs/pick/omit/lang/datasetId select what is shown).
    """
    media = negotiate(request, _OFFERED)
    nreq = await read_request(request, (*p.VIEW_PARAMS, "type", "datasetId"))
    entity = await services(request).graph.retrieve(nreq.tenant, request.path_params["id"])
    _check_type(entity, nreq)
    if media == JSON:
        return _cached_json(request, nreq, entity)
    view = p.view(nreq.params, nreq.terms)
    if media == GEOJSON:
        geometry = nreq.terms.expand(nreq.params.get("geometryProperty") or "location")
        return body_response(nreq, feature(entity, view, geometry), media=GEOJSON)
    return body_response(nreq, render_entity(entity, view), media=media)


def _cached_json(request: Request, nreq: NgsiRequest, entity: Entity) -> Response:
    """The JSON body of an entity, rendered once per (entity state, @context, parameters)."""
    cache = services(request).renders
    key = cache.key(nreq.tenant, entity, nreq.terms, request.scope.get("query_string", b""))
    body = cache.get(key, entity, nreq.terms)
    if body is None:
        body = orjson.dumps(render_entity(entity, p.view(nreq.params, nreq.terms)))
        cache.put(key, entity, nreq.terms, body)
    return encoded_response(nreq, body)


async def query_entities(request: Request) -> Response:
    """Query entities by id, idPattern, type, attrs, q, geo-query or scopeQ, paged with
    limit/offset (count=true adds NGSILD-Results-Count).
    """
    media = negotiate(request, _OFFERED)
    nreq = await read_request(request, (*p.VIEW_PARAMS, *p.QUERY_PARAMS, "datasetId"))
    params = nreq.params
    if not any(params.get(k) is not None for k in _SELECTORS):
        raise BadRequestData(
            "a query needs at least one of id, idPattern, type, attrs, q, georel or scopeQ"
        )
    s = services(request)
    query = p.entity_query(params, nreq.terms)
    view = p.view(params, nreq.terms)
    limit, offset, count = p.paging(params, s.settings)
    page = await s.graph.query(nreq.tenant, query, limit=limit, offset=offset, count=count)
    headers = {"NGSILD-Results-Count": str(page.total)} if count else {}
    if media == GEOJSON:
        geometry = nreq.terms.expand(params.get("geometryProperty") or "location")
        collection = {
            "type": "FeatureCollection",
            "features": [feature(e, view, geometry) for e in page.entities],
        }
        return body_response(nreq, collection, media=GEOJSON, headers=headers)
    body = [render_entity(e, view) for e in page.entities]
    return body_response(nreq, body, media=media, headers=headers)


async def purge_entities(request: Request) -> Response:
    """DELETE /entities (Purge Entities): the query's selectors pick the entities; ``drop``
    deletes only the named attributes of each, ``keep`` all attributes but the named ones, and
    without either the entities themselves are deleted. A purge needs at least one selector."""
    nreq = await read_request(request, (*p.SELECTION_PARAMS, "keep", "drop", "local"))
    params = nreq.params
    if not any(params.get(k) is not None for k in _SELECTORS):
        raise BadRequestData(
            "a purge needs at least one of id, idPattern, type, q, georel or "
            "scopeQ; it never deletes every entity implicitly"
        )
    keep = p.names(params.get("keep"), nreq.terms)
    drop = p.names(params.get("drop"), nreq.terms)
    if keep is not None and drop is not None:
        raise BadRequestData("keep and drop cannot be used together")
    graph = services(request).graph
    query = p.entity_query(params, nreq.terms)
    page = await graph.query(nreq.tenant, query, limit=2**62, offset=0, count=False)
    planned = [(e["id"], _purge_operation(e, keep, drop)) for e in page.entities]
    for start in range(0, len(planned), 1000):
        await graph.write_many(nreq.tenant, planned[start : start + 1000])
    return no_content(nreq)


def _purge_operation(
    entity: Entity, keep: frozenset[str] | None, drop: frozenset[str] | None
) -> operations.Operation:
    if drop is not None:
        return operations.delete_attributes(entity["id"], [a for a in entity["attrs"] if a in drop])
    if keep is not None:
        doomed = [a for a in entity["attrs"] if a not in keep]
        return operations.delete_attributes(entity["id"], doomed)
    return operations.delete(entity["id"])


async def replace_entity(request: Request) -> Response:
    """Replace an entity: its attributes become exactly those of the body."""
    nreq = await write_request(request)
    entity_id = request.path_params["id"]
    payload = nreq.body
    if isinstance(payload, dict):
        _check_body_id(payload, entity_id)
        payload = {**payload, "id": entity_id}
    entity = ingest.entity_from_payload(payload, nreq.terms)
    await services(request).graph.write(nreq.tenant, entity_id, operations.replace(entity))
    return no_content(nreq)


async def merge_entity(request: Request) -> Response:
    """Merge an entity (also application/merge-patch+json): given attributes are merged, urn:ngsi-
    ld:null deletes.
    """
    nreq = await write_request(
        request, ("options", "format", "observedAt", "lang"), merge_patch=True
    )
    entity_id = request.path_params["id"]
    payload = nreq.body
    if isinstance(payload, dict):
        _check_body_id(payload, entity_id)
        payload = {**payload, "id": entity_id}
    fragment = ingest.entity_from_payload(payload, nreq.terms, require_id=False, allow_null=True)
    fragment["id"] = entity_id
    await services(request).graph.write(nreq.tenant, entity_id, operations.merge(fragment))
    return no_content(nreq)


async def delete_entity(request: Request) -> Response:
    """Delete an entity."""
    nreq = await read_request(request, ("type", "local"))
    entity_id = request.path_params["id"]
    graph = services(request).graph
    if nreq.params.get("type") is not None:
        _check_type(await graph.retrieve(nreq.tenant, entity_id), nreq)
    await graph.check_tenant(nreq.tenant)
    await graph.write(nreq.tenant, entity_id, operations.delete(entity_id))
    return no_content(nreq)


def _check_type(entity: Entity, nreq: NgsiRequest) -> None:
    """``?type=`` on a single-entity request: the entity must have that type."""
    wanted = nreq.params.get("type")
    if wanted is not None:
        expanded = ingest.entity_types(wanted, nreq.terms)[0]
        if expanded not in entity["type"]:
            raise NotFound(f"entity {entity['id']} is not of type {wanted}")


def _check_body_id(payload: dict[str, object], entity_id: str) -> None:
    if "id" in payload and payload["id"] != entity_id:
        raise BadRequestData(f"the body's id {payload['id']!r} differs from the URL's {entity_id}")


def _tenant_header(nreq: NgsiRequest, **headers: str) -> dict[str, str]:
    if nreq.tenant:
        headers["NGSILD-Tenant"] = nreq.tenant
    return headers
