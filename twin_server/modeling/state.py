"""The state of one parse: the documents' elements so far, the references to resolve, the
errors found, and the options in force."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from twin_server.modeling.context import Term
from twin_server.modeling.errors import Location, ParsingError
from twin_server.modeling.model import ModelSet

SEMANTIC_COTYPES = {
    2: ("Property", "Telemetry"),
    3: ("CommandRequest", "CommandResponse", "Field", "MapValue", "Property", "Telemetry"),
}


@dataclass
class Options:
    allow_undefined_extensions: bool | None = None  # None: DTDL's default for the version
    max_dtdl_version: int = 3


@dataclass
class Reference:
    source: str  # element id holding the reference
    prop: str
    target: str
    location: Location


@dataclass
class Reader:
    """Collects elements, references and errors while documents are read."""

    documents: list[Any]  # the parser's Documents, by index
    options: Options
    errors: list[ParsingError] = field(default_factory=list)
    models: ModelSet = field(default_factory=ModelSet)
    references: list[Reference] = field(default_factory=list)
    defined: dict[str, Location] = field(default_factory=dict)

    def error(
        self,
        code: str,
        cause: str,
        action: str,
        *,
        location: Location | None,
        primary_id: str | None = None,
        prop: str | None = None,
        value: Any = None,
        secondary_id: str | None = None,
    ) -> None:
        self.errors.append(
            ParsingError(
                code,
                cause,
                action,
                primary_id=primary_id,
                prop=prop,
                value=None if value is None else str(value),
                secondary_id=secondary_id,
                location=location,
            )
        )


@dataclass
class Types:
    material: list[str] = field(default_factory=list)
    cotypes: list[Term] = field(default_factory=list)
    undefined: list[str] = field(default_factory=list)
