"""DTDL models as RDF: Interfaces are classes (``rdfs:subClassOf`` for extends), contents are
properties with their Interface as domain, schemas, targets, semantic types and units."""

from __future__ import annotations

from collections.abc import Iterator

from rdflib import OWL, RDF, RDFS, XSD, Literal, URIRef
from rdflib.term import Node

from twin_server.modeling.model import Element, ModelSet
from twin_server.semantic.vocab import DTDL, DTDLP

Triple = tuple[Node, Node, Node]
CONTENTS = ("Property", "Telemetry", "Relationship", "Component", "Command")
XSD_TYPES = {
    "Boolean": XSD.boolean,
    "Integer": XSD.int,
    "Long": XSD.long,
    "Double": XSD.double,
    "Float": XSD.float,
    "String": XSD.string,
    "Date": XSD.date,
    "DateTime": XSD.dateTime,
    "Time": XSD.time,
    "Duration": XSD.duration,
}


def model_triples(models: ModelSet) -> Iterator[Triple]:
    for element in models.elements.values():
        if element.standard:
            continue
        if element.cls == "Interface":
            yield from _interface(element)
        elif element.cls in CONTENTS:
            yield from _content(models, element)


def _labels(subject: URIRef, element: Element) -> Iterator[Triple]:
    for member, predicate in (("displayName", RDFS.label), ("description", RDFS.comment)):
        texts = element.literals.get(member)
        if isinstance(texts, dict):
            for language, text in texts.items():
                yield subject, predicate, Literal(text, lang=language)


def _interface(element: Element) -> Iterator[Triple]:
    subject = URIRef(element.id)
    yield subject, RDF.type, OWL.Class
    yield subject, RDF.type, DTDL.Interface
    for parent in element.objects.get("extends", []):
        yield subject, RDFS.subClassOf, URIRef(parent)
    yield from _labels(subject, element)


def _content(models: ModelSet, element: Element) -> Iterator[Triple]:
    subject = URIRef(element.id)
    linking = element.cls in ("Relationship", "Component")
    yield subject, RDF.type, DTDL[element.cls]
    yield subject, RDF.type, OWL.ObjectProperty if linking else OWL.DatatypeProperty
    if element.parent:
        yield subject, RDFS.domain, URIRef(element.parent)
    if element.name:
        yield subject, DTDLP.name, Literal(element.name)
        if "displayName" not in element.literals:
            yield subject, RDFS.label, Literal(element.name)
    yield from _labels(subject, element)
    target = element.literals.get("target") if element.cls == "Relationship" else None
    if isinstance(target, str):
        yield subject, RDFS.range, URIRef(target)
    schema = models.get(element.one("schema") or "")
    if schema is not None:
        yield subject, DTDLP.schema, URIRef(schema.id)
        if element.cls == "Component":
            yield subject, RDFS.range, URIRef(schema.id)
        elif schema.cls in XSD_TYPES:
            yield subject, RDFS.range, XSD_TYPES[schema.cls]
    if isinstance(element.literals.get("writable"), bool):
        yield subject, DTDLP.writable, Literal(element.literals["writable"])
    if isinstance(element.literals.get("maxMultiplicity"), int):
        yield subject, DTDLP.maxMultiplicity, Literal(element.literals["maxMultiplicity"])
    for cotype in element.cotypes:
        yield subject, DTDLP.semanticType, Literal(cotype)
    unit = element.supplemental.get("unit")
    if isinstance(unit, str):
        yield subject, DTDLP.unit, Literal(unit)
