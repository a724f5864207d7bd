"""The typed part of the GraphQL schema, generated from the stored DTDL models.

Each Interface becomes a GraphQL interface (implementing ``Twin`` and the interfaces of the
Interfaces it extends) and an object type for its twins (``PumpTwin``), so a query can ask
``... on Pump { speed }`` of a pump and of any subtype of it. Properties and Telemetry are
fields of their schema's type (scalars, enums, object types, lists), Relationships return
their target's interface, Components are nested objects. Names follow ``naming.py``.

A value that does not conform to its schema (written before the model, schema-on-read) reads
as null here; the generic ``properties`` field still shows it as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Annotated, Any, NewType

import strawberry
from strawberry.scalars import JSON
from strawberry.types.private import StrawberryPrivate

from twin_server.api.graphql.naming import (
    Names,
    capital,
    enum_value_name,
    graphql_name,
)
from twin_server.api.graphql.types import (
    GenericTwin,
    Info,
    Prediction,
    Twin,
    prediction_view,
    twin_of,
)
from twin_server.core.types import Entity, Instance, default_instance, instance_value
from twin_server.modeling.dtmi import sort_key
from twin_server.modeling.graph import ancestors, top_level
from twin_server.modeling.model import Element, ModelSet
from twin_server.modeling.twins import attribute_names

Long = NewType("Long", int)
LONG = strawberry.scalar(
    name="Long",
    serialize=int,
    parse_value=int,
    description="A 64-bit integer (DTDL long), as a JSON number.",
)
Convert = Callable[[Any], Any]
PRIVATE = Annotated[Any, StrawberryPrivate()]  # strawberry.Private: the value, not a field
INTEGERS = {"Integer": (-(2**31), 2**31 - 1), "Long": (-(2**63), 2**63 - 1)}
STRINGS = ("String", "Date", "DateTime", "Time", "Duration")
NUMBERS = ("Double", "Float")


@dataclass
class TypedModels:
    """The generated types of one model set, and which one a twin is an instance of."""

    interfaces: dict[str, type] = field(default_factory=dict)  # DTMI → GraphQL interface
    twins: dict[str, type] = field(default_factory=dict)  # DTMI → object type of its twins
    names: dict[str, str] = field(default_factory=dict)  # DTMI → base name
    extra: list[type] = field(default_factory=list)  # component and value types

    def twin_class(self, types: Sequence[str]) -> type:
        for iri in types:
            found = self.twins.get(iri)
            if found is not None:
                return found
        return GenericTwin

    def all_types(self) -> list[type]:
        return [GenericTwin, *self.twins.values(), *self.extra]


def build_typed(
    models: ModelSet,
    order: Iterable[str],
    reserved: Iterable[str],
    twin_fields: Iterable[str],
    outputs: Mapping[str, Sequence[str]] | None = None,
) -> TypedModels:
    """Types for every Interface of ``models``; ``order`` lists Interface ids in the order they
    claim names (upload order), ``reserved`` the names the API's own types use, ``twin_fields``
    the fields of ``Twin``, ``outputs`` the inference outputs attached to the twins of an
    Interface (and of its subtypes)."""
    return _Builder(models, Names(reserved, twin_fields), outputs or {}).build(order)


class _Builder:
    def __init__(
        self, models: ModelSet, names: Names, outputs: Mapping[str, Sequence[str]]
    ) -> None:
        self.models = models
        self.outputs = outputs
        self.names = names
        self.typed = TypedModels()
        self.schemas: dict[str, tuple[Any, Convert]] = {}  # complex schemas by element id
        self.components: dict[str, tuple[type, Convert]] = {}

    def build(self, order: Iterable[str]) -> TypedModels:
        known = {e.id for e in self.models.interfaces() if e.parent is None}
        ordered = [i for i in dict.fromkeys(order) if i in known]
        ordered += sorted(known - set(ordered), key=sort_key)
        for dtmi in ordered:
            self.typed.names[dtmi] = self.names.claim_interface(dtmi)
        # Relationships may form cycles (a room has a space, a space has rooms), so every
        # class exists before any field refers to one; strawberry reads the fields when it
        # decorates a class, bases (the extends, never cyclic) first.
        declared: list[str] = []
        for dtmi in ordered:
            self._declare(dtmi, declared)
        for dtmi in declared:
            for content in self._own_contents(self.models[dtmi]):
                if content.cls in ("Property", "Telemetry", "Relationship", "Component"):
                    field = self._content(content)
                    setattr(
                        self.typed.interfaces[dtmi], self.names.field(content.name or ""), field
                    )
            for output in self.outputs.get(dtmi, ()):
                name = graphql_name(output) + "Prediction"
                setattr(self.typed.interfaces[dtmi], name, _prediction_field(output, name))
        for dtmi in declared:
            self._decorate(dtmi)
        return self.typed

    def _declare(self, dtmi: str, declared: list[str]) -> type:
        """The (not yet decorated) class of an Interface, after those of its bases."""
        found = self.typed.interfaces.get(dtmi)
        if found is not None:
            return found
        element = self.models[dtmi]
        parents = [p for p in element.objects.get("extends", []) if p in self.typed.names]
        bases = [self._declare(p, declared) for p in parents]
        # an ancestor reached through another base already is left out (a consistent MRO)
        lineage = {a for p in parents for a in ancestors(self.models, p)}
        kept = tuple(b for p, b in zip(parents, bases, strict=True) if p not in lineage)
        cls = type(self.typed.names[dtmi], kept or (Twin,), {})
        self.typed.interfaces[dtmi] = cls
        declared.append(dtmi)
        return cls

    def _decorate(self, dtmi: str) -> None:
        element = self.models[dtmi]
        name = self.typed.names[dtmi]
        description = _description(element) or f"Twins of the DTDL Interface {dtmi}."
        interface = strawberry.interface(
            self.typed.interfaces[dtmi], name=name, description=description
        )
        self.typed.twins[dtmi] = strawberry.type(
            type(name + "Twin", (interface,), {}),
            name=name + "Twin",
            description=f"A twin of {dtmi}.",
        )

    def _own_contents(self, element: Element) -> list[Element]:
        found = [self.models.get(c) for c in element.objects.get("contents", [])]
        return sorted((c for c in found if c is not None and c.name), key=lambda c: c.name or "")

    def _content(self, content: Element) -> Any:
        name = content.name or ""
        keys = attribute_names(content)
        description = _description(content)
        if content.cls == "Relationship":
            return self._relationship(content, keys, description)
        schema_id = content.one("schema") or ""
        if content.cls == "Component":
            graphql_type, convert = self._component(schema_id)
        else:
            prefix = self.typed.names[top_level(self.models, content).id] + capital(name)
            graphql_type, convert = self._schema(schema_id, prefix)

        def resolve(root: Any) -> Any:
            instance = _instance(root.entity, keys)
            return convert(_value(instance)) if instance is not None else None

        return strawberry.field(
            resolver=resolve,
            graphql_type=graphql_type | None,
            name=self.names.field(name),
            description=description,
        )

    def _relationship(self, content: Element, keys: tuple[str, ...], description: Any) -> Any:
        target = content.literals.get("target")
        target_type = self.typed.interfaces.get(target, Twin) if isinstance(target, str) else Twin

        async def resolve(root: Any, info: Info) -> list[Any]:
            ids = [t for k in keys for t in _targets(root.entity, k)]
            loaded = await info.context.twins.load_many(list(dict.fromkeys(ids)))
            twins = [twin_of(e, info) for e in loaded if e is not None]
            return [t for t in twins if isinstance(t, target_type)]

        return strawberry.field(
            resolver=resolve,
            graphql_type=list[target_type],  # type: ignore[valid-type]
            name=self.names.field(content.name or ""),
            description=description or "The twins it points at (those that exist).",
        )

    def _component(self, interface_id: str) -> tuple[Any, Convert]:
        found = self.components.get(interface_id)
        if found is not None:
            return found
        if interface_id not in self.typed.names:
            return JSON, _as_is
        name = self.typed.names[interface_id] + "Component"
        fields: dict[str, Any] = {"__annotations__": {"data": PRIVATE}}
        chain = [interface_id, *ancestors(self.models, interface_id)]
        for owner in chain:
            for content in self._own_contents(self.models[owner]):
                if content.cls in ("Property", "Telemetry"):
                    prefix = self.typed.names.get(owner, name) + capital(content.name or "")
                    graphql_type, convert = self._schema(content.one("schema") or "", prefix)
                    key = self.names.field(content.name or "")
                    fields.setdefault(key, _member(content.name or "", graphql_type, convert))
        cls = strawberry.type(
            type(name, (), fields), name=name, description=f"A component of {interface_id}."
        )
        self.typed.extra.append(cls)
        result = cls, _wrap(cls, lambda v: isinstance(v, dict))
        self.components[interface_id] = result
        return result

    def _schema(self, schema_id: str, prefix: str) -> tuple[Any, Convert]:
        """The GraphQL type of a DTDL schema, and the conversion of a stored value to it."""
        schema = self.models.get(schema_id)
        if schema is None or (schema.standard and schema.cls not in _PRIMITIVES):
            return JSON, _as_is  # unknown, geospatial…: the value as it is
        if schema.cls in _PRIMITIVES:
            return _PRIMITIVES[schema.cls]
        found = self.schemas.get(schema.id)
        if found is not None:
            return found
        if schema.cls == "Enum":
            result = self._enum(schema, prefix)
        elif schema.cls == "Object":
            result = self._object(schema, prefix)
        elif schema.cls == "Array":
            item_type, item = self._schema(schema.one("elementSchema") or "", prefix + "Item")
            result = (list[item_type | None], _list(item))  # type: ignore[valid-type]
        else:
            result = JSON, _as_is  # a Map: keys are data, not fields
        self.schemas[schema.id] = result
        return result

    def _enum(self, schema: Element, prefix: str) -> tuple[Any, Convert]:
        name = self.names.claim(prefix)
        values = [self.models[v] for v in schema.objects.get("enumValues", [])]
        members = {enum_value_name(v.name or ""): v.literals.get("enumValue") for v in values}
        python_enum = Enum(name, members)  # type: ignore[misc]
        graphql_enum = strawberry.enum(python_enum, name=name, description=_description(schema))
        by_value = {m.value: m for m in python_enum}

        def convert(value: Any) -> Any:
            return by_value.get(value) if not isinstance(value, bool | dict | list) else None

        return graphql_enum, convert

    def _object(self, schema: Element, prefix: str) -> tuple[Any, Convert]:
        name = self.names.claim(prefix)
        fields: dict[str, Any] = {"__annotations__": {"data": PRIVATE}}
        for field_id in schema.objects.get("fields", []):
            part = self.models[field_id]
            key = part.name or ""
            graphql_type, convert = self._schema(part.one("schema") or "", prefix + capital(key))
            fields[self.names.field(key)] = _member(key, graphql_type, convert)
        cls = strawberry.type(type(name, (), fields), name=name, description=_description(schema))
        self.typed.extra.append(cls)
        return cls, _wrap(cls, lambda v: isinstance(v, dict))


def _prediction_field(output: str, name: str) -> Any:
    def resolve(root: Any, info: Info) -> Prediction | None:
        attr = info.context.terms.expand(output)
        for instance in root.entity["attrs"].get(attr, ()):
            found = prediction_view(output, instance)
            if found is not None:
                return found
        return None

    return strawberry.field(
        resolver=resolve,
        graphql_type=Prediction | None,
        name=name,
        description=f"The latest prediction of the inference output {output}.",
    )


def _member(key: str, graphql_type: Any, convert: Convert) -> Any:
    """A field of an object or component value: ``key`` of its JSON object, converted."""

    def resolve(root: Any) -> Any:
        return convert(root.data.get(key))

    return strawberry.field(resolver=resolve, graphql_type=graphql_type | None, name=key)


def _wrap(cls: type, fits: Callable[[Any], bool]) -> Convert:
    def convert(value: Any) -> Any:
        return cls(data=value) if fits(value) else None

    return convert


def _list(item: Convert) -> Convert:
    def convert(value: Any) -> Any:
        return [item(v) for v in value] if isinstance(value, list) else None

    return convert


def _integer(low: int, high: int) -> Convert:
    def convert(value: Any) -> Any:
        fits = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
        return value if fits else None

    return convert


def _number(value: Any) -> Any:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _string(value: Any) -> Any:
    return value if isinstance(value, str) else None


def _boolean(value: Any) -> Any:
    return value if isinstance(value, bool) else None


def _as_is(value: Any) -> Any:
    return value


_PRIMITIVES: dict[str, tuple[Any, Convert]] = {
    "Boolean": (bool, _boolean),
    "Integer": (int, _integer(*INTEGERS["Integer"])),
    "Long": (Long, _integer(*INTEGERS["Long"])),
    **{cls: (float, _number) for cls in NUMBERS},
    **{cls: (str, _string) for cls in STRINGS},
}


def _instance(entity: Entity, keys: Sequence[str]) -> Instance | None:
    """The attribute's default instance (the one without a datasetId, else the first)."""
    attrs = entity["attrs"]
    for key in keys:
        instances = attrs.get(key)
        if instances:
            return default_instance(instances)
    return None


def _value(instance: Instance) -> Any:
    value = instance_value(instance)
    if instance.get("type") == "LanguageProperty" and isinstance(value, dict) and value:
        return value.get("@none", next(iter(value.values())))
    return value


def _targets(entity: Entity, key: str) -> list[str]:
    found: list[str] = []
    for instance in entity["attrs"].get(key, ()):
        if instance.get("type") == "Relationship":
            found.append(instance["object"])
        elif instance.get("type") == "ListRelationship":
            found.extend(instance.get("objectList", ()))
    return found


def _description(element: Element) -> str | None:
    for key in ("description", "displayName"):
        text = element.literals.get(key)
        if isinstance(text, dict):
            text = text.get("en", next(iter(text.values()), None))
        if isinstance(text, str):
            return text
    return None
