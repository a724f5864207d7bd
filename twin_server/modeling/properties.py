"""Reading an element's properties: literal values, nested elements, references, and the
properties extensions add."""

from __future__ import annotations

import re
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


def read_supplemental(state: Reader, element: Element, types: Types, loc: Location) -> None:
    """Check the properties adjunct types add: presence, datatype, pattern."""
    for cotype in types.cotypes:
        for prop in cotype.adjunct.properties if cotype.adjunct else ():
            prop_loc = element.property_locations.get(prop.name, loc)
            if prop.name not in element.supplemental:
                if prop.required:
                    state.error(
                        "missingSupplementalLiteralProperty",
                        f"{element.id} has co-type {cotype.name} but no '{prop.name}', which {cotype.name} requires.",
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
                            f"Property '{prop.name}' has value '{value}', which is not an ISO 8601 duration.",
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
    state: Reader, element: Element, key: str, term: Term | None, ctx: ActiveContext, loc: Location
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
            child = elements.read_element(
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
    state: Reader,
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
    state.references.append(Reference(element.id, prop.name, value, loc))
    return value


