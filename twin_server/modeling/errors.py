"""Parsing errors in the official DTDL parser's vocabulary.

Each error carries the official validation id (``dtmi:dtdl:parsingError:…``), the DTMI of the
element it concerns, the DTDL property, the offending value, and where it is (source name and
line, filled in from a JSON path once parsing is over).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

ID_PREFIX = "dtmi:dtdl:parsingError:"
# Problems the official catalogue has no id for (it reports them outside its error list).
OWN_PREFIX = "dtmi:twinserver:parsingError:"
OWN_CODES = frozenset({"invalidJson", "tooDeep"})

# A JSON path inside one source document: keys and list indices from the root.
JsonPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Location:
    """Where something is: the index of its source document, and a JSON path inside it."""

    doc: int
    path: JsonPath = ()


@dataclass(frozen=True)
class ParsingError:
    """One reason a model set is invalid."""

    code: str  # the short validation id: ``invalidId``, ``badType``…
    cause: str  # what is wrong
    action: str  # what to do about it
    primary_id: str | None = None
    prop: str | None = None  # the DTDL property concerned
    value: str | None = None
    secondary_id: str | None = None
    location: Location | None = None
    source: str | None = None  # file name, filled in by the parser
    line: int | None = None  # 1-based line, filled in by the parser

    @property
    def validation_id(self) -> str:
        return (OWN_PREFIX if self.code in OWN_CODES else ID_PREFIX) + self.code

    @property
    def message(self) -> str:
        return f"{self.cause} {self.action}"

    def located(self, source: str, line: int | None) -> ParsingError:
        return replace(self, source=source, line=line)

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}: " if self.source and self.line else ""
        if self.source and not self.line:
            where = f"{self.source}: "
        return f"{where}{self.validation_id}: {self.message}"


@dataclass
class ModelError(Exception):
    """A model set was refused; ``errors`` lists every reason found."""

    errors: list[ParsingError] = field(default_factory=list)
    # DTMIs referenced but defined neither in the input nor by the resolver, each with
    # where it is referenced (``source:line``).
    unresolved: dict[str, list[str]] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [str(e) for e in self.errors]
        for identifier, places in self.unresolved.items():
            for place in places or ["?"]:
                lines.append(
                    f"{place}: unresolved reference: {identifier} is defined neither in the "
                    "models given nor in the model repository; include its model."
                )
        return "\n".join(lines)


class ResolutionError(Exception):
    """A resolver could not provide a DTMI's definition (not an invalid model: missing input)."""
