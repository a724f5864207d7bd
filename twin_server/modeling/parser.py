"""The DTDL parser: JSON documents → elements, each checked against the metamodel.

Parsing runs in two phases, as the official parser does: this module reads every document
into elements (syntax, @context, @id, @type, properties, literal values); ``rules`` then
checks the model set as a whole (references, inheritance, limits). A phase with errors stops
the parse, so the errors reported are the ones a modeler must fix first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from twin_server.modeling import dtmi, literals, metamodel, rules
from twin_server.modeling.context import ActiveContext, Term, activate
from twin_server.modeling.errors import JsonPath, Location, ModelError, ParsingError
from twin_server.modeling.model import Element, ModelSet
from twin_server.modeling.source import SourceMap
from twin_server.modeling.standard import standard_element

# A resolver gives the JSON text of DTMIs the documents reference but do not define.
Resolver = Callable[[Sequence[str]], dict[str, str]]

SEMANTIC_COTYPES = {
    2: ("Property", "Telemetry"),
    3: ("CommandRequest", "CommandResponse", "Field", "MapValue", "Property", "Telemetry"),
}


@dataclass
class Document:
    """One source: its name, text and parsed JSON."""

    name: str
    text: str
    value: Any = None
    _map: SourceMap | None = None

    def source_map(self) -> SourceMap:
        if self._map is None:
            self._map = SourceMap(self.text)
        return self._map


@dataclass
class Options:
    allow_undefined_extensions: bool | None = None  # None: DTDL's default for the version
    max_dtdl_version: int = 3


@dataclass
class _Reference:
    source: str  # element id holding the reference
    prop: str
    target: str
    location: Location


@dataclass
class _State:
    documents: list[Document]
    options: Options
    errors: list[ParsingError] = field(default_factory=list)
    models: ModelSet = field(default_factory=ModelSet)
    references: list[_Reference] = field(default_factory=list)
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


def parse_texts(
    sources: Sequence[tuple[str, str]],
    *,
    options: Options | None = None,
    resolver: Resolver | None = None,
) -> ModelSet:
    """Parse the named JSON texts as one model set; raise ``ModelError`` with every error."""
    documents = [Document(name, text) for name, text in sources]
    state = _State(documents, options or Options())
    for index, doc in enumerate(documents):
        try:
            doc.value = json.loads(doc.text)
        except (json.JSONDecodeError, RecursionError) as exc:
            line = getattr(exc, "lineno", None)
            state.errors.append(
                ParsingError(
                    "invalidJson",
                    f"{doc.name} is not valid JSON: {getattr(exc, 'msg', exc)}.",
                    "Correct the JSON syntax.",
                    location=Location(index),
                    source=doc.name,
                    line=line,
                )
            )
    _raise_if_any(state)
    for index, doc in enumerate(documents):
        _document(state, index, doc.value)
    _raise_if_any(state)
    if resolver is not None:
        _resolve(state, resolver)
    missing = rules.unresolved(state.models, state.references)
    if missing:
        raise _unresolved(state, missing)
    rules.check(state.models, state.references, state.error)
    _raise_if_any(state)
    return state.models


def _unresolved(state: _State, missing: Sequence[_Reference]) -> ModelError:
    places: dict[str, list[str]] = {}
    for ref in missing:
        doc = state.documents[ref.location.doc]
        span = doc.source_map().spans.get(ref.location.path)
        places.setdefault(ref.target, []).append(f"{doc.name}:{span.key_line if span else '?'}")
    return ModelError([], places)


def _resolve(state: _State, resolver: Resolver) -> None:
    """Ask the resolver for referenced DTMIs no document defines, until none is missing."""
    asked: set[str] = set()
    while True:
        missing = sorted(
            {r.target for r in state.references if r.target not in state.models.elements} - asked
        )
        if not missing:
            return
        asked.update(missing)
        found = resolver(missing)
        for name, text in found.items():
            doc = Document(name, text)
            state.documents.append(doc)
            try:
                doc.value = json.loads(text)
            except json.JSONDecodeError as exc:
                state.error(
                    "invalidJson",
                    f"{name} is not valid JSON: {exc.msg}.",
                    "Correct the JSON syntax.",
                    location=Location(len(state.documents) - 1),
                )
                continue
            _document(state, len(state.documents) - 1, doc.value)
        _raise_if_any(state)


def _raise_if_any(state: _State) -> None:
    if not state.errors:
        return
    located = []
    for error in state.errors:
        if error.location is None or error.source is not None:
            located.append(error)
            continue
        doc = state.documents[error.location.doc]
        span = doc.source_map().spans.get(error.location.path)
        located.append(error.located(doc.name, span.key_line if span else None))
    raise ModelError(located)


def _document(state: _State, index: int, value: Any) -> None:
    if isinstance(value, list):
        for position, item in enumerate(value):
            _top_level(state, Location(index, (position,)), item)
    else:
        _top_level(state, Location(index, ()), value)


def _top_level(state: _State, loc: Location, node: Any) -> None:
    if not isinstance(node, dict):
        state.error(
            "notJsonObject",
            "A DTDL document holds a JSON object (or an array of them); this one holds something else.",
            "Make the document a JSON object with @context, @id and @type.",
            location=loc,
        )
        return
    if "@context" not in node:
        state.error(
            "missingContext",
            "The top-level element has no @context.",
            'Add "@context": "dtmi:dtdl:context;3" (or ;2) to the element.',
            location=loc,
            primary_id=_id_of(node),
        )
        return
    if "@graph" in node:
        state.error(
            "topLevelGraphDisallowed",
            "A top-level element has @graph, which DTDL does not allow.",
            "Remove @graph; give the Interface directly.",
            location=loc,
        )
        return
    ctx = _context(state, node["@context"], loc, None)
    if ctx is None:
        return
    _element(state, node, loc=loc, ctx=ctx, expected=None, parent=None, prop=None)


def _id_of(node: dict[str, Any]) -> str | None:
    value = node.get("@id")
    return value if isinstance(value, str) else None


def _context(
    state: _State, value: Any, loc: Location, parent: ActiveContext | None
) -> ActiveContext | None:
    ctx, problems = activate(
        value, allow_undefined_extensions=state.options.allow_undefined_extensions, parent=parent
    )
    if ctx is not None and ctx.version > state.options.max_dtdl_version:
        state.error(
            "disallowedContextVersion",
            f"@context names DTDL v{ctx.version}, but at most v{state.options.max_dtdl_version} is accepted here.",
            f"Use DTDL v{state.options.max_dtdl_version} or lower.",
            location=Location(loc.doc, (*loc.path, "@context")),
            value=f"dtmi:dtdl:context;{ctx.version}",
        )
        return None
    for p in problems:
        state.error(
            p.code,
            p.cause,
            p.action,
            location=Location(loc.doc, (*loc.path, "@context")),
            value=p.value,
        )
    return ctx


@dataclass
class _Types:
    material: list[str] = field(default_factory=list)
    cotypes: list[Term] = field(default_factory=list)
    undefined: list[str] = field(default_factory=list)


def _element(
    state: _State,
    node: dict[str, Any],
    *,
    loc: Location,
    ctx: ActiveContext,
    expected: metamodel.PropertyDef | None,
    parent: Element | None,
    prop: str | None,
    segment: str | None = None,
) -> str | None:
    """Read one element; return its id (None when it could not be read)."""
    if "@context" in node and parent is not None:
        nested = _context(state, node["@context"], loc, ctx)
        if nested is None:
            return None
        if nested.version > ctx.version:
            state.error(
                "unrecognizedContextVersion",
                f"An element of DTDL v{ctx.version} embeds an element of DTDL v{nested.version}, which v{ctx.version} does not know.",
                f"Define the element with DTDL v{ctx.version}, or move the outer element to DTDL v{nested.version}.",
                location=Location(loc.doc, (*loc.path, "@context")),
            )
            return None
        if expected is not None and nested.version not in expected.versions.get(
            ctx.version, (ctx.version,)
        ):
            state.error(
                "disallowedVersionDefinition",
                f"{parent.id} property '{prop}' holds an element of DTDL v{nested.version}, which is not allowed there.",
                f"Define the value of '{prop}' with DTDL v{ctx.version}.",
                location=loc,
                primary_id=parent.id,
                prop=prop,
            )
            return None
        ctx = nested
    version = ctx.version
    identifier = _identifier(
        state, node, loc, ctx=ctx, version=version, parent=parent, prop=prop, segment=segment
    )
    if identifier is None:
        return None
    types = _read_types(state, node, loc, ctx, identifier)
    if types is None:
        return None
    cls = _material_class(
        state,
        node,
        loc,
        types,
        expected=expected,
        version=version,
        identifier=identifier,
        parent=parent,
        prop=prop,
    )
    if cls is None:
        return None
    if "@id" in node and parent is not None and identifier in state.defined:
        pass  # duplicates are reported by the rules, with both places
    element = Element(
        identifier,
        cls,
        version,
        loc,
        parent=parent.id if parent else None,
        parent_property=prop,
        extensions=ctx.extensions,
    )
    element.cotypes = tuple(t.name for t in types.cotypes) + tuple(types.undefined)
    if identifier in state.models.elements and not state.models.elements[identifier].standard:
        state.error(
            "duplicateDefinition",
            f"{identifier} is defined more than once.",
            "Give each element its own @id, or define it only once.",
            location=loc,
            primary_id=identifier,
        )
        return identifier
    state.models.elements[identifier] = element
    state.defined[identifier] = loc
    if not _cotypes_allowed(state, element, types, loc):
        return identifier
    _properties(state, node, element, ctx, types, loc)
    _supplemental(state, element, types, loc)
    return identifier


def _reserved_prefixes(ctx: ActiveContext) -> tuple[str, ...]:
    prefixes = ("dtmi:dtdl:", "dtmi:standard:")
    if "dtmi:iotcentral:context;2" in ctx.specifiers:
        prefixes += ("dtmi:iotcentral:",)
    return prefixes


def _identifier(
    state: _State,
    node: dict[str, Any],
    loc: Location,
    *,
    ctx: ActiveContext,
    version: int,
    parent: Element | None,
    prop: str | None,
    segment: str | None,
) -> str | None:
    raw = node.get("@id")
    expected = metamodel.properties(parent.cls, version).get(prop or "") if parent else None
    if raw is None and expected is not None and expected.id_required:
        state.error(
            "missingRequiredId",
            f"{parent.id if parent else ''} property '{prop}' has a value defined inline without an @id, which '{prop}' requires.",
            f"Give the value of '{prop}' an @id, or refer to it by DTMI.",
            location=loc,
            primary_id=parent.id if parent else None,
            prop=prop,
        )
        return None
    if raw is None:
        if parent is None:
            state.error(
                "missingTopLevelId",
                "The top-level element has no @id.",
                "Give the Interface an @id, a DTMI such as 'dtmi:com:example:Thermostat;1'.",
                location=loc,
            )
            return None
        parts = [f"_{prop}"]
        if segment:
            parts.append(f"__{segment}")
        return dtmi.child_id(parent.id, *parts)
    if not isinstance(raw, str):
        state.error(
            "idNotString",
            f"@id has value {raw!r}, which is not a string.",
            "Make @id a DTMI string such as 'dtmi:com:example:Thermostat;1'.",
            location=Location(loc.doc, (*loc.path, "@id")),
            value=raw,
        )
        return None
    if not dtmi.valid(raw, version):
        rule = (
            "a version is required: ';1' and up"
            if version == 2
            else "a version, when given, is ';1' and up (with an optional '.minor')"
        )
        state.error(
            "invalidId",
            f"@id '{raw}' is not a valid DTMI for DTDL v{version}: segments start with a letter and hold letters, digits and underscores (not ending with one); {rule}.",
            "Correct the @id, for example 'dtmi:com:example:Thermostat;1'.",
            location=Location(loc.doc, (*loc.path, "@id")),
            value=raw,
        )
        return None
    if len(raw) > dtmi.MAX_LENGTH:
        state.error(
            "idTooLong",
            f"@id '{raw[:60]}…' is {len(raw)} characters long; at most {dtmi.MAX_LENGTH} are allowed.",
            "Shorten the @id.",
            location=Location(loc.doc, (*loc.path, "@id")),
            value=raw,
        )
        return None
    if raw.startswith(_reserved_prefixes(ctx)):
        state.error(
            "reservedId",
            f"@id '{raw}' uses a prefix DTDL reserves for its own definitions.",
            "Use an @id under your own namespace, such as 'dtmi:com:example:…'.",
            location=Location(loc.doc, (*loc.path, "@id")),
            value=raw,
        )
        return None
    return raw


def _read_types(
    state: _State, node: dict[str, Any], loc: Location, ctx: ActiveContext, identifier: str
) -> _Types | None:
    raw = node.get("@type")
    types = _Types()
    if raw is None:
        return types
    values = raw if isinstance(raw, list) else [raw]
    type_loc = Location(loc.doc, (*loc.path, "@type"))
    ok = True
    for value in values:
        if not isinstance(value, str):
            state.error(
                "typeNotString" if False else "badType",
                f"@type of {identifier} has value {value!r}, which is not a string.",
                "Give @type as a term such as 'Interface', or a list of terms.",
                location=type_loc,
                primary_id=identifier,
            )
            ok = False
            continue
        term = ctx.lookup(value)
        if term is None:
            if value.startswith("dtmi:") and not dtmi.valid(value, 3):
                state.error(
                    "typeInvalidDtmi",
                    f"@type of {identifier} has value '{value}', which is not a valid DTMI.",
                    "Correct the DTMI, or use a DTDL term.",
                    location=type_loc,
                    primary_id=identifier,
                    value=value,
                )
                ok = False
            elif ":" not in value and not ctx.undefined_terms_allowed:
                state.error(
                    "typeUndefinedTerm",
                    f"@type of {identifier} has '{value}', a term that no context in force defines.",
                    "Use a term defined by DTDL or an extension named in @context, or add the extension's context.",
                    location=type_loc,
                    primary_id=identifier,
                    value=value,
                )
                ok = False
            elif ":" in value and not value.startswith("dtmi:") and ctx.version == 3:
                state.error(
                    "typeNotDtmiNorTerm",
                    f"@type of {identifier} has '{value}', which is neither a DTMI nor a term.",
                    "Use a DTDL term or a DTMI.",
                    location=type_loc,
                    primary_id=identifier,
                    value=value,
                )
                ok = False
            else:
                types.undefined.append(value)
            continue
        if term.kind == "class":
            types.material.append(term.name)
        elif term.kind in ("semantic", "adjunct"):
            types.cotypes.append(term)
        elif term.kind == "abstract":
            state.error(
                "abstractSupplementalType",
                f"@type of {identifier} names '{value}', which is abstract.",
                f"Replace '{value}' with a concrete type.",
                location=type_loc,
                primary_id=identifier,
                value=value,
            )
            ok = False
        elif ctx.unknown_extensions:
            types.undefined.append(value)  # an unknown extension may give it a meaning
        else:
            state.error(
                "typeIrrelevantDtmiOrTerm",
                f"@type of {identifier} has '{value}', which is not a type.",
                "Use a DTDL class (such as 'Telemetry') or a semantic type.",
                location=type_loc,
                primary_id=identifier,
                value=value,
            )
            ok = False
    return types if ok else None


def _material_class(
    state: _State,
    node: dict[str, Any],
    loc: Location,
    types: _Types,
    *,
    expected: metamodel.PropertyDef | None,
    version: int,
    identifier: str,
    parent: Element | None,
    prop: str | None,
) -> str | None:
    range_name = expected.range if expected else "Interface"
    assert range_name is not None
    if len(types.material) > 1:
        state.error(
            "multipleMaterialTypes",
            f"{identifier} has more than one DTDL class in @type: {', '.join(types.material)}.",
            "Give exactly one DTDL class in @type.",
            location=Location(loc.doc, (*loc.path, "@type")),
            primary_id=identifier,
        )
        return None
    if not types.material:
        inferred = (
            metamodel.inferred_class(range_name, version)
            if expected and not types.cotypes
            else None
        )
        if inferred is None:
            if parent is None:
                state.error(
                    "typeNotRootable",
                    f"{identifier} has no @type; a top-level element must be an Interface.",
                    'Add "@type": "Interface".',
                    location=loc,
                    value=identifier,
                )
                state.error(
                    "badType",
                    f"{identifier} has no @type.",
                    'Add "@type": "Interface".',
                    location=loc,
                    secondary_id=identifier,
                )
            else:
                state.error(
                    "badType",
                    f"{parent.id} property '{prop}' has value {identifier} that has no @type.",
                    f"Provide a @type of {range_name} (or one of its kinds) for the value of '{prop}'.",
                    location=loc,
                    primary_id=parent.id,
                    prop=prop,
                    secondary_id=identifier,
                )
            return None
        return inferred
    cls = types.material[0]
    if not metamodel.exists_in(metamodel.CLASSES[cls], version):
        state.error(
            "invalidCotypeVersion",
            f"@type '{cls}' does not exist in DTDL v{version}.",
            "Use a class of the DTDL version named in @context.",
            location=Location(loc.doc, (*loc.path, "@type")),
            primary_id=identifier,
        )
        return None
    if cls == "Interface" and len(identifier) > dtmi.MAX_INTERFACE_LENGTH:
        state.error(
            "idTooLongForType",
            f"Interface @id '{identifier}' is {len(identifier)} characters long; an Interface's DTMI may have at most {dtmi.MAX_INTERFACE_LENGTH}.",
            "Shorten the Interface's @id.",
            location=Location(loc.doc, (*loc.path, "@id")),
            value=identifier,
        )
        return None
    if parent is None:
        if cls != "Interface":
            state.error(
                "typeNotRootable",
                f"{identifier} has @type '{cls}'; a top-level element must be an Interface.",
                "Make the top-level element an Interface.",
                location=loc,
                value=identifier,
            )
            return None
        return cls
    if (
        metamodel.CLASSES[cls].abstract
        or metamodel.CLASSES[cls].standard_only
        or not metamodel.is_a(cls, range_name)
    ):
        state.error(
            "badType",
            f"{parent.id} property '{prop}' has value {identifier} with @type '{cls}', which is not a {range_name}.",
            f"Provide a value for '{prop}' with @type of {range_name} (or one of its kinds).",
            location=loc,
            primary_id=parent.id,
            prop=prop,
            secondary_id=identifier,
        )
        return None
    return cls


def _cotypes_allowed(state: _State, element: Element, types: _Types, loc: Location) -> bool:
    ok = True
    type_loc = Location(loc.doc, (*loc.path, "@type"))
    for term in types.cotypes:
        if term.kind == "semantic":
            allowed = SEMANTIC_COTYPES[element.version]
        else:
            allowed = term.adjunct.cotypes if term.adjunct else ()
        if element.cls not in allowed:
            state.error(
                "invalidCotype",
                f"{element.id} has co-type '{term.name}', which cannot be applied to a {element.cls}.",
                f"Remove '{term.name}' from @type, or apply it to a {' or '.join(allowed)}.",
                location=type_loc,
                primary_id=element.id,
                value=term.name,
            )
            ok = False
    semantic = [t for t in types.cotypes if t.kind == "semantic"]
    if len(semantic) > 1:
        state.error(
            "conflictingSupplementalTypes",
            f"{element.id} has more than one semantic type: {', '.join(t.name for t in semantic)}.",
            "Keep one semantic type.",
            location=type_loc,
            primary_id=element.id,
        )
        ok = False
    names = {t.name for t in types.cotypes}
    for term in types.cotypes:
        for needed in term.adjunct.requires if term.adjunct else ():
            if needed not in names:
                state.error(
                    "missingCocotype",
                    f"{element.id} has co-type '{term.name}' without '{needed}', which it requires.",
                    f"Add '{needed}' to @type.",
                    location=type_loc,
                    primary_id=element.id,
                    value=term.name,
                )
                ok = False
    return ok


def _properties(
    state: _State,
    node: dict[str, Any],
    element: Element,
    ctx: ActiveContext,
    types: _Types,
    loc: Location,
) -> None:
    defs = metamodel.properties(element.cls, element.version)
    seen: set[str] = set()
    for key, raw in node.items():
        if key in ("@id", "@type", "@context"):
            continue
        prop_loc = Location(loc.doc, (*loc.path, key))
        if key.startswith("@"):
            if key == "@graph":
                state.error(
                    "graphDisallowed",
                    f"{element.id} has @graph, which DTDL does not allow.",
                    "Remove @graph.",
                    location=prop_loc,
                    primary_id=element.id,
                )
                continue
            if element.version == 2:
                continue  # DTDL v2 ignores other JSON-LD keywords
            state.error(
                "keywordDisallowed",
                f"{element.id} has JSON-LD keyword '{key}', which DTDL does not allow here.",
                f"Remove '{key}'.",
                location=prop_loc,
                primary_id=element.id,
                prop=key,
            )
            continue
        term = ctx.lookup(key)
        name = term.name if term else key
        if term is not None and term.kind in ("property", "extprop"):
            if name in seen:
                state.error(
                    "duplicatePropertyName",
                    f"{element.id} has property '{name}' more than once (as a term and as an IRI).",
                    "Give each property once.",
                    location=prop_loc,
                    primary_id=element.id,
                    prop=key,
                )
                continue
        if term is None and types.undefined and _bad_key(key, ctx):
            _unexpected_property(state, element, key, term, ctx, prop_loc)
            continue
        if term is not None and term.kind == "property" and name in defs:
            if name in seen:
                state.error(
                    "duplicatePropertyName",
                    f"{element.id} has property '{name}' more than once.",
                    "Give each property once.",
                    location=prop_loc,
                    primary_id=element.id,
                    prop=key,
                )
                continue
            seen.add(name)
            element.property_locations[name] = prop_loc
            _property(state, element, defs[name], raw, ctx, prop_loc)
        elif term is not None and term.kind == "extprop" and _extension_allows(term.name, types):
            seen.add(name)
            element.supplemental[name] = raw
            element.property_locations[name] = prop_loc
        elif types.undefined:
            element.supplemental[key] = raw  # an undefined co-type may define it
        else:
            _unexpected_property(state, element, key, term, ctx, prop_loc)
    _missing(state, element, defs, seen, loc)


DURATION = re.compile(
    r"^P(?!$)(?:\d+(?:\.\d+)?Y)?(?:\d+(?:\.\d+)?M)?(?:\d+(?:\.\d+)?W)?(?:\d+(?:\.\d+)?D)?"
    r"(?:T(?!$)(?:\d+(?:\.\d+)?H)?(?:\d+(?:\.\d+)?M)?(?:\d+(?:\.\d+)?S)?)?$"
)


def _supplemental(state: _State, element: Element, types: _Types, loc: Location) -> None:
    """Check the properties adjunct types add: presence, datatype, pattern."""
    for cotype in types.cotypes:
        for prop in cotype.adjunct.properties if cotype.adjunct else ():
            prop_loc = element.property_locations.get(prop.name, loc)
            if prop.name not in element.supplemental:
                if prop.required:
                    state.error("missingSupplementalLiteralProperty", f"{element.id} has co-type {cotype.name} but no '{prop.name}', which {cotype.name} requires.", f"Add '{prop.name}' to the element.", location=loc, primary_id=element.id, prop=prop.name)
                continue
            raw = element.supplemental[prop.name]
            try:
                if prop.datatype == "integer":
                    value: Any = literals.integer(raw, prop.name, version=element.version, minimum=None, maximum=None)
                else:
                    value = literals.string(raw, prop.name, version=element.version, max_length=None, pattern=prop.pattern)
                    if prop.datatype == "duration" and not DURATION.match(value):
                        raise literals.LiteralProblem("durationInvalid", f"Property '{prop.name}' has value '{value}', which is not an ISO 8601 duration.", f"Give '{prop.name}' a duration such as 'PT5M'.", value)
            except literals.LiteralProblem as problem:
                state.error(problem.code, f"{element.id}: {problem.cause}", problem.action, location=prop_loc, primary_id=element.id, prop=prop.name, value=problem.value)
                continue
            element.supplemental[prop.name] = value


def _bad_key(key: str, ctx: ActiveContext) -> bool:
    """Keys no undefined co-type can make valid in DTDL v3: invalid DTMIs, non-DTMI IRIs."""
    if ctx.version == 2:
        return False
    return (key.startswith("dtmi:") and not dtmi.valid(key, 3)) or (
        ":" in key and not key.startswith("dtmi:")
    )


def _extension_allows(name: str, types: _Types) -> bool:
    for cotype in types.cotypes:
        if cotype.kind == "semantic" and name == "unit":
            return True
        if cotype.adjunct is not None and cotype.adjunct.property(name) is not None:
            return True
    return False


def _unexpected_property(
    state: _State, element: Element, key: str, term: Term | None, ctx: ActiveContext, loc: Location
) -> None:
    if term is None:
        if key.startswith("dtmi:") and not dtmi.valid(key, 3):
            code = "propertyInvalidDtmi"
        elif ":" in key and not key.startswith("dtmi:"):
            code = "propertyNotDtmiNorTerm"
        else:
            code = "propertyUndefinedTerm"
        if ctx.version == 2 and code != "propertyUndefinedTerm":
            code = "propertyUndefinedTerm"
        state.error(
            code,
            f"{element.id} has property '{key}', which no context in force defines.",
            f"Remove '{key}', or add to @type a co-type that defines it.",
            location=loc,
            primary_id=element.id,
            prop=key,
        )
    else:
        state.error(
            "propertyIrrelevantDtmiOrTerm",
            f"{element.id} has property '{key}', which a {element.cls} does not have.",
            f"Remove '{key}'.",
            location=loc,
            primary_id=element.id,
            prop=key,
        )
    state.error(
        "noTypeThatAllows",
        f"{element.id} has property '{key}', but none of its types allows it.",
        f"Remove '{key}', or add a co-type that defines it.",
        location=loc,
        primary_id=element.id,
        prop=key,
    )


def _missing(
    state: _State,
    element: Element,
    defs: dict[str, metamodel.PropertyDef],
    seen: set[str],
    loc: Location,
) -> None:
    for name, prop in defs.items():
        if name in seen or prop.limits_for(element.version).min_count == 0:
            continue
        if prop.literal:
            state.error(
                "missingLiteralProperty",
                f"{element.id} has no '{name}', which a {element.cls} requires.",
                f"Add a '{name}' to the {element.cls}.",
                location=loc,
                primary_id=element.id,
                prop=name,
            )
        else:
            state.error(
                "missingObjectProperty",
                f"{element.id} has no '{name}', which a {element.cls} requires.",
                f"Add a '{name}' to the {element.cls}.",
                location=loc,
                primary_id=element.id,
                prop=name,
            )


def _property(
    state: _State,
    element: Element,
    prop: metamodel.PropertyDef,
    raw: Any,
    ctx: ActiveContext,
    loc: Location,
) -> None:
    limits = prop.limits_for(element.version)
    if isinstance(raw, list) and not raw and prop.datatype != "langString":
        if limits.min_count == 0:
            return  # an empty list: no value
        if prop.literal:
            family = {"enumValue": "literal", "dtmi": "identifier"}.get(
                prop.datatype or "", prop.datatype
            )
            state.error(
                f"{family}CountBelowMin",
                f"{element.id} property '{prop.name}' has no value, but one is required.",
                f"Give '{prop.name}' a value.",
                location=loc,
                primary_id=element.id,
                prop=prop.name,
            )
            return
    if raw is None:
        state.error(
            "propertyValueNull",
            f"{element.id} property '{prop.name}' is null.",
            f"Give '{prop.name}' a value, or leave it out.",
            location=loc,
            primary_id=element.id,
            prop=prop.name,
        )
        return
    try:
        if prop.datatype == "string":
            element.literals[prop.name] = literals.string(
                raw,
                prop.name,
                version=element.version,
                max_length=limits.max_length,
                pattern=prop.pattern,
            )
        elif prop.datatype == "langString":
            element.literals[prop.name] = literals.lang_string(
                raw, prop.name, version=element.version, max_length=limits.max_length
            )
        elif prop.datatype == "boolean":
            element.literals[prop.name] = literals.boolean(raw, prop.name, version=element.version)
        elif prop.datatype == "integer":
            element.literals[prop.name] = literals.integer(
                raw,
                prop.name,
                version=element.version,
                minimum=limits.min_value,
                maximum=limits.max_value,
            )
        elif prop.datatype == "enumValue":
            element.literals[prop.name] = literals.enum_value(
                raw, prop.name, version=element.version
            )
        elif prop.datatype == "dtmi":
            _target(state, element, prop, raw, loc)
        else:
            _objects(state, element, prop, raw, ctx, loc)
    except literals.LiteralProblem as problem:
        state.error(
            problem.code,
            f"{element.id}: {problem.cause}",
            problem.action,
            location=loc,
            primary_id=element.id,
            prop=prop.name,
            value=problem.value,
        )


def _target(
    state: _State, element: Element, prop: metamodel.PropertyDef, raw: Any, loc: Location
) -> None:
    value = raw[0] if isinstance(raw, list) and len(raw) == 1 else raw
    if not isinstance(value, str):
        state.error(
            "identifierNotString",
            f"{element.id} property '{prop.name}' has value {value!r}, which is not a DTMI string.",
            f"Give '{prop.name}' an Interface's DTMI.",
            location=loc,
            primary_id=element.id,
            prop=prop.name,
        )
        return
    if not dtmi.valid(value, element.version):
        state.error(
            "identifierNotDtmi",
            f"{element.id} property '{prop.name}' has value '{value}', which is not a valid DTMI.",
            f"Give '{prop.name}' an Interface's DTMI, such as 'dtmi:com:example:Pump;1'.",
            location=loc,
            primary_id=element.id,
            prop=prop.name,
            value=value,
        )
        return
    element.literals[prop.name] = value


def _objects(
    state: _State,
    element: Element,
    prop: metamodel.PropertyDef,
    raw: Any,
    ctx: ActiveContext,
    loc: Location,
) -> None:
    limits = prop.limits_for(element.version)
    items = raw if isinstance(raw, list) else [raw]
    ids: list[str] = []
    ok = True
    for position, item in enumerate(items):
        item_loc = Location(loc.doc, (*loc.path, position)) if isinstance(raw, list) else loc
        if isinstance(item, str):
            ref = _reference(state, element, prop, item, ctx, item_loc)
            if ref is None:
                ok = False
            else:
                ids.append(ref)
        elif isinstance(item, dict):
            segment = None
            if prop.segment:
                seg = item.get(prop.segment)
                segment = seg if isinstance(seg, str) else None
                if segment is None and "@id" not in item:
                    segment = None if prop.plural else None
            if not prop.plural:
                segment = None
            elif segment is None:
                segment = str(position)
            child = _element(
                state,
                item,
                loc=item_loc,
                ctx=ctx,
                expected=prop,
                parent=element,
                prop=prop.name,
                segment=segment,
            )
            if child is None:
                ok = False
            else:
                ids.append(child)
        else:
            state.error(
                "refNotStringOrObject",
                f"{element.id} property '{prop.name}' has value {item!r}, which is neither a reference (a string) nor an element (an object).",
                f"Give '{prop.name}' a DTMI, a term, or an element defined inline.",
                location=item_loc,
                primary_id=element.id,
                prop=prop.name,
            )
            ok = False
    element.objects[prop.name] = ids
    if not ok:
        if limits.min_count and not ids:
            state.error(
                "objectCountBelowMin",
                f"{element.id} property '{prop.name}' has no valid value, but {limits.min_count} is required.",
                f"Give '{prop.name}' a valid value.",
                location=loc,
                primary_id=element.id,
                prop=prop.name,
            )
        return
    if not prop.plural and len(ids) > 1:
        state.error(
            "objectMultipleValues",
            f"{element.id} property '{prop.name}' has {len(ids)} values but allows one.",
            f"Give '{prop.name}' a single value.",
            location=loc,
            primary_id=element.id,
            prop=prop.name,
        )
    elif len(ids) < limits.min_count:
        state.error(
            "objectCountBelowMin",
            f"{element.id} property '{prop.name}' has {len(ids)} values, but at least {limits.min_count} are required.",
            f"Give '{prop.name}' at least {limits.min_count} values.",
            location=loc,
            primary_id=element.id,
            prop=prop.name,
        )
    elif limits.max_count is not None and prop.plural and len(ids) > limits.max_count:
        state.error(
            "objectCountAboveMax",
            f"{element.id} property '{prop.name}' has {len(ids)} values, but at most {limits.max_count} are allowed in DTDL v{element.version}.",
            f"Reduce '{prop.name}' to {limits.max_count} values.",
            location=loc,
            primary_id=element.id,
            prop=prop.name,
        )


def _reference(
    state: _State,
    element: Element,
    prop: metamodel.PropertyDef,
    value: str,
    ctx: ActiveContext,
    loc: Location,
) -> str | None:
    term = ctx.lookup(value)
    if term is not None:
        if term.kind == "instance":
            if prop.values and term.name not in prop.values:
                state.error(
                    "badType",
                    f"{element.id} property '{prop.name}' has value '{value}', which is not allowed here.",
                    f"Use one of: {', '.join(prop.values)}.",
                    location=loc,
                    primary_id=element.id,
                    prop=prop.name,
                    value=value,
                )
                return None
            std = standard_element(term.name, ctx.version, term.origin)
            assert prop.range is not None
            if not metamodel.is_a(std.cls, prop.range):
                state.error(
                    "badType",
                    f"{element.id} property '{prop.name}' has value '{value}', which is not a {prop.range}.",
                    f"Give '{prop.name}' a {prop.range}.",
                    location=loc,
                    primary_id=element.id,
                    prop=prop.name,
                    secondary_id=std.id,
                )
                return None
            state.models.elements.setdefault(std.id, std)
            return std.id
        state.error(
            "badType",
            f"{element.id} property '{prop.name}' has value '{value}', a term that does not name a {prop.range}.",
            f"Give '{prop.name}' a {prop.range}: a term such as 'double', a DTMI, or an element defined inline.",
            location=loc,
            primary_id=element.id,
            prop=prop.name,
            value=value,
        )
        return None
    if not value.startswith("dtmi:") or not dtmi.valid(value, ctx.version):
        if prop.values:
            state.error(
                "badType",
                f"{element.id} property '{prop.name}' has value '{value}', which is not allowed here.",
                f"Use one of: {', '.join(prop.values)}.",
                location=loc,
                primary_id=element.id,
                prop=prop.name,
                value=value,
            )
        else:
            state.error(
                "badDtmiOrTerm",
                f"{element.id} property '{prop.name}' has value '{value}', which is neither a valid DTMI reference nor a DTDL term.",
                f"Give '{prop.name}' a valid DTMI or a DTDL term.",
                location=loc,
                primary_id=element.id,
                prop=prop.name,
                value=value,
            )
        return None
    if prop.values:
        state.error(
            "badType",
            f"{element.id} property '{prop.name}' has value '{value}', but only {', '.join(prop.values)} are allowed.",
            f"Use one of: {', '.join(prop.values)}.",
            location=loc,
            primary_id=element.id,
            prop=prop.name,
            value=value,
        )
        return None
    state.references.append(_Reference(element.id, prop.name, value, loc))
    return value


__all__ = ["Document", "JsonPath", "Options", "Resolver", "parse_texts"]
