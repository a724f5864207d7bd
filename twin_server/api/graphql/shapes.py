"""Twins between the expanded entity form and GraphQL's shapes: properties as a JSON object
of short names to values (keyValues), relationships as edges; and app input (short names,
plain values) to NGSI-LD attributes."""

from __future__ import annotations

from typing import Any

from twin_server.api.ngsild.render import View, render_entity
from twin_server.core import ingest
from twin_server.core.types import RELATIONSHIP_KINDS, Attrs, Entity
from twin_server.errors import BadRequestData
from twin_server.jsonld.termmap import TermMap


def properties(entity: Entity, terms: TermMap) -> dict[str, Any]:
    """Every non-relationship attribute as ``{short name: value}`` (keyValues form)."""
    shown = {
        name: instances
        for name, instances in entity["attrs"].items()
        if instances and instances[0].get("type") not in RELATIONSHIP_KINDS
    }
    rendered = render_entity({**entity, "attrs": shown}, View(terms, "keyValues"))
    return {k: v for k, v in rendered.items() if k not in ("id", "type", "scope")}


def property_value(entity: Entity, name: str, terms: TermMap) -> Any:
    """One property's value by short name (keyValues form; None when it has none)."""
    iri = terms.expand(name)
    instances = entity["attrs"].get(iri)
    if not instances or instances[0].get("type") in RELATIONSHIP_KINDS:
        return None
    one = {"id": entity["id"], "type": entity["type"], "attrs": {iri: instances}}
    return render_entity(one, View(terms, "keyValues")).get(terms.compact(iri))


def relationships(entity: Entity, name: str | None = None) -> list[tuple[str, str, str | None]]:
    """(attribute IRI, target id, datasetId) of each relationship (of ``name`` only)."""
    found = []
    for attr, instances in entity["attrs"].items():
        if name is not None and attr != name:
            continue
        for inst in instances:
            if inst.get("type") == "Relationship":
                found.append((attr, inst["object"], inst.get("datasetId")))
            elif inst.get("type") == "ListRelationship":
                found.extend((attr, t, inst.get("datasetId")) for t in inst.get("objectList", ()))
    return found


def attributes_from_input(
    values: Any, links: Any, terms: TermMap, *, allow_null: bool = False
) -> Attrs:
    """NGSI-LD attributes from app input: ``values`` maps short names to plain values (a
    value given as a full NGSI-LD attribute, with its "type", is taken as it is), ``links``
    is a list of {name, target}."""
    payload: dict[str, Any] = {}
    if values is not None:
        if not isinstance(values, dict):
            raise BadRequestData("properties is a JSON object of names to values")
        for name, value in values.items():
            if isinstance(value, dict) and "type" in value:
                payload[name] = value
            elif value is None and allow_null:
                payload[name] = "urn:ngsi-ld:null"
            else:
                payload[name] = {"type": "Property", "value": value}
    for link in links or ():
        payload[link.name] = {"type": "Relationship", "object": link.target}
    return ingest.attrs_from_payload(payload, terms, allow_null=allow_null)


def entity_from_input(
    twin_id: str, twin_type: str, values: Any, links: Any, terms: TermMap
) -> Entity:
    return {
        "id": ingest.entity_id(twin_id),
        "type": ingest.entity_types(twin_type, terms),
        "attrs": attributes_from_input(values, links, terms),
    }
