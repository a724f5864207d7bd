"""DTDL @context handling: which DTDL version a document uses, which extensions, and what its
terms mean.

A DTDL document's ``@context`` names the DTDL context (``dtmi:dtdl:context;2`` or ``;3``),
optionally preceded by affiliate contexts and followed by language extensions. Local context
definitions (JSON objects) are not allowed in DTDL v2 and v3.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from twin_server.modeling import metamodel, quantities
from twin_server.modeling.extensions import EXTENSIONS, Adjunct

DTDL_CONTEXT = "dtmi:dtdl:context"
EXTENSION_PREFIX = "dtmi:dtdl:extension:"
IOTCENTRAL = "dtmi:iotcentral:context;2"

# A context specifier: DTMI-like, with an optional ``;version`` (and ``.minor``).
SPECIFIER = re.compile(
    r"^dtmi:(?P<path>[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?(?::[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?)*)(?:;(?P<version>[^#]*))?(?P<fragment>#.*)?$"
)

AFFILIATES: dict[str, int] = {IOTCENTRAL: 2}


@dataclass(frozen=True)
class Term:
    """What a term or IRI means in a document's context."""

    kind: str  # class, property, instance, semantic, unittype, unit, adjunct, extprop, abstract
    name: str
    origin: str  # the context that defines it
    adjunct: Adjunct | None = None

    @property
    def is_class(self) -> bool:
        return self.kind == "class"


@dataclass
class ActiveContext:
    """The context in force for one element: version, extensions and term table."""

    version: int
    specifiers: tuple[str, ...]
    terms: dict[str, Term] = field(default_factory=dict)
    unknown_extensions: tuple[str, ...] = ()

    @property
    def extensions(self) -> tuple[str, ...]:
        return self.specifiers

    @property
    def undefined_terms_allowed(self) -> bool:
        """DTDL v2 accepts undefined terms; v3 only when an unknown extension might define
        them."""
        return self.version == 2 or bool(self.unknown_extensions)

    def lookup(self, token: str) -> Term | None:
        return self.terms.get(token)


@dataclass(frozen=True)
class ContextProblem:
    code: str
    cause: str
    action: str
    value: str | None = None


def _semantic_terms(
    origin: str, semantic: dict[str, str], units: dict[str, tuple[str, ...]], iri: Any
) -> dict[str, Term]:
    terms: dict[str, Term] = {}
    for name in semantic:
        terms[name] = terms[iri("class", name)] = Term("semantic", name, origin)
    for unit_type, names in units.items():
        terms[unit_type] = terms[iri("class", unit_type)] = Term("unittype", unit_type, origin)
        for unit in names:
            terms[unit] = terms[iri("unit", unit)] = Term("unit", unit, origin)
    return terms


@cache
def core_terms(version: int) -> dict[str, Term]:
    """The terms of ``dtmi:dtdl:context;{version}`` and the IRIs they stand for."""
    origin = f"{DTDL_CONTEXT};{version}"
    terms: dict[str, Term] = {}
    for cls in metamodel.CLASSES.values():
        if metamodel.exists_in(cls, version):
            terms[cls.name] = terms[f"dtmi:dtdl:class:{cls.name};{version}"] = Term(
                "class", cls.name, origin
            )
            for prop in cls.declared:
                if metamodel.exists_in(prop, version):
                    terms[prop.name] = terms[f"dtmi:dtdl:property:{prop.name};{version}"] = Term(
                        "property", prop.name, origin
                    )
    for name in EXTRA_PROPERTIES + (("aliasFor",) if version == 3 else ()):
        terms[name] = terms[f"dtmi:dtdl:property:{name};{version}"] = Term("property", name, origin)
    for name in metamodel.PRIMITIVES:
        terms[name] = terms[f"dtmi:dtdl:instance:Schema:{name};{version}"] = Term(
            "instance", name, origin
        )
    for name in metamodel.COMMAND_TYPES:
        terms[name] = terms[f"dtmi:dtdl:instance:CommandType:{name};{version}"] = Term(
            "instance", name, origin
        )
    for name in GEOSPATIAL:
        terms[name] = terms[f"dtmi:standard:schema:geospatial:{name};{version}"] = Term(
            "instance", name, origin
        )
    for name in ("SemanticType", "SemanticUnit") + (("AdjunctType",) if version == 3 else ()):
        terms[name] = terms[f"dtmi:dtdl:class:{name};{version}"] = Term("abstract", name, origin)
    if version == 2:
        terms["unit"] = terms["dtmi:dtdl:property:unit;2"] = Term("extprop", "unit", origin)

        def iri(kind: str, name: str) -> str:
            return f"dtmi:standard:{kind}:{name};2"

        terms.update(
            _semantic_terms(origin, quantities.V2_SEMANTIC_TYPES, quantities.V2_UNITS, iri)
        )
    return terms


