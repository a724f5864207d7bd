"""The GraphQL schema: queries over twins, mutations through the one writer, subscriptions fed
by change events.

Every mutation goes through ``TwinGraph`` (so DTDL models validate it, as on the REST APIs)
and every error is a GraphQL error with an ``extensions.code`` (``errors.py``). Queries are
bounded: a maximum depth, a maximum of tokens and aliases, and a maximum page size.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncGenerator, Iterable, Mapping, Sequence
from typing import Any, cast

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
)
from strawberry.scalars import JSON
from strawberry.schema.config import StrawberryConfig

from twin_server.api.graphql.codes import ErrorCodes
from twin_server.api.graphql.complexity import complexity_rule
from twin_server.api.graphql.depth import depth_rule
from twin_server.api.graphql.errors import graphql_error
from twin_server.api.graphql.hub import Overflowed
from twin_server.api.graphql.shapes import attributes_from_input, entity_from_input
from twin_server.api.graphql.typed import LONG, Long, TypedModels, build_typed
from twin_server.api.graphql.types import (
    AttachedPrediction,
    AttributeChange,
    CommandExecution,
    GenericTwin,
    Info,
    Model,
    ModelContent,
    PageInfo,
    Twin,
    TwinChange,
    TwinConnection,
    TwinEdge,
    change_of,
    cursor,
    execution_of,
    offset_of,
    prediction_view,
    twin_of,
)
from twin_server.api.ngsild import params as p
from twin_server.commands.model import EXECUTION_TYPE
from twin_server.config import Settings
from twin_server.core import ingest, operations
from twin_server.core.types import instance_value
from twin_server.errors import TwinError
from twin_server.modeling.graph import all_contents, descendants
from twin_server.modeling.model import ModelSet
from twin_server.modeling.values import schema_name

log = logging.getLogger(__name__)


@strawberry.input(description="A relationship to set: its name and the id of its target.")
class RelationshipInput:
    name: str
    target: strawberry.ID


@strawberry.type
class Query:
    @strawberry.field(description="One twin by id (null when there is none).")
    async def twin(self, info: Info, id: strawberry.ID) -> Twin | None:
        found = await info.context.twins.load(str(id))
        return twin_of(found, info) if found is not None else None

    @strawberry.field(
        description="Twins of a type (or a type expression), filtered by an NGSI-LD q "
        "expression, paged Relay-style: first (at most the server's maximum) after a cursor. "
        "A DTDL Interface's twins include those of the Interfaces that extend it, unless exact."
    )
    async def twins(
        self,
        info: Info,
        type: str | None = None,
        q: str | None = None,
        first: int = 20,
        after: str | None = None,
        count: bool = False,
        exact: bool = False,
    ) -> TwinConnection:
        context = info.context
        settings = context.services.settings
        if not 0 < first <= settings.max_limit:
            raise GraphQLError(
                f"first must be between 1 and {settings.max_limit}",
                extensions={"code": "BAD_USER_INPUT"},
            )
        try:
            start = offset_of(after)
        except ValueError:
            raise GraphQLError(
                f"after {after!r} is not a cursor of this API",
                extensions={"code": "BAD_USER_INPUT"},
            ) from None
        params = {k: v for k, v in (("type", type), ("q", q)) if v is not None}
        try:
            query = p.entity_query(params, context.terms)
            if query.types is not None and not exact:
                models = context.services.models.models
                subtypes = query.types.widened(lambda name: descendants(models, name))
                query = dataclasses.replace(query, types=subtypes)
            page = await context.services.graph.query(
                context.tenant, query, limit=first + 1, offset=start, count=count
            )
        except TwinError as exc:
            raise graphql_error(exc) from exc
        entities = page.entities[:first]
        for entity in entities:
            context.prime(entity)
        edges = [
            TwinEdge(cursor=cursor(start + i), node=twin_of(e, info))
            for i, e in enumerate(entities)
        ]
        return TwinConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=len(page.entities) > first,
                has_previous_page=start > 0,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            total_count=page.total,
        )

    @strawberry.field(description="The DTDL Interfaces uploaded, with their contents.")
    def models(self, info: Info, id: str | None = None) -> list[Model]:
        models = info.context.services.models.models
        chosen = [e for e in models.interfaces() if id is None or e.id == id]
        typed = getattr(info.schema, "typed", None)
        names = typed.names if typed is not None else {}
        return [_model(models, e, names.get(e.id)) for e in sorted(chosen, key=lambda e: e.id)]


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Create a twin (its properties as plain values).")
    async def create_twin(
        self,
        info: Info,
        id: strawberry.ID,
        type: str,
        properties: JSON | None = None,
        relationships: list[RelationshipInput] | None = None,
    ) -> Twin:
        terms = info.context.terms
        entity = _input(lambda: entity_from_input(str(id), type, properties, relationships, terms))
        applied = await _write(info, str(id), operations.create(entity))
        return twin_of(applied, info)

    @strawberry.mutation(
        description="Merge into a twin: the properties and relationships given are set, a "
        "property given as null is removed."
    )
    async def update_twin(
        self,
        info: Info,
        id: strawberry.ID,
        properties: JSON | None = None,
        relationships: list[RelationshipInput] | None = None,
    ) -> Twin:
        terms = info.context.terms
        attrs = _input(
            lambda: attributes_from_input(properties, relationships, terms, allow_null=True)
        )
        if not attrs and not properties:
            raise GraphQLError("nothing to update", extensions={"code": "BAD_USER_INPUT"})
        fragment = {"id": ingest.entity_id(str(id)), "type": [], "attrs": attrs}
        merged = await _write(info, str(id), operations.merge(fragment))
        return twin_of(merged, info)

    @strawberry.mutation(description="Delete a twin; true when it existed.")
    async def delete_twin(self, info: Info, id: strawberry.ID) -> bool:
        await _write(info, str(id), operations.delete(str(id)))
        return True

    @strawberry.mutation(description="Set a relationship of a twin to a target twin.")
    async def set_relationship(
        self, info: Info, source: strawberry.ID, name: str, target: strawberry.ID
    ) -> Twin:
        link = RelationshipInput(name=name, target=target)
        attrs = _input(lambda: attributes_from_input(None, [link], info.context.terms))
        fragment = {"id": str(source), "type": [], "attrs": attrs}
        return twin_of(await _write(info, str(source), operations.merge(fragment)), info)

    @strawberry.mutation(description="Remove a relationship (every instance of that name).")
    async def remove_relationship(self, info: Info, source: strawberry.ID, name: str) -> Twin:
        attr = _input(lambda: ingest.attribute_name(name, info.context.terms))
        op = operations.delete_attribute(str(source), attr, dataset_id=None, delete_all=True)
        return twin_of(await _write(info, str(source), op), info)

    @strawberry.mutation(
        description="Send a DTDL Command to a twin: checked against the Command's request "
        "schema, recorded as an execution (pending until an adapter delivers it)."
    )
    async def send_command(
        self, info: Info, twin_id: strawberry.ID, command: str, payload: JSON | None = None
    ) -> CommandExecution:
        context = info.context
        assert context.services.commands is not None
        try:
            execution = await context.services.commands.send(
                context.tenant, ingest.entity_id(str(twin_id)), command, payload
            )
        except TwinError as exc:
            raise graphql_error(exc) from exc
        return execution_of(execution)

    @strawberry.mutation(
        description="Hold a twin in manual mode (or release it): automated commands (rules) "
        "to a held twin are refused and recorded; operator commands still go through."
    )
    async def set_manual_mode(
        self, info: Info, twin_id: strawberry.ID, manual: bool, by: str = "operator"
    ) -> Twin:
        context = info.context
        assert context.services.commands is not None
        try:
            twin = await context.services.commands.set_manual(
                context.tenant, ingest.entity_id(str(twin_id)), manual, by
            )
        except TwinError as exc:
            raise graphql_error(exc) from exc
        return twin_of(twin, info)

    @strawberry.mutation(
        description="Mark a twin's current prediction (of attribute, anomalyScore by default) "
        "truePositive, falsePositive, trueNegative or falseNegative: stored with the model "
        "version and the inputs that produced it, for the labelled data set and retraining."
    )
    async def mark_prediction(
        self,
        info: Info,
        twin_id: strawberry.ID,
        label: str,
        attribute: str = "anomalyScore",
        note: str = "",
        by: str = "operator",
    ) -> JSON:
        context = info.context
        assert context.services.feedback is not None
        body = {
            "twin": str(twin_id),
            "label": label,
            "attribute": attribute,
            "note": note,
            "by": by,
        }
        try:
            record = await context.services.feedback.mark(context.tenant, body)
        except TwinError as exc:
            raise graphql_error(exc) from exc
        return cast(JSON, record)


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Committed changes of one twin, or of every twin of a type (its subtypes "
        "included), in commit order; with q (an NGSI-LD q expression), only the changes after "
        "which the twin matches it (for a deletion: matched it before)."
    )
    async def twin_changed(
        self,
        info: Info,
        id: strawberry.ID | None = None,
        type: str | None = None,
        q: str | None = None,
    ) -> AsyncGenerator[TwinChange, None]:
        query = _input(lambda: p.entity_query({"q": q}, info.context.terms)) if q else None
        async for event in _twin_events(info, id, type):
            state = event.after if event.after is not None else event.before
            if query is None or (state is not None and query.matches(dict(state))):
                yield change_of(event, info)

    @strawberry.subscription(description="Committed changes of one attribute of one twin.")
    async def attribute_changed(
        self, info: Info, twin_id: strawberry.ID, name: str
    ) -> AsyncGenerator[AttributeChange, None]:
        attr = _input(lambda: ingest.attribute_name(name, info.context.terms))
        async for event in _events(info, ids=[str(twin_id)]):
            for change in event.changes:
                if change.name == attr:
                    yield AttributeChange(
                        twin_id=twin_id,
                        name=name,
                        value=_value(change.new),
                        previous=_value(change.old),
                        at=event.at,
                        seq=event.seq,
                    )

    @strawberry.subscription(
        description="The status changes of one command execution; without executionId, of "
        "every execution of one twin (twinId), or of every execution."
    )
    async def command_status(
        self,
        info: Info,
        execution_id: strawberry.ID | None = None,
        twin_id: strawberry.ID | None = None,
    ) -> AsyncGenerator[CommandExecution, None]:
        if execution_id is not None:
            events = _events(info, ids=[str(execution_id)])
        else:
            events = _events(info, types=[EXECUTION_TYPE])
        async for event in events:
            if event.after is None or EXECUTION_TYPE not in event.types:
                continue
            execution = execution_of(dict(event.after))
            if twin_id is None or execution.twin_id == str(twin_id):
                yield execution

    @strawberry.subscription(
        description="Predictions attached to twins (of one output, if given), of one twin or "
        "of every twin of a type (its subtypes included), in commit order."
    )
    async def prediction_attached(
        self,
        info: Info,
        twin_id: strawberry.ID | None = None,
        type: str | None = None,
        output: str | None = None,
    ) -> AsyncGenerator[AttachedPrediction, None]:
        terms = info.context.terms
        wanted = _input(lambda: ingest.attribute_name(output, terms)) if output else None
        async for event in _twin_events(info, twin_id, type):
            for change in event.changes:
                if wanted is not None and change.name != wanted:
                    continue
                for instance in change.new or ():
                    prediction = prediction_view(terms.compact(change.name), instance)
                    if prediction is not None:
                        yield AttachedPrediction(
                            twin_id=strawberry.ID(event.entity_id),
                            prediction=prediction,
                            at=event.at,
                            seq=event.seq,
                        )


async def _twin_events(
    info: Info, twin_id: strawberry.ID | None, type_name: str | None
) -> AsyncGenerator[Any, None]:
    """The change events of one twin, or of the twins of a type and of the DTDL Interfaces
    that extend it (neither: of every twin)."""
    wanted: set[str] = set()
    if type_name is not None:
        named = _input(lambda: ingest.entity_types(type_name, info.context.terms)[0])
        models = info.context.services.models.models
        wanted = {named, *descendants(models, named)}
    ids = [str(twin_id)] if twin_id is not None else []
    types = sorted(wanted) if not ids else []
    async for event in _events(info, ids=ids, types=types):
        if not wanted or not wanted.isdisjoint(event.types):
            yield event


async def _events(
    info: Info, *, ids: Iterable[str] = (), types: Iterable[str] = ()
) -> AsyncGenerator[Any, None]:
    """This subscriber's change events of its tenant (of these twins or types), in commit
    order. A subscriber that falls further behind than its queue is dropped with an error
    saying so; the others go on."""
    context = info.context
    subscription = context.hub.subscribe(context.tenant, ids=ids, types=types)
    try:
        while True:
            try:
                yield await subscription.get()
            except Overflowed:
                raise GraphQLError(
                    f"this subscriber fell more than {subscription.limit} changes behind and "
                    "was dropped; subscribe again (and read the twin's current state) to go on",
                    extensions={"code": "SUBSCRIBER_TOO_SLOW"},
                ) from None
    finally:
        subscription.close()


def _model(models: Any, interface: Any, graphql_type: str | None) -> Model:
    contents = []
    for name, content in sorted(all_contents(models, interface.id).items()):
        target = content.literals.get("target") if content.cls == "Relationship" else None
        schema = target or content.one("schema")
        shown = models.get(schema) if schema else None
        contents.append(
            ModelContent(
                name=name,
                kind=content.cls,
                id=content.id,
                schema=schema_name(shown) if shown is not None and not target else schema,
                writable=content.literals.get("writable") is True,
            )
        )
    return Model(
        id=interface.id,
        graphql_type=graphql_type,
        display_name=interface.literals.get("displayName"),
        extends=list(interface.objects.get("extends", [])),
        contents=contents,
    )


def _value(instances: Any) -> Any:
    if not instances:
        return None
    return instance_value(instances[0])


def _input(build: Any) -> Any:
    """Run an input conversion; its error becomes a GraphQL error."""
    try:
        return build()
    except TwinError as exc:
        raise graphql_error(exc) from exc


async def _write(info: Info, twin_id: str, operation: Any) -> Any:
    """Write through the one writer; the twin after the write (before it, for a delete)."""
    context = info.context
    try:
        applied = await context.services.graph.write(
            context.tenant, ingest.entity_id(twin_id), operation
        )
    except TwinError as exc:
        raise graphql_error(exc) from exc
    return applied.after if applied.after is not None else applied.before


class TwinSchema(strawberry.Schema):
    typed: TypedModels | None = None  # the types generated from the DTDL models, if any

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Log bugs only: a client's bad document or input is the client's to see, not ours."""
        for error in errors:
            original = error.original_error
            if original is not None and not isinstance(original, TwinError | GraphQLError):
                log.error("GraphQL resolver failed: %s", error.message, exc_info=original)


