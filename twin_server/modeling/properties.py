"""Reading an element's properties: literal values, nested elements, references, and the
properties extensions add."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from twin_server.modeling import dtmi, elements, literals, metamodel
from twin_server.modeling.context import ActiveContext, Term
from twin_server.modeling.errors import Location
from twin_server.modeling.model import Element
from twin_server.modeling.standard import standard_element
from twin_server.modeling.state import Reader, Reference, Types


def read_properties(
    state: Reader,
    node: dict[str, Any],
    element: Element,
    ctx: ActiveContext,
    types: Types,
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
                "topLevelKeywordDisallowed" if element.parent is None else "keywordDisallowed",
                f"{element.id} has JSON-LD keyword '{key}', which DTDL does not allow here.",
                f"Remove '{key}'.",
                location=prop_loc,
                primary_id=element.id,
                prop=key,
            )
            continue
        term = ctx.lookup(key)
        name = term.name if term else key
        if term is not None and term.kind in ("property", "extprop") and name in seen:
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
            _unexpected_property(state, element, key, term, prop_loc, undefined=types.undefined)
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
            _unexpected_property(state, element, key, term, prop_loc, inferred="@type" not in node)
    _missing(state, element, defs, seen, loc)


DURATION = re.compile(
    r"^P(?!$)(?:\d+(?:\.\d+)?Y)?(?:\d+(?:\.\d+)?M)?(?:\d+(?:\.\d+)?W)?(?:\d+(?:\.\d+)?D)?"
    r"(?:T(?!$)(?:\d+(?:\.\d+)?H)?(?:\d+(?:\.\d+)?M)?(?:\d+(?:\.\d+)?S)?)?$"
)


def read_supplemental(state: Reader, element: Element, types: Types, loc: Location) -> None:
    """Check the properties adjunct types add: presence, datatype, pattern."""
    for cotype in types.cotypes:
        for prop in cotype.adjunct.properties if cotype.adjunct else ():
            prop_loc = element.property_locations.get(prop.name, loc)
            if prop.name not in element.supplemental:
                if prop.required:
                    state.error(
                        "missingSupplementalLiteralProperty",
                        f"{element.id} has co-type {cotype.name} but no '{prop.name}', which "
                        f"{cotype.name} requires.",
                        f"Add '{prop.name}' to the element.",
                        location=loc,
                        primary_id=element.id,
                        prop=prop.name,
                    )
                continue
            raw = element.supplemental[prop.name]
            try:
                if prop.datatype == "integer":
                    value: Any = literals.integer(
                        raw, prop.name, version=element.version, minimum=None, maximum=None
                    )
                else:
                    value = literals.string(
                        raw,
                        prop.name,
                        version=element.version,
                        max_length=None,
                        pattern=prop.pattern,
                    )
                    if prop.datatype == "duration" and not DURATION.match(value):
                        raise literals.LiteralProblem(
                            "durationInvalid",
                            f"Property '{prop.name}' has value '{value}', which is not an ISO "
                            "8601 duration.",
                            f"Give '{prop.name}' a duration such as 'PT5M'.",
                            value,
                        )
            except literals.LiteralProblem as problem:
                state.error(
                    problem.code,
                    f"{element.id}: {problem.cause}",
                    problem.action,
                    location=prop_loc,
                    primary_id=element.id,
                    prop=prop.name,
                    value=problem.value,
                )
                continue
            element.supplemental[prop.name] = value


def _bad_key(key: str, ctx: ActiveContext) -> bool:
    """Keys no undefined co-type can make valid in DTDL v3: invalid DTMIs, non-DTMI IRIs."""
    if ctx.version == 2:
        return False
    return (key.startswith("dtmi:") and not dtmi.valid(key, 3)) or (
        ":" in key and not key.startswith("dtmi:")
    )


def _extension_allows(name: str, types: Types) -> bool:
    for cotype in types.cotypes:
        if cotype.kind == "semantic" and name == "unit":
            return True
        if cotype.adjunct is not None and cotype.adjunct.property(name) is not None:
            return True
    return False


def _unexpected_property(
    state: Reader,
    element: Element,
    key: str,
    term: Term | None,
    loc: Location,
    *,
    undefined: Sequence[str] = (),
    inferred: bool = False,
) -> None:
    """Report a property none of the element's types defines, in the terms the official
    parser uses: what the key is, then why no type allows it."""
    where: dict[str, Any] = {"location": loc, "primary_id": element.id, "prop": key}
    if term is None:
        if key.startswith("dtmi:") and not dtmi.valid(key, 3):
            code = "propertyInvalidDtmi"
        elif ":" in key and not key.startswith("dtmi:"):
            code = "propertyNotDtmiNorTerm"
        else:
            code = "propertyUndefinedTerm"
        cause = f"{element.id} has property '{key}', which no context in force defines."
        state.error(code, cause, f"Remove '{key}', or define it with an extension.", **where)
    else:
        cause = f"{element.id} has property '{key}', which a {element.cls} does not have."
        state.error("propertyIrrelevantDtmiOrTerm", cause, f"Remove '{key}'.", **where)
        if term.kind == "extprop":
            return  # an extension's property, without the co-type that brings it
    if undefined:
        state.error(
            "typeUndefinedTerm",
            f"{element.id} has co-type {undefined[0]}, which no context defines, so nothing "
            f"allows property '{key}'.",
            "Define the co-type with an extension context, or remove it.",
            location=loc,
            primary_id=element.id,
            value=undefined[0],
        )
    elif inferred:
        state.error(
            "inferredTypeDoesNotAllow",
            f"{element.id} has no @type; as the {element.cls} it is taken to be, it cannot "
            f"have property '{key}'.",
            f"Remove '{key}', or give the element a @type that allows it.",
            **where,
        )
    else:
        state.error(
            "noTypeThatAllows",
            f"{element.id} has property '{key}', but none of its types allows it.",
            f"Remove '{key}', or add a co-type that defines it.",
            **where,
        )


def _missing(
    state: Reader,
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
    state: Reader,
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
    state: Reader, element: Element, prop: metamodel.PropertyDef, raw: Any, loc: Location
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
    state: Reader,
    element: Element,
    prop: metamodel.PropertyDef,
    raw: Any,
    ctx: ActiveContext,
    loc: Location,
) -> None:
    """Read the values of an object property: references (strings) and inline elements."""
    items = raw if isinstance(raw, list) else [raw]
    ids: list[str] = []
    reported = False  # a value was wrong and reported: no count error on top of it
    shapeless = False  # a value was neither a string nor an object
    for position, item in enumerate(items):
        item_loc = Location(loc.doc, (*loc.path, position)) if isinstance(raw, list) else loc
        if isinstance(item, str):
            child = _reference(state, element, prop, item, ctx, item_loc)
        elif isinstance(item, dict):
            child = _inline(state, element, prop, item, ctx, item_loc, position)
        else:
            state.error(
                "refNotStringOrObject",
                f"{element.id} property '{prop.name}' has value {item!r}, which is neither a "
                "reference (a string) nor an element (an object).",
                f"Give '{prop.name}' a DTMI, a term, or an element defined inline.",
                location=item_loc,
                primary_id=element.id,
                prop=prop.name,
            )
            child, shapeless = None, True
        if child is None:
            reported = True
        else:
            ids.append(child)
    element.objects[prop.name] = ids
    if not reported or shapeless:
        _count(state, element, prop, len(ids), loc)


def _count(
    state: Reader, element: Element, prop: metamodel.PropertyDef, count: int, loc: Location
) -> None:
    limits = prop.limits_for(element.version)
    where: dict[str, Any] = {"location": loc, "primary_id": element.id, "prop": prop.name}
    if not prop.plural and count > 1:
        state.error(
            "objectMultipleValues",
            f"{element.id} property '{prop.name}' has {count} values but allows one.",
            f"Give '{prop.name}' a single value.",
            **where,
        )
    elif count < limits.min_count:
        state.error(
            "objectCountBelowMin",
            f"{element.id} property '{prop.name}' has {count} valid values, but at least "
            f"{limits.min_count} are required.",
            f"Give '{prop.name}' at least {limits.min_count} values.",
            **where,
        )
    elif limits.max_count is not None and prop.plural and count > limits.max_count:
        state.error(
            "objectCountAboveMax",
            f"{element.id} property '{prop.name}' has {count} values, but DTDL "
            f"v{element.version} allows at most {limits.max_count}.",
            f"Reduce '{prop.name}' to {limits.max_count} values.",
            **where,
        )


def _inline(
    state: Reader,
    element: Element,
    prop: metamodel.PropertyDef,
    item: dict[str, Any],
    ctx: ActiveContext,
    loc: Location,
    position: int,
) -> str | None:
    """Read an element defined inline as the value of ``prop``; return its id."""
    where: dict[str, Any] = {"location": loc, "primary_id": element.id, "prop": prop.name}
    if set(item) == {"@id"}:
        state.error(
            "idReference",
            f"{element.id} property '{prop.name}' has an object holding only an @id "
            f"({item['@id']!r}); a reference is written as the DTMI string itself.",
            f"Write the value of '{prop.name}' as the DTMI string, or define the element fully.",
            value=item["@id"],
            **where,
        )
        return None
    segment: str | None = None
    if prop.plural:
        named = item.get(prop.segment) if prop.segment else None
        segment = named if isinstance(named, str) else None
        if segment is None and prop.segment and "@id" not in item:
            state.error(
                "missingDtmiSegPropertyValue",
                f"An element of {element.id} property '{prop.name}' has neither an @id nor a "
                f"'{prop.segment}', so it cannot be identified.",
                f"Give the element a '{prop.segment}' (or an @id).",
                **where,
            )
            return None
        segment = segment or str(position)
    return elements.read_element(
        state,
        item,
        loc=loc,
        ctx=ctx,
        expected=prop,
        parent=element,
        prop=prop.name,
        segment=segment,
    )


def _reference(
    state: Reader,
    element: Element,
    prop: metamodel.PropertyDef,
    value: str,
    ctx: ActiveContext,
    loc: Location,
) -> str | None:
    """Resolve a string value: a standard term (``double``) or a DTMI to check later."""
    where: dict[str, Any] = {"location": loc, "primary_id": element.id, "prop": prop.name}
    term = ctx.lookup(value)
    if term is not None:
        return _standard_reference(state, element, prop, value, term, ctx, where)
    if not value.startswith("dtmi:") or not dtmi.valid(value, ctx.version):
        state.error(
            "badDtmiOrTerm",
            f"{element.id} property '{prop.name}' has value '{value}', which is neither a valid "
            "DTMI reference nor a DTDL term.",
            f"Give '{prop.name}' a valid DTMI or a DTDL term.",
            value=value,
            **where,
        )
        return None
    if prop.values:
        _not_among_values(state, element, prop, value, where)
        return None
    if value.startswith(_reserved_prefixes(ctx)):
        state.error(
            "undefinedReservedId",
            f"{element.id} property '{prop.name}' refers to {value}, under a prefix DTDL "
            "reserves, which defines no such element.",
            "Refer to an element DTDL defines (by its term) or to one of your own.",
            value=value,
            **where,
        )
        return None
    state.references.append(Reference(element.id, prop.name, value, loc))
    return value


def _not_among_values(
    state: Reader,
    element: Element,
    prop: metamodel.PropertyDef,
    value: str,
    where: dict[str, Any],
) -> None:
    allowed = ", ".join(prop.values)
    state.error(
        "incorrectPropertyValue",
        f"{element.id} property '{prop.name}' has value '{value}', but only {allowed} are allowed.",
        f"Use one of: {allowed}.",
        value=value,
        **where,
    )


def _reserved_prefixes(ctx: ActiveContext) -> tuple[str, ...]:
    """Prefixes whose DTMIs only DTDL (or an affiliate) defines: references to undefined ones
    are errors whatever the context."""
    return ("dtmi:dtdl:", "dtmi:standard:", "dtmi:iotcentral:")


def _standard_reference(
    state: Reader,
    element: Element,
    prop: metamodel.PropertyDef,
    value: str,
    term: Term,
    ctx: ActiveContext,
    where: dict[str, Any],
) -> str | None:
    assert prop.range is not None
    if term.kind != "instance":
        state.error(
            "badType",
            f"{element.id} property '{prop.name}' has value '{value}', a term that does not "
            f"name a {prop.range}.",
            f"Give '{prop.name}' a {prop.range}: a term such as 'double', a DTMI, or an "
            "element defined inline.",
            value=value,
            **where,
        )
        return None
    std = standard_element(term.name, ctx.version, term.origin)
    if not metamodel.is_a(std.cls, prop.range):
        state.error(
            "badType",
            f"{element.id} property '{prop.name}' has value '{value}', which is not a "
            f"{prop.range}.",
            f"Give '{prop.name}' a {prop.range}.",
            secondary_id=std.id,
            **where,
        )
        return None
    if prop.values and term.name not in prop.values:
        _not_among_values(state, element, prop, value, where)
        return None
    state.models.elements.setdefault(std.id, std)
    return std.id