# Properties the DTDL contexts define that no model may set (they describe units, or the
# language itself): a model using one gets "irrelevant property", not "undefined term".
EXTRA_PROPERTIES = (
    "languageMajorVersion",
    "exponent",
    "baseUnit",
    "prefix",
    "topUnit",
    "bottomUnit",
)
GEOSPATIAL = ("point", "lineString", "polygon", "multiPoint", "multiLineString", "multiPolygon")


@cache
def extension_terms(specifier: str) -> dict[str, Term]:
    """The terms a supported extension or affiliate context defines."""
    if specifier == "dtmi:dtdl:extension:quantitativeTypes;1":
        return _quantitative_terms(specifier)
    extension = EXTENSIONS[specifier]
    terms: dict[str, Term] = {}
    for adjunct in extension.adjuncts:
        terms[adjunct.name] = Term("adjunct", adjunct.name, specifier, adjunct)
        if adjunct.iri:
            terms[adjunct.iri] = terms[adjunct.name]
        for prop in adjunct.properties:
            terms[prop.name] = Term("extprop", prop.name, specifier)
            if adjunct.iri:
                terms[f"{adjunct.iri}:{prop.name}"] = terms[prop.name]
    for name in extension.schemas:
        terms[name] = Term("instance", name, specifier)
    return terms


def _quantitative_terms(specifier: str) -> dict[str, Term]:
    base = "dtmi:dtdl:extension:quantitativeTypes:v1"

    def iri(kind: str, name: str) -> str:
        return (
            f"{base}:{'enum' if kind == 'class' and name in quantities.QT1_UNITS else kind}:{name}"
        )

    terms = _semantic_terms(specifier, quantities.QT1_SEMANTIC_TYPES, quantities.QT1_UNITS, iri)
    for unit_type in quantities.QT1_UNITS:  # unit types are Enums usable as schemas
        terms[unit_type] = terms[iri("class", unit_type)] = Term("instance", unit_type, specifier)
    terms["EnergyRateUnit"] = terms["PowerUnit"]
    terms["unit"] = terms[f"{base}:property:unit"] = Term("extprop", "unit", specifier)
    return terms


def read_specifiers(value: Any) -> tuple[list[str], ContextProblem | None]:
    """The context specifiers of an ``@context`` value, or the first problem with it."""
    items = value if isinstance(value, list) else [value]
    specifiers: list[str] = []
    for item in items:
        if isinstance(item, dict):
            return specifiers, ContextProblem(
                "disallowedLocalContext",
                "@context contains a local context definition (a JSON object), which DTDL v2 "
                "and v3 do not allow.",
                "Remove the local definitions; use only context specifiers such as "
                "'dtmi:dtdl:context;3'.",
            )
        if not isinstance(item, str):
            return specifiers, ContextProblem(
                "invalidContext",
                f"@context has value {item!r}, which is not a context specifier string.",
                "Use DTMI context specifiers such as 'dtmi:dtdl:context;3'.",
                str(item),
            )
        specifiers.append(item)
    return specifiers, None


@dataclass
class _Reading:
    version: int | None
    known: list[str]
    unknown: list[str]
    allow: bool | None
    seen_extension: bool = False  # a non-DTDL, non-affiliate specifier in this list
    seen_affiliate: bool = False
    seen_dtdl: bool = False
    affiliate_version: int | None = None


def activate(
    value: Any, *, allow_undefined_extensions: bool | None, parent: ActiveContext | None = None
) -> tuple[ActiveContext | None, list[ContextProblem]]:
    """Process an ``@context`` value. At top level (``parent`` None) it must name a DTDL
    context; nested, it adds to (or switches the DTDL version of) the parent's."""
    specifiers, problem = read_specifiers(value)
    if problem:
        return None, [problem]
    if not specifiers and parent is None:
        return None, [
            ContextProblem(
                "emptyContext",
                "@context is empty.",
                "Name a DTDL context such as 'dtmi:dtdl:context;3'.",
            )
        ]
    reading = _Reading(
        parent.version if parent else None,
        list(parent.specifiers) if parent else [],
        list(parent.unknown_extensions) if parent else [],
        allow_undefined_extensions,
    )
    problems: list[ContextProblem] = []
    for spec in specifiers:
        found = _specifier(spec, reading)
        if found is not None:
            problems.append(found)
            break  # later specifiers are judged against a context already wrong
    if not problems and reading.version is None:
        problems.append(
            ContextProblem(
                "missingDtdlContext",
                "@context does not name a DTDL context.",
                "Put 'dtmi:dtdl:context;2' or 'dtmi:dtdl:context;3' first in @context.",
            )
        )
    if problems or reading.version is None:
        return None, problems
    terms = dict(core_terms(reading.version))
    for spec in reading.known:
        terms.update(extension_terms(spec))
    return (
        ActiveContext(reading.version, tuple(reading.known), terms, tuple(reading.unknown)),
        [],
    )


