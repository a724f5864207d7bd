"""Twins that follow their models: an entity whose type is a stored DTDL Interface is checked
against it on every write. Entities of no model are left alone (schema-on-read stays possible).

How DTDL contents appear on an NGSI-LD twin:
- a Property is a Property (or GeoProperty, JsonProperty, ListProperty) whose value conforms to
  the schema;
- a Telemetry is the same, and carries ``observedAt``;
- a Relationship is a Relationship (one instance per target, at most ``maxMultiplicity``);
- a Component is a Property whose value is a JSON object holding the component Interface's
  Properties and Telemetry by name (a component is part of its twin, not a separate entity);
- a Command is not state: it is invoked, never written;
- a prediction (``inference/predictions.py``) is not a content, and any twin may carry one; so
  may the server's own attributes (``https://twinserver.dev/ns/…``: stale, manualMode, quality).
Attribute names are the contents' IRIs (the generated @context maps their names to them); a
name expanded with the NGSI-LD default vocabulary, or one the core context protects (such as
``mode`` or ``location``), is matched by the content's name too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from twin_server.core.types import VALUE_MEMBER, Entity, Instance
from twin_server.errors import BadRequestData
from twin_server.inference.predictions import is_prediction
from twin_server.modeling.graph import all_contents, ancestors, top_level
from twin_server.modeling.memo import PerModelSet
from twin_server.modeling.model import Element, ModelSet
from twin_server.modeling.repository import ModelRepository
from twin_server.modeling.values import problem, schema_name

# The types of an existing entity, by tenant and id (None: unknown).
TypesOf = Callable[[str, str], tuple[str, ...] | None]
CORE = "https://uri.etsi.org/ngsi-ld/"
DEFAULT_VOCABULARY = CORE + "default-context/"
SERVER_NAMESPACE = "https://twinserver.dev/ns/"
VALUE_KINDS = ("Property", "GeoProperty", "JsonProperty", "ListProperty", "LanguageProperty")
RELATIONSHIP_KINDS = ("Relationship", "ListRelationship")


class TwinValidator:
    """The ``EntityValidator`` of twins (see ``core/validation.py``)."""

    def __init__(self, repository: ModelRepository, *, types_of: TypesOf | None = None) -> None:
        self.repository = repository
        self.types_of = types_of
        self._contents_of: PerModelSet[dict[str, Element]] = PerModelSet()

    def __call__(
        self, tenant: str, before: Entity | None, after: Entity, changed: Sequence[str]
    ) -> None:
        records = self.repository.records
        interfaces = tuple(t for t in after["type"] if t in records)
        if not interfaces:
            return
        new_types = [t for t in interfaces if before is None or t not in before["type"]]
        for interface in new_types:
            if records[interface].decommissioned:
                raise BadRequestData(
                    f"model {interface} is decommissioned: no new twins of it. Use a newer "
                    "version of the model."
                )
        models = self.repository.models
        contents = self._contents(models, interfaces)
        names = changed if before is not None and not new_types else list(after["attrs"])
        for iri in names:
            instances = after["attrs"].get(iri)
            if instances is None:
                continue  # deleted by this write
            content = contents.get(iri)
            if content is None:
                if iri.startswith(CORE) and not iri.startswith(DEFAULT_VOCABULARY):
                    continue  # NGSI-LD's own attributes (location, …) are allowed on any entity
                if all(is_prediction(i) for i in instances):
                    continue  # a prediction may be attached to any twin (inference/predictions)
                if iri.startswith(SERVER_NAMESPACE):
                    continue  # the server's own state (stale, manualMode, …) on any twin
                raise BadRequestData(
                    f"twin {after['id']}: {_short(iri)} is not a content of "
                    f"{', '.join(interfaces)}; its contents are {sorted(_names(contents))}"
                )
            for instance in instances:
                reason = _instance_problem(models, content, instance, len(instances))
                if reason is None and content.cls == "Relationship":
                    reason = self._target_problem(models, tenant, content, instance)
                if reason:
                    owner = top_level(models, content).id
                    raise BadRequestData(
                        f"twin {after['id']}: attribute {content.name!r} ({content.cls} "
                        f"{content.id} of {owner}): {reason}"
                    )

    def _target_problem(
        self, models: ModelSet, tenant: str, content: Element, instance: Instance
    ) -> str | None:
        """A relationship to an existing twin must reach the model's target (or a subtype)."""
        target = content.literals.get("target")
        if not isinstance(target, str) or self.types_of is None:
            return None
        objects = instance.get("objectList") or [instance.get("object")]
        for entity_id in objects:
            types = self.types_of(tenant, entity_id) if isinstance(entity_id, str) else None
            if types is None:
                continue  # a twin not (yet) known: NGSI-LD allows dangling relationships
            if not any(t == target or target in _lineage(models, t) for t in types):
                return f"its target {entity_id} is a {', '.join(types)}, not a {target}"
        return None

    def _contents(self, models: ModelSet, interfaces: tuple[str, ...]) -> dict[str, Element]:
        found = self._contents_of.find(models, interfaces)
        if found is None:
            found = {}
            for interface in interfaces:
                for content in all_contents(models, interface).values():
                    for attribute in attribute_names(content):
                        found.setdefault(attribute, content)
            self._contents_of.keep(models, interfaces, found)
        return found


