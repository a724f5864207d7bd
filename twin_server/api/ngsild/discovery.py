"""/types, /types/{type}, /attributes, /attributes/{attrId}: what the graph holds."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from twin_server.api.ngsild import params as p
from twin_server.api.ngsild.context import services
from twin_server.api.ngsild.entities import read_request
from twin_server.api.ngsild.request import JSON, JSONLD, negotiate
from twin_server.api.ngsild.responses import body_response
from twin_server.errors import NotFound


async def list_types(request: Request) -> Response:
    """The entity types in use (details=true: with their attribute names)."""
    media = negotiate(request, (JSON, JSONLD))
    nreq = await read_request(request, ("details", "local"))
    graph = services(request).graph
    await graph.check_tenant(nreq.tenant)
    counts = await graph.store.type_counts(nreq.tenant)
    terms = nreq.terms
    if not p.flag(nreq.params, "details"):
        body: Any = {
            "id": f"urn:ngsi-ld:EntityTypeList:{uuid.uuid4()}",
            "type": "EntityTypeList",
            "typeList": sorted(terms.compact(t) for t in counts),
        }
        return body_response(nreq, body, media=media)
    stats = await graph.store.attribute_stats(nreq.tenant)
    body = [
        {
            "id": t,
            "type": "EntityType",
            "typeName": terms.compact(t),
            "attributeNames": sorted(terms.compact(s.name) for s in stats if t in s.types),
        }
        for t in sorted(counts)
    ]
    return body_response(nreq, body, media=media)


async def retrieve_type(request: Request) -> Response:
    """One entity type: how many entities have it and the attributes they hold."""
    media = negotiate(request, (JSON, JSONLD))
    nreq = await read_request(request, ("local",))
    graph = services(request).graph
    await graph.check_tenant(nreq.tenant)
    terms = nreq.terms
    iri = terms.expand(request.path_params["type"])
    counts = await graph.store.type_counts(nreq.tenant)
    if iri not in counts:
        raise NotFound(f"no entity has type {request.path_params['type']}")
    stats = await graph.store.attribute_stats(nreq.tenant)
    body = {
        "id": iri,
        "type": "EntityTypeInfo",
        "typeName": terms.compact(iri),
        "entityCount": counts[iri],
        "attributeDetails": [
            {
                "id": s.name,
                "type": "Attribute",
                "attributeName": terms.compact(s.name),
                "attributeTypes": sorted(s.kinds),
            }
            for s in sorted(stats, key=lambda s: s.name)
            if iri in s.types
        ],
    }
    return body_response(nreq, body, media=media)


async def list_attributes(request: Request) -> Response:
    """The attribute names in use (details=true: with kinds, counts and entity types)."""
    media = negotiate(request, (JSON, JSONLD))
    nreq = await read_request(request, ("details", "local"))
    graph = services(request).graph
    await graph.check_tenant(nreq.tenant)
    stats = await graph.store.attribute_stats(nreq.tenant)
    terms = nreq.terms
    if not p.flag(nreq.params, "details"):
        body: Any = {
            "id": f"urn:ngsi-ld:AttributeList:{uuid.uuid4()}",
            "type": "AttributeList",
            "attributeList": sorted(terms.compact(s.name) for s in stats),
        }
        return body_response(nreq, body, media=media)
    body = [_attribute(s, terms) for s in sorted(stats, key=lambda s: s.name)]
    return body_response(nreq, body, media=media)


async def retrieve_attribute(request: Request) -> Response:
    """One attribute name: its kinds, how many entities hold it and their types."""
    media = negotiate(request, (JSON, JSONLD))
    nreq = await read_request(request, ("local",))
    graph = services(request).graph
    await graph.check_tenant(nreq.tenant)
    iri = nreq.terms.expand(request.path_params["attrId"])
    for stat in await graph.store.attribute_stats(nreq.tenant):
        if stat.name == iri:
            return body_response(nreq, _attribute(stat, nreq.terms), media=media)
    raise NotFound(f"no entity has attribute {request.path_params['attrId']}")


def _attribute(stat: Any, terms: Any) -> dict[str, Any]:
    return {
        "id": stat.name,
        "type": "Attribute",
        "attributeName": terms.compact(stat.name),
        "attributeCount": stat.count,
        "attributeTypes": sorted(stat.kinds),
        "typeNames": sorted(terms.compact(t) for t in stat.types),
    }