def _specifier(spec: str, reading: _Reading) -> ContextProblem | None:
    match = SPECIFIER.match(spec)
    if match is None:
        if spec.startswith("dtmi:"):
            return ContextProblem(
                "invalidContextSpecifier",
                f"@context specifier '{spec}' is not a valid DTMI.",
                "Correct the specifier, such as 'dtmi:dtdl:context;3'.",
                spec,
            )
        return ContextProblem(
            "nonDtmiContextSpecifier",
            f"@context specifier '{spec}' is not a DTMI.",
            "DTDL contexts are named by DTMIs, such as 'dtmi:dtdl:context;3'.",
            spec,
        )
    if match["fragment"]:
        return ContextProblem(
            "disallowedContextFragment",
            f"@context specifier '{spec}' has a fragment ('#…'), which is not allowed.",
            "Remove the fragment from the specifier.",
            spec,
        )
    base, version = "dtmi:" + match["path"], match["version"]
    if base == DTDL_CONTEXT:
        return _dtdl_specifier(spec, version, reading)
    if spec in AFFILIATES:
        reading.seen_affiliate = True
        reading.affiliate_version = AFFILIATES[spec]
    else:
        reading.seen_extension = True
    if version is None:
        return ContextProblem(
            "missingContextVersion",
            f"@context specifier '{spec}' has no version.",
            "Add the context's version, such as ';1'.",
            spec,
        )
    major, _, minor = version.partition(".")
    if not re.fullmatch(r"[1-9][0-9]{0,8}", major) or (
        minor and not re.fullmatch(r"[1-9][0-9]{0,5}", minor)
    ):
        return ContextProblem(
            "invalidContextSpecifier",
            f"@context specifier '{spec}' has an invalid version '{version}'.",
            "Give a version such as ';1' (or ';1.2' in DTDL v3).",
            spec,
        )
    if minor and reading.version == 2:
        return ContextProblem(
            "invalidContextSpecifierForVersion",
            f"@context specifier '{spec}' has a minor version, which DTDL v2 does not allow.",
            "Give only the major version, such as ';1'.",
            spec,
        )
    if reading.version is None and spec not in AFFILIATES:
        return ContextProblem(
            "missingDtdlContext",
            f"@context names '{spec}' before any DTDL context.",
            "Put 'dtmi:dtdl:context;2' or 'dtmi:dtdl:context;3' first.",
            spec,
        )
    resolved = f"{base};{major}"
    if resolved in EXTENSIONS:
        # an extension for another DTDL version loads; its co-types are refused per element
        if resolved not in reading.known:
            reading.known.append(resolved)
        return None
    allowed = reading.allow if reading.allow is not None else reading.version == 2
    if not allowed:
        versionless = any(k.startswith(base + ";") for k in EXTENSIONS)
        return ContextProblem(
            "unresolvableContextVersion" if versionless else "unresolvableContextSpecifier",
            f"@context specifier '{spec}' names "
            + ("a version of that extension" if versionless else "an extension")
            + " this parser does not know.",
            "Remove the specifier or use a supported version, or allow undefined extensions.",
            spec,
        )
    if spec not in reading.unknown:
        reading.unknown.append(spec)
    return None


def _dtdl_specifier(spec: str, version: str | None, reading: _Reading) -> ContextProblem | None:
    if version is None:
        return ContextProblem(
            "missingContextVersion",
            f"@context specifier '{spec}' has no version.",
            "Add a version: 'dtmi:dtdl:context;2' or 'dtmi:dtdl:context;3'.",
            spec,
        )
    if version not in ("2", "3"):
        return ContextProblem(
            "unrecognizedContextVersion",
            f"@context specifier '{spec}' names a DTDL version this parser does not support.",
            "Use 'dtmi:dtdl:context;2' or 'dtmi:dtdl:context;3'.",
            spec,
        )
    if (
        reading.seen_affiliate
        and not reading.seen_dtdl
        and reading.affiliate_version not in (None, int(version))
    ):
        return ContextProblem(
            "missingDtdlContext",
            f"@context names an affiliate context for another DTDL version before '{spec}'.",
            "Put the DTDL context first in @context.",
        )
    if reading.seen_extension or (reading.seen_affiliate and reading.seen_dtdl):
        return ContextProblem(
            "dtdlContextFollowsAffiliate",
            f"@context names the DTDL context '{spec}' after an extension or affiliate context.",
            "Put the DTDL context first in @context.",
            spec,
        )
    reading.version = int(version)
    reading.seen_dtdl = True
    return None


def reserved(identifier: str) -> bool:
    """IDs under prefixes that DTDL reserves for its own definitions."""
    return identifier.startswith(("dtmi:dtdl:", "dtmi:standard:"))


def all_terms(versions: Iterable[int]) -> set[str]:
    return {t for v in versions for t in core_terms(v)}
