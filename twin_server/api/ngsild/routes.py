"""The NGSI-LD route table. Each endpoint's errors become ProblemDetails in one place here."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from twin_server.api.ngsild import attributes, batch, contexts, discovery, entities
from twin_server.api.ngsild.problem import problem_response

Endpoint = Callable[[Request], Awaitable[Response]]
BASE = "/ngsi-ld/v1"


def _guarded(endpoint: Endpoint) -> Endpoint:
    @functools.wraps(endpoint)
    async def run(request: Request) -> Response:
        try:
            return await endpoint(request)
        except Exception as exc:
            return problem_response(exc)

    return run


def _route(path: str, endpoint: Endpoint, method: str) -> Route:
    return Route(BASE + path, _guarded(endpoint), methods=[method], name=endpoint.__name__)


ROUTES = [
    _route("/entities", entities.create_entity, "POST"),
    _route("/entities", entities.query_entities, "GET"),
    _route("/entities/{id:path}/attrs/{attrId}", attributes.partial_update_attribute, "PATCH"),
    _route("/entities/{id:path}/attrs/{attrId}", attributes.replace_attribute, "PUT"),
    _route("/entities/{id:path}/attrs/{attrId}", attributes.delete_attribute, "DELETE"),
    _route("/entities/{id:path}/attrs", attributes.append_attributes, "POST"),
    _route("/entities/{id:path}/attrs", attributes.update_attributes, "PATCH"),
    _route("/entities/{id:path}", entities.retrieve_entity, "GET"),
    _route("/entities/{id:path}", entities.replace_entity, "PUT"),
    _route("/entities/{id:path}", entities.merge_entity, "PATCH"),
    _route("/entities/{id:path}", entities.delete_entity, "DELETE"),
    _route("/entityOperations/create", batch.batch_create, "POST"),
    _route("/entityOperations/upsert", batch.batch_upsert, "POST"),
    _route("/entityOperations/update", batch.batch_update, "POST"),
    _route("/entityOperations/merge", batch.batch_merge, "POST"),
    _route("/entityOperations/delete", batch.batch_delete, "POST"),
    _route("/entityOperations/query", batch.batch_query, "POST"),
    _route("/types", discovery.list_types, "GET"),
    _route("/types/{type:path}", discovery.retrieve_type, "GET"),
    _route("/attributes", discovery.list_attributes, "GET"),
    _route("/attributes/{attrId:path}", discovery.retrieve_attribute, "GET"),
    _route("/jsonldContexts", contexts.create_context, "POST"),
    _route("/jsonldContexts", contexts.list_contexts, "GET"),
    _route("/jsonldContexts/{contextId}", contexts.retrieve_context, "GET"),
    _route("/jsonldContexts/{contextId}", contexts.delete_context, "DELETE"),
]
