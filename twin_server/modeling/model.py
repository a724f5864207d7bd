"""The parsed form of a DTDL model set: elements, each with its class, id and properties."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from twin_server.modeling.errors import Location


@dataclass
class Element:
    """One DTDL element (an Interface, a Property, a schema…). Object-valued properties hold
    the ids of the elements they refer to; literal properties hold their values."""

    id: str
    cls: str  # the material class: Interface, Telemetry, Object…
    version: int
    location: Location | None
    parent: str | None = None  # the element this one is defined inside
    parent_property: str | None = None
    cotypes: tuple[str, ...] = ()  # semantic and adjunct types (terms), and undefined ones
    literals: dict[str, Any] = field(default_factory=dict)
    objects: dict[str, list[str]] = field(default_factory=dict)
    property_locations: dict[str, Location] = field(default_factory=dict)
    supplemental: dict[str, Any] = field(default_factory=dict)  # unit, annotates, overrides…
    extensions: tuple[str, ...] = ()  # the extension contexts in force
    standard: bool = False  # a DTDL-defined element (primitive schema, unit…)

    @property
    def name(self) -> str | None:
        value = self.literals.get("name")
        return value if isinstance(value, str) else None

    def one(self, prop: str) -> str | None:
        values = self.objects.get(prop)
        return values[0] if values else None


@dataclass
class ModelSet:
    """Every element of a parsed model set, by id (standard elements included)."""

    elements: dict[str, Element] = field(default_factory=dict)

    def interfaces(self) -> list[Element]:
        return [e for e in self.elements.values() if e.cls == "Interface" and not e.standard]

    def __getitem__(self, identifier: str) -> Element:
        return self.elements[identifier]

    def get(self, identifier: str) -> Element | None:
        return self.elements.get(identifier)
