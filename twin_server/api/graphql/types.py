"""The generic GraphQL types: Twin, Relationship, Relay-style connections, change events."""

from __future__ import annotations

import base64
from enum import Enum
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON

from twin_server.api.graphql import shapes
from twin_server.api.graphql.context import TwinContext
from twin_server.commands import model as m
from twin_server.core.events import ChangeEvent, EntityCreated, EntityDeleted
from twin_server.core.types import Entity, Instance
from twin_server.inference import predictions

Info = strawberry.Info[TwinContext, None]


@strawberry.interface(
    description="A twin: an entity of the twin graph (NGSI-LD entity, DTDL twin). Twins of a "
    "DTDL model are also of that model's type (`... on Pump { speed }`)."
)
class Twin:
    id: strawberry.ID
    types: list[str] = strawberry.field(description="Its types, as short names where known.")
    created_at: str | None
    modified_at: str | None
    entity: strawberry.Private[Entity]

    @strawberry.field(description="Every property (relationships aside), by short name.")
    def properties(self, info: Info) -> JSON:
        return cast(JSON, shapes.properties(self.entity, info.context.terms))

    @strawberry.field(description="One property's value (null when the twin has none).")
    def property(self, info: Info, name: str) -> JSON | None:
        return cast(JSON | None, shapes.property_value(self.entity, name, info.context.terms))

    @strawberry.field(
        description="The latest prediction of each inference output attached to it (of one "
        "output, if given), shadow predictions included."
    )
    def predictions(self, info: Info, output: str | None = None) -> list[Prediction]:
        terms = info.context.terms
        wanted = terms.expand(output) if output is not None else None
        found = []
        for attr, instances in self.entity["attrs"].items():
            if wanted is not None and attr != wanted:
                continue
            for instance in instances:
                prediction = prediction_view(terms.compact(attr), instance)
                if prediction is not None:
                    found.append(prediction)
        return found

    @strawberry.field(description="Its relationships (of one name, if given), with targets.")
    def relationships(self, info: Info, name: str | None = None) -> list[Relationship]:
        terms = info.context.terms
        wanted = terms.expand(name) if name is not None else None
        return [
            Relationship(
                name=terms.compact(attr),
                target_id=strawberry.ID(target),
                dataset_id=dataset,
                source_id=strawberry.ID(self.id),
            )
            for attr, target, dataset in shapes.relationships(self.entity, wanted)
        ]

    @strawberry.field(description="Relationships of other twins that point at this one.")
    async def incoming(self, info: Info, name: str | None = None) -> list[Relationship]:
        context = info.context
        if context.services.mirror is not None:
            await context.services.mirror.flush()  # relationships changed a moment ago too
        sources = context.services.semantic.sources_of(context.tenant, self.id)
        wanted = context.terms.expand(name) if name is not None else None
        found = []
        for source in await context.twins.load_many(sources):
            if source is None:
                continue
            for attr, target, dataset in shapes.relationships(source, wanted):
                if target == self.id:
                    found.append(
                        Relationship(
                            name=context.terms.compact(attr),
                            target_id=strawberry.ID(self.id),
                            dataset_id=dataset,
                            source_id=strawberry.ID(source["id"]),
                        )
                    )
        return found


@strawberry.type(description="An inference output attached to a twin: its latest value.")
class Prediction:
    output: str = strawberry.field(description="The output's name (the twin's property).")
    value: JSON | None
    observed_at: str | None = strawberry.field(description="When it was scored.")
    model: str = strawberry.field(description="The id of the model that made it.")
    model_version: str | None
    confidence: float | None = strawberry.field(description="0 to 1, when the model gives it.")
    shadow: bool = strawberry.field(description="A shadow model's: recorded, never acted on.")


@strawberry.type(description="A prediction just attached to a twin.")
class AttachedPrediction:
    twin_id: strawberry.ID
    prediction: Prediction
    at: str
    seq: int


def prediction_view(output: str, instance: Instance) -> Prediction | None:
    found = predictions.prediction_of(instance)
    if found is None:
        return None
    return Prediction(
        output=output,
        value=found.value,
        observed_at=found.observed_at,
        model=found.model,
        model_version=found.model_version,
        confidence=found.confidence,
        shadow=found.shadow,
    )


@strawberry.type(description="A twin of no DTDL model (or of one not uploaded).")
class GenericTwin(Twin):
    pass


