"""The vocabulary of the core: how an entity looks inside the server (expanded form).

An entity is a plain dict, cheap to store as JSON and to copy::

    {"id": "urn:ngsi-ld:Pump:1",                  # absolute URI
     "type": ["https://example.org/Pump"],         # expanded IRIs, at least one
     "scope": ["/Madrid/Centro"],                  # optional
     "createdAt": "2026-11-24T10:00:00.000000Z", "modifiedAt": "...",
     "attrs": {"https://example.org/speed": [Instance, ...]}}

An attribute holds one or more instances (at most one without ``datasetId``, the default
instance, and at most one per ``datasetId``). An instance::

    {"type": "Property", "value": 12.5,             # the kind, and its one value member
     "observedAt": "...", "unitCode": "RPM", "datasetId": "urn:...",   # optional
     "createdAt": "...", "modifiedAt": "...",
     "sub": {"https://example.org/accuracy": [Instance, ...]}}         # optional sub-attributes

Attribute names, entity types and vocab values are expanded IRIs; the members above (value,
object, observedAt, …) are core-context terms, which are protected and so have one meaning.
Values of Properties are kept as given (their keys are not JSON-LD expanded), as Orion-LD does.
"""

from __future__ import annotations

from typing import Any, Final

Entity = dict[str, Any]
Instance = dict[str, Any]
Attrs = dict[str, list[Instance]]

PROPERTY: Final = "Property"
RELATIONSHIP: Final = "Relationship"
GEO_PROPERTY: Final = "GeoProperty"
LANGUAGE_PROPERTY: Final = "LanguageProperty"
VOCAB_PROPERTY: Final = "VocabProperty"
JSON_PROPERTY: Final = "JsonProperty"
LIST_PROPERTY: Final = "ListProperty"
LIST_RELATIONSHIP: Final = "ListRelationship"

VALUE_MEMBER: Final[dict[str, str]] = {
    PROPERTY: "value",
    RELATIONSHIP: "object",
    GEO_PROPERTY: "value",
    LANGUAGE_PROPERTY: "languageMap",
    VOCAB_PROPERTY: "vocab",
    JSON_PROPERTY: "json",
    LIST_PROPERTY: "valueList",
    LIST_RELATIONSHIP: "objectList",
}
"""Each attribute kind and the member that carries its value."""


def prop(value: Any) -> list[Instance]:
    """An attribute of one Property instance."""
    return [{"type": PROPERTY, "value": value}]


def json_prop(value: Any) -> list[Instance]:
    """An attribute of one JsonProperty instance."""
    return [{"type": JSON_PROPERTY, "json": value}]


def instance_value(instance: Instance) -> Any:
    """What an instance carries in its kind's value member (``value``, ``object``, ``json``,
    …; None when it has none)."""
    return instance.get(VALUE_MEMBER.get(instance.get("type", ""), "value"))


def default_instance(instances: list[Instance]) -> Instance:
    """The attribute's default instance: the one without a datasetId, else the first (the
    list is not empty)."""
    first = instances[0]
    if "datasetId" not in first:
        return first  # nearly always: the only instance, or the default one first
    return next((i for i in instances if "datasetId" not in i), first)


ATTRIBUTE_KINDS: Final = frozenset(VALUE_MEMBER)
RELATIONSHIP_KINDS: Final = frozenset({RELATIONSHIP, LIST_RELATIONSHIP})

SYSTEM_MEMBERS: Final = frozenset({"createdAt", "modifiedAt", "deletedAt"})
"""Set by the server; ignored when a client sends them."""

INSTANCE_META: Final = frozenset({"observedAt", "unitCode", "datasetId", "objectType", "lang"})
"""Members of an instance besides its kind, value and sub-attributes."""

ENTITY_RESERVED: Final = frozenset({"id", "type", "scope", "@context", *SYSTEM_MEMBERS})
"""Members of an entity payload that are not attributes."""

FORBIDDEN_ATTRIBUTE_NAMES: Final = frozenset({"id", "type", "@id", "@type", "@context"})