def build_schema(settings: Settings, typed: TypedModels | None = None) -> TwinSchema:
    """The schema: the generic part, and the typed part of a model set when given."""
    schema = TwinSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=typed.all_types() if typed is not None else [GenericTwin],
        config=StrawberryConfig(scalar_map={Long: LONG}),
        extensions=[
            lambda: MaxTokensLimiter(max_token_count=settings.graphql_max_tokens),
            lambda: MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases),
            lambda: AddValidationRules(
                [
                    depth_rule(settings.graphql_max_depth),
                    complexity_rule(settings.graphql_max_complexity),
                ]
            ),
            ErrorCodes,
        ],
    )
    schema.typed = typed
    return schema


def build_typed_schema(
    settings: Settings,
    models: ModelSet,
    order: list[str],
    outputs: Mapping[str, Sequence[str]] | None = None,
) -> TwinSchema:
    """The schema with a type for every Interface of ``models`` (``order``: the order in which
    they claim their names, oldest upload first; ``outputs``: the inference outputs attached
    to the twins of each Interface)."""
    types, twin_fields = _generic_names(settings)
    typed = build_typed(models, order, types, twin_fields, outputs)
    return build_schema(settings, typed)


_GENERIC_NAMES: list[tuple[frozenset[str], frozenset[str]]] = []


def _generic_names(settings: Settings) -> tuple[frozenset[str], frozenset[str]]:
    """The generic schema's type names (with the scalar the typed part adds), and the fields
    of its ``Twin`` interface."""
    if not _GENERIC_NAMES:
        type_map = build_schema(settings)._schema.type_map
        twin: Any = type_map["Twin"]
        _GENERIC_NAMES.append((frozenset(type_map) | {"Long"}, frozenset(twin.fields)))
    return _GENERIC_NAMES[0]
