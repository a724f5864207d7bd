"""The NGSI-LD route table and its dispatcher.

NGSI-LD is served by a lean ASGI dispatcher in front of the FastAPI app rather than by FastAPI's
router: it splits the raw path once (so entity ids may contain an encoded ``/``), looks the shape
up in a table and calls the endpoint. Every error of every endpoint becomes ProblemDetails here,
in one place; an unknown path is 404 and a known path with the wrong method 405, both as
ProblemDetails too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from twin_server.api.ngsild import (
    attributes,
    batch,
    contexts,
    discovery,
    entities,
    subscriptions,
    temporal,
)
from twin_server.api.ngsild.problem import MethodNotAllowed, problem_response
from twin_server.errors import NotFound

Endpoint = Callable[[Request], Awaitable[Response]]
BASE = "/ngsi-ld/v1"
_BASE_BYTES = BASE.encode() + b"/"

# (shape, method) -> (endpoint, names of the path parameters). A shape is the path below BASE
# with each variable segment written as "*".
TABLE: dict[tuple[str, str], tuple[Endpoint, tuple[str, ...]]] = {
    ("entities", "POST"): (entities.create_entity, ()),
    ("entities", "GET"): (entities.query_entities, ()),
    ("entities", "DELETE"): (entities.purge_entities, ()),
    ("entities/*", "GET"): (entities.retrieve_entity, ("id",)),
    ("entities/*", "PUT"): (entities.replace_entity, ("id",)),
    ("entities/*", "PATCH"): (entities.merge_entity, ("id",)),
    ("entities/*", "DELETE"): (entities.delete_entity, ("id",)),
    ("entities/*/attrs", "POST"): (attributes.append_attributes, ("id",)),
    ("entities/*/attrs", "PATCH"): (attributes.update_attributes, ("id",)),
    ("entities/*/attrs/*", "PATCH"): (attributes.partial_update_attribute, ("id", "attrId")),
    ("entities/*/attrs/*", "PUT"): (attributes.replace_attribute, ("id", "attrId")),
    ("entities/*/attrs/*", "DELETE"): (attributes.delete_attribute, ("id", "attrId")),
    ("entityOperations/create", "POST"): (batch.batch_create, ()),
    ("entityOperations/upsert", "POST"): (batch.batch_upsert, ()),
    ("entityOperations/update", "POST"): (batch.batch_update, ()),
    ("entityOperations/merge", "POST"): (batch.batch_merge, ()),
    ("entityOperations/delete", "POST"): (batch.batch_delete, ()),
    ("entityOperations/query", "POST"): (batch.batch_query, ()),
    ("types", "GET"): (discovery.list_types, ()),
    ("types/*", "GET"): (discovery.retrieve_type, ("type",)),
    ("attributes", "GET"): (discovery.list_attributes, ()),
    ("attributes/*", "GET"): (discovery.retrieve_attribute, ("attrId",)),
    ("subscriptions", "POST"): (subscriptions.create_subscription, ()),
    ("subscriptions", "GET"): (subscriptions.query_subscriptions, ()),
    ("subscriptions/*", "GET"): (subscriptions.retrieve_subscription, ("id",)),
    ("subscriptions/*", "PATCH"): (subscriptions.update_subscription, ("id",)),
    ("subscriptions/*", "DELETE"): (subscriptions.delete_subscription, ("id",)),
    ("temporal/entities", "GET"): (temporal.query_temporal, ()),
    ("temporal/entities", "POST"): (temporal.create_temporal, ()),
    ("temporal/entities/*", "GET"): (temporal.retrieve_temporal, ("id",)),
    ("temporal/entities/*", "DELETE"): (temporal.delete_temporal, ("id",)),
    ("temporal/entities/*/attrs", "POST"): (temporal.add_temporal_attributes, ("id",)),
    ("temporal/entities/*/attrs/*", "DELETE"): (
        temporal.delete_temporal_attribute,
        ("id", "attrId"),
    ),
    ("temporal/entities/*/attrs/*/*", "PATCH"): (
        temporal.modify_temporal_instance,
        ("id", "attrId", "instanceId"),
    ),
    ("temporal/entities/*/attrs/*/*", "DELETE"): (
        temporal.delete_temporal_instance,
        ("id", "attrId", "instanceId"),
    ),
    ("temporal/entityOperations/query", "POST"): (temporal.query_temporal_post, ()),
    ("jsonldContexts", "POST"): (contexts.create_context, ()),
    ("jsonldContexts", "GET"): (contexts.list_contexts, ()),
    ("jsonldContexts/*", "GET"): (contexts.retrieve_context, ("contextId",)),
    ("jsonldContexts/*", "DELETE"): (contexts.delete_context, ("contextId",)),
}
_METHODS: dict[str, list[str]] = {}
for _shape, _method in TABLE:
    _METHODS.setdefault(_shape, []).append(_method)
_FIXED = {
    "entities",
    "attrs",
    "entityOperations",
    "types",
    "attributes",
    "jsonldContexts",
    "subscriptions",
}


def shape_of(segments: list[str]) -> tuple[str, list[str]]:
    """The table shape of a split path and the values of its variable segments."""
    if not segments:
        return "", []
    head, rest = segments[0], segments[1:]
    if head == "temporal" and rest:
        # temporal/entities/{id}[/attrs[/{attrId}[/{instanceId}]]], temporal/entityOperations/…
        inner, values = shape_of(rest)
        if inner.startswith("entities/") and inner.endswith("/?") and len(rest) == 5:
            inner, values = inner.removesuffix("/?") + "/*", [*values, rest[4]]
        return f"temporal/{inner}", values
    if head == "entities" and rest:
        # entities/{id}[/attrs[/{attrId}]]
        shape, values = ["entities", "*"], [rest[0]]
        if len(rest) >= 2:
            shape.append(rest[1])
        if len(rest) >= 3:
            shape.append("*")
            values.append(rest[2])
        if len(rest) > 3:
            shape.append("?")
        return "/".join(shape), values
    if head == "entityOperations":
        return "/".join(segments), []
    if rest and len(rest) == 1 and head in _FIXED:
        return f"{head}/*", rest
    return "/".join(segments), []


class NgsiLdDispatcher:
    """ASGI middleware: serves BASE itself and hands everything else to the wrapped app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw: bytes = scope.get("raw_path") or scope.get("path", "").encode()
        if scope["type"] != "http" or not (raw.startswith(_BASE_BYTES) or raw == _BASE_BYTES[:-1]):
            await self.app(scope, receive, send)
            return
        path = raw.split(b"?", 1)[0][len(_BASE_BYTES) :].decode("latin-1")
        segments = [unquote(s) for s in path.split("/")] if path else []
        shape, values = shape_of(segments)
        found = TABLE.get((shape, scope["method"]))
        if found is None:
            response = _routing_error(shape, scope)
            scope["endpoint"] = _routing_error
            await response(scope, receive, send)
            return
        endpoint, names = found
        scope["path_params"] = dict(zip(names, values, strict=True))
        scope["endpoint"] = endpoint
        try:
            response = await endpoint(Request(scope, receive))
        except Exception as exc:
            response = problem_response(exc)
        await response(scope, receive, send)


def _routing_error(shape: str, scope: Scope) -> Response:
    allowed = _METHODS.get(shape)
    path = scope.get("path", "")
    if allowed is None or "" in shape.split("/"):
        return problem_response(NotFound(f"there is no NGSI-LD resource at {path}"))
    error = MethodNotAllowed(
        f"{scope['method']} is not allowed on {path}; use " + ", ".join(sorted(allowed))
    )
    return problem_response(error, headers={"Allow": ", ".join(sorted(allowed))})
