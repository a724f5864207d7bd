"""The structure of a twin as RDF: its types, its relationships, and its static properties
(those without ``observedAt``; telemetry stays out of the semantic graph)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from rdflib import RDF, Literal, URIRef
from rdflib.term import Node

Triple = tuple[Node, Node, Node]
SCALARS = (str, int, float, bool)


def entity_triples(entity: Mapping[str, Any]) -> Iterator[Triple]:
    subject = URIRef(entity["id"])
    for type_iri in entity.get("type", ()):
        yield subject, RDF.type, URIRef(type_iri)
    for name, instances in entity.get("attrs", {}).items():
        yield from attribute_triples(subject, name, instances)


def attribute_triples(
    subject: URIRef, name: str, instances: Iterable[Mapping[str, Any]]
) -> Iterator[Triple]:
    """The triples of one attribute of ``subject`` (all its instances)."""
    predicate = URIRef(name)
    for instance in instances:
        yield from _instance(subject, predicate, instance)


def _instance(subject: URIRef, predicate: URIRef, instance: Mapping[str, Any]) -> Iterator[Triple]:
    kind = instance.get("type")
    if kind == "Relationship":
        yield subject, predicate, URIRef(instance["object"])
    elif kind == "ListRelationship":
        for target in instance.get("objectList", ()):
            yield subject, predicate, URIRef(target)
    elif kind == "VocabProperty":
        vocab = instance.get("vocab")
        for iri in vocab if isinstance(vocab, list) else [vocab]:
            if isinstance(iri, str):
                yield subject, predicate, URIRef(iri)
    elif "observedAt" in instance:
        return  # telemetry: high-rate data does not go through the semantic graph
    elif kind == "Property" and isinstance(instance.get("value"), SCALARS):
        yield subject, predicate, Literal(instance["value"])
    elif kind == "LanguageProperty" and isinstance(instance.get("languageMap"), dict):
        for language, text in instance["languageMap"].items():
            if isinstance(text, str):
                yield (
                    subject,
                    predicate,
                    Literal(text, lang=None if language == "@none" else language),
                )


def structural(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> bool:
    """Whether a change touches what the semantic graph holds (telemetry-only writes don't)."""
    if before is None or after is None:
        return True
    return set(entity_triples(before)) != set(entity_triples(after))