@strawberry.type(description="An edge of the twin graph.")
class Relationship:
    name: str
    source_id: strawberry.ID
    target_id: strawberry.ID
    dataset_id: str | None

    @strawberry.field(description="The twin it points at (null: it does not exist).")
    async def target(self, info: Info) -> Twin | None:
        found = await info.context.twins.load(str(self.target_id))
        return twin_of(found, info) if found is not None else None

    @strawberry.field(description="The twin it starts from.")
    async def source(self, info: Info) -> Twin | None:
        found = await info.context.twins.load(str(self.source_id))
        return twin_of(found, info) if found is not None else None


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class TwinEdge:
    cursor: str
    node: Twin


@strawberry.type(description="A page of twins (Relay cursor connection).")
class TwinConnection:
    edges: list[TwinEdge]
    page_info: PageInfo
    total_count: int | None = strawberry.field(description="Every match, when asked for.")


@strawberry.enum
class ChangeKind(Enum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"


@strawberry.type(description="A committed change of a twin.")
class TwinChange:
    kind: ChangeKind
    twin_id: strawberry.ID
    changed: list[str] = strawberry.field(description="Short names of the attributes changed.")
    origin: str
    at: str
    seq: int = strawberry.field(description="Its place in the change log: increasing.")
    twin: Twin | None = strawberry.field(description="The twin after the change (null: gone).")


@strawberry.type(description="A committed change of one attribute.")
class AttributeChange:
    twin_id: strawberry.ID
    name: str
    value: JSON | None
    previous: JSON | None
    at: str
    seq: int


def twin_of(entity: Entity, info: Info) -> Twin:
    """The twin as an instance of its most specific type in the schema of this operation
    (the first of its types with a DTDL model; ``GenericTwin`` when none has one)."""
    terms = info.context.terms
    typed = getattr(info.schema, "typed", None)
    cls = typed.twin_class(entity["type"]) if typed is not None else GenericTwin
    return cls(
        id=strawberry.ID(entity["id"]),
        types=[terms.compact(t) for t in entity["type"]],
        created_at=entity.get("createdAt"),
        modified_at=entity.get("modifiedAt"),
        entity=entity,
    )


def change_of(event: ChangeEvent, info: Info) -> TwinChange:
    kind = (
        ChangeKind.CREATED
        if isinstance(event, EntityCreated)
        else ChangeKind.DELETED
        if isinstance(event, EntityDeleted)
        else ChangeKind.UPDATED
    )
    after: Any = event.after
    return TwinChange(
        kind=kind,
        twin_id=strawberry.ID(event.entity_id),
        changed=[info.context.terms.compact(c.name) for c in event.changes],
        origin=event.origin,
        at=event.at,
        seq=event.seq,
        twin=twin_of(dict(after), info) if after is not None else None,
    )


def cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def offset_of(text: str | None) -> int:
    """The offset after a cursor (``ValueError`` if it is not one of ours)."""
    if text is None:
        return 0
    decoded = base64.urlsafe_b64decode(text.encode()).decode()
    kind, _, number = decoded.partition(":")
    if kind != "offset" or not number.isdigit():
        raise ValueError(text)
    return int(number) + 1


@strawberry.type(description="One execution of a DTDL Command: its lifecycle is twin state.")
class CommandExecution:
    id: strawberry.ID
    twin_id: strawberry.ID
    command: str
    payload: JSON | None
    status: str = strawberry.field(description="pending, delivered, succeeded, failed or timed-out")
    response: JSON | None
    issued_by: str
    created_at: str | None
    modified_at: str | None


def execution_of(entity: Entity) -> CommandExecution:
    return CommandExecution(
        id=strawberry.ID(entity["id"]),
        twin_id=strawberry.ID(m.value(entity, m.TWIN)),
        command=str(m.value(entity, m.COMMAND)),
        payload=m.value(entity, m.PAYLOAD),
        status=str(m.value(entity, m.STATUS)),
        response=m.value(entity, m.RESPONSE),
        issued_by=str(m.value(entity, m.ISSUED_BY)),
        created_at=entity.get("createdAt"),
        modified_at=entity.get("modifiedAt"),
    )


@strawberry.type(description="A content of a DTDL Interface (inherited ones included).")
class ModelContent:
    name: str
    kind: str = strawberry.field(description="Property, Telemetry, Relationship, Component…")
    id: str
    schema: str | None = strawberry.field(description="Its schema (or a relationship's target).")
    writable: bool


@strawberry.type(description="An uploaded DTDL Interface.")
class Model:
    id: str
    graphql_type: str | None = strawberry.field(
        description="The GraphQL interface of its twins (their object type adds 'Twin')."
    )
    display_name: JSON | None
    extends: list[str]
    contents: list[ModelContent]
