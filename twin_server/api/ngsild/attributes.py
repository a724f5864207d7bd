"""/entities/{id}/attrs[/{attrId}]: append, update, partial update, replace, delete."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from twin_server.api.ngsild import params as p
from twin_server.api.ngsild.context import services
from twin_server.api.ngsild.entities import read_request, write_request
from twin_server.api.ngsild.responses import no_content, update_result
from twin_server.core import ingest, operations
from twin_server.core.types import VALUE_MEMBER, Instance
from twin_server.errors import BadRequestData
from twin_server.jsonld.termmap import TermMap


async def append_attributes(request: Request) -> Response:
    """Append attributes; existing ones are overwritten unless options=noOverwrite (207 lists those
    not updated).
    """
    nreq = await write_request(request, ("options", "local"))
    opts = p.options(nreq.params, {"noOverwrite"})
    entity_id = request.path_params["id"]
    payload = nreq.body
    if not isinstance(payload, dict):
        raise BadRequestData("the attributes must be a JSON object")
    types = ingest.entity_types(payload["type"], nreq.terms) if "type" in payload else None
    if "id" in payload and payload["id"] != entity_id:
        raise BadRequestData("the body's id differs from the URL's")
    attrs = ingest.attrs_from_payload(
        {k: v for k, v in payload.items() if k not in ("id", "type", "scope")}, nreq.terms
    )
    op = operations.append(entity_id, attrs, no_overwrite="noOverwrite" in opts, types=types)
    applied = await services(request).graph.write(nreq.tenant, entity_id, op)
    return update_result(nreq, applied.outcome.updated, applied.outcome.not_updated, nreq.terms)


async def update_attributes(request: Request) -> Response:
    """Update existing attributes; those that do not exist are reported as not updated (207)."""
    nreq = await write_request(request, ("options", "local"))
    entity_id = request.path_params["id"]
    payload = nreq.body
    if not isinstance(payload, dict) or not payload:
        raise BadRequestData("the attributes to update must be a non-empty JSON object")
    attrs = ingest.attrs_from_payload(
        {k: v for k, v in payload.items() if k not in ("id", "type")}, nreq.terms
    )
    applied = await services(request).graph.write(
        nreq.tenant, entity_id, operations.update(entity_id, attrs)
    )
    return update_result(nreq, applied.outcome.updated, applied.outcome.not_updated, nreq.terms)


async def partial_update_attribute(request: Request) -> Response:
    """Partially update one attribute: only the members given change."""
    nreq = await write_request(request, ("local",))
    entity_id, name = request.path_params["id"], request.path_params["attrId"]
    iri = ingest.attribute_name(name, nreq.terms)
    fragment = _fragment(name, nreq.body, nreq.terms)
    await services(request).graph.write(
        nreq.tenant, entity_id, operations.partial_update(entity_id, iri, fragment)
    )
    return no_content(nreq)


async def replace_attribute(request: Request) -> Response:
    """Replace one attribute."""
    nreq = await write_request(request, ("local",))
    entity_id, name = request.path_params["id"], request.path_params["attrId"]
    iri = ingest.attribute_name(name, nreq.terms)
    instances = ingest.attribute_instances(name, nreq.body, nreq.terms)
    await services(request).graph.write(
        nreq.tenant, entity_id, operations.replace_attribute(entity_id, iri, instances)
    )
    return no_content(nreq)


async def delete_attribute(request: Request) -> Response:
    """Delete one attribute (its default instance, one datasetId, or deleteAll=true)."""
    nreq = await read_request(request, ("datasetId", "deleteAll", "local"))
    entity_id, name = request.path_params["id"], request.path_params["attrId"]
    iri = ingest.attribute_name(name, nreq.terms)
    dataset = nreq.params.get("datasetId")
    if dataset is not None:
        dataset = ingest.entity_id(dataset)
    graph = services(request).graph
    await graph.check_tenant(nreq.tenant)
    op = operations.delete_attribute(
        entity_id, iri, dataset_id=dataset, delete_all=p.flag(nreq.params, "deleteAll")
    )
    await graph.write(nreq.tenant, entity_id, op)
    return no_content(nreq)


def _fragment(name: str, body: Any, terms: TermMap) -> Instance:
    """A partial-update body: the members of one instance to change. Without a ``type`` the
    attribute keeps its kind; without a value member only metadata and sub-attributes change.
    """
    if not isinstance(body, dict) or not body:
        raise BadRequestData(f"the update of {name!r} must be a non-empty JSON object")
    has_value = "type" in body or any(m in body for m in VALUE_MEMBER.values())
    parsed = ingest.instance(name, body if has_value else {**body, "value": 0}, terms)
    if not has_value:
        del parsed["value"]
    if "type" not in body:
        del parsed["type"]
    return parsed