def attribute_names(content: Element) -> tuple[str, str, str]:
    """The attribute names a content may have on a twin: its IRI, its name in the NGSI-LD
    default vocabulary, and its name in the core namespace (a name the core context protects)."""
    name = content.name or ""
    return content.id, DEFAULT_VOCABULARY + name, CORE + name


def _lineage(models: ModelSet, interface: str) -> list[str]:
    return ancestors(models, interface) if interface in models.elements else []


def _short(iri: str) -> str:
    return repr(iri.removeprefix(DEFAULT_VOCABULARY))


def _names(contents: dict[str, Element]) -> set[str]:
    return {c.name for c in contents.values() if c.name}


def _instance_problem(
    models: ModelSet, content: Element, instance: Instance, count: int
) -> str | None:
    kind = instance.get("type")
    if content.cls == "Command":
        return "a Command is invoked, not written as an attribute"
    if content.cls == "Relationship":
        if kind not in RELATIONSHIP_KINDS:
            return f"it must be a Relationship, not a {kind}"
        most = content.literals.get("maxMultiplicity")
        if isinstance(most, int) and count > most:
            return f"it has {count} instances, more than its maxMultiplicity {most}"
        return None
    if kind not in VALUE_KINDS:
        return f"it must be a Property, not a {kind}"
    if content.cls == "Telemetry" and "observedAt" not in instance:
        return "a Telemetry carries observedAt (when the value was measured)"
    value = instance.get(VALUE_MEMBER[kind])
    if content.cls == "Component":
        return _component_problem(models, content, value)
    schema_id = content.one("schema") or ""
    if kind == "LanguageProperty":
        schema = models.get(schema_id)
        return (
            None
            if schema is not None and schema.cls == "String"
            else (
                f"a LanguageProperty only fits a string schema, not {schema_name(schema)}"
                if schema is not None
                else None
            )
        )
    return problem(models, schema_id, value)


_COMPONENTS: PerModelSet[dict[str, Element]] = PerModelSet()


def _component_contents(models: ModelSet, interface: str) -> dict[str, Element]:
    """A component schema's contents by name, worked out once per model set."""
    found = _COMPONENTS.find(models, interface)
    if found is None:
        inner = all_contents(models, interface) if interface in models.elements else {}
        found = _COMPONENTS.keep(models, interface, inner)
    return found


def _component_problem(models: ModelSet, content: Element, value: Any) -> str | None:
    interface = content.one("schema") or ""
    if not isinstance(value, dict):
        return f"a Component's value is a JSON object of {interface}'s properties by name"
    inner = _component_contents(models, interface)
    for key, item in value.items():
        part = inner.get(key)
        if part is None or part.cls not in ("Property", "Telemetry"):
            return f"{key!r} is not a Property or Telemetry of component schema {interface}"
        reason = problem(models, part.one("schema") or "", item, key)
        if reason:
            return reason
    return None
