"""Reading one DTDL element: its @context, @id and @type, and the class it is an instance of.
Its properties are read by ``properties``."""

from __future__ import annotations

from typing import Any

from twin_server.modeling import dtmi, metamodel, properties
from twin_server.modeling.context import ActiveContext, activate
from twin_server.modeling.errors import Location
from twin_server.modeling.extensions import EXTENSIONS
from twin_server.modeling.model import Element
from twin_server.modeling.state import SEMANTIC_COTYPES, Reader, Types


def read_context(
    state: Reader, value: Any, loc: Location, parent: ActiveContext | None
) -> ActiveContext | None:
    ctx, problems = activate(
        value, allow_undefined_extensions=state.options.allow_undefined_extensions, parent=parent
    )
    if ctx is not None and ctx.version > state.options.max_dtdl_version:
        state.error(
            "disallowedContextVersion",
            f"@context names DTDL v{ctx.version}, but at most v{state.options.max_dtdl_version} "
            "is accepted here.",
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


def read_element(
    state: Reader,
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
        nested = read_context(state, node["@context"], loc, ctx)
        if nested is None:
            return None
        if nested.version > ctx.version:
            state.error(
                "unrecognizedContextVersion",
                f"An element of DTDL v{ctx.version} embeds an element of DTDL v{nested.version}, "
                f"which v{ctx.version} does not know.",
                f"Define the element with DTDL v{ctx.version}, or move the outer element to DTDL "
                f"v{nested.version}.",
                location=Location(loc.doc, (*loc.path, "@context")),
            )
            return None
        if expected is not None and nested.version not in expected.versions.get(
            ctx.version, (ctx.version,)
        ):
            state.error(
                "disallowedVersionDefinition",
                f"{parent.id} property '{prop}' holds an element of DTDL v{nested.version}, which "
                "is not allowed there.",
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
        if "@id" not in node and parent is not None:
            state.error(
                "nonUniquePropertyValue",
                f"{parent.id} property '{prop}' has more than one element named '{segment}'.",
                f"Give each element of '{prop}' its own name.",
                location=loc,
                primary_id=parent.id,
                prop=prop,
                value=segment,
            )
            return identifier
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
    properties.read_properties(state, node, element, ctx, types, loc)
    properties.read_supplemental(state, element, types, loc)
    return identifier


def _reserved_prefixes(ctx: ActiveContext) -> tuple[str, ...]:
    prefixes: tuple[str, ...] = ("dtmi:dtdl:", "dtmi:standard:")
    if "dtmi:iotcentral:context;2" in ctx.specifiers:
        prefixes += ("dtmi:iotcentral:",)
    return prefixes


def _identifier(
    state: Reader,
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
            f"{parent.id if parent else ''} property '{prop}' has a value defined inline without "
            f"an @id, which '{prop}' requires.",
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
    if not isinstance(raw, str) or not raw:
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
            f"@id '{raw}' is not a valid DTMI for DTDL v{version}: segments start with a letter "
            f"and hold letters, digits and underscores (not ending with one); {rule}.",
            "Correct the @id, for example 'dtmi:com:example:Thermostat;1'.",
            location=Location(loc.doc, (*loc.path, "@id")),
            value=raw,
        )
        return None
    if len(raw) > dtmi.MAX_LENGTH:
        state.error(
            "idTooLong",
            f"@id '{raw[:60]}…' is {len(raw)} characters long; at most {dtmi.MAX_LENGTH} are "
            "allowed.",
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
    state: Reader, node: dict[str, Any], loc: Location, ctx: ActiveContext, identifier: str
) -> Types | None:
    raw = node.get("@type")
    types = Types()
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
                    f"@type of {identifier} has '{value}', a term that no context in force "
                    "defines.",
                    "Use a term defined by DTDL or an extension named in @context, or add the "
                    "extension's context.",
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
        elif term.kind == "unittype":
            types.material.append("Unit")  # a class no model may instantiate
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
    state: Reader,
    node: dict[str, Any],
    loc: Location,
    types: Types,
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
                    f"Provide a @type of {range_name} (or one of its kinds) for the value of "
                    f"'{prop}'.",
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
            f"Interface @id '{identifier}' is {len(identifier)} characters long; an Interface's "
            f"DTMI may have at most {dtmi.MAX_INTERFACE_LENGTH}.",
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
            f"{parent.id} property '{prop}' has value {identifier} with @type '{cls}', which is "
            f"not a {range_name}.",
            f"Provide a value for '{prop}' with @type of {range_name} (or one of its kinds).",
            location=loc,
            primary_id=parent.id,
            prop=prop,
            secondary_id=identifier,
        )
        return None
    return cls


def _cotypes_allowed(state: Reader, element: Element, types: Types, loc: Location) -> bool:
    ok = True
    type_loc = Location(loc.doc, (*loc.path, "@type"))
    for term in types.cotypes:
        extension = EXTENSIONS.get(term.origin)
        if extension is not None and element.version not in extension.dtdl_versions:
            state.error(
                "invalidCotypeVersion",
                f"{element.id} has co-type '{term.name}' from {term.origin}, which does not "
                f"extend DTDL v{element.version}.",
                f"Remove '{term.name}', or use a DTDL version {term.origin} extends.",
                location=type_loc,
                primary_id=element.id,
                value=term.name,
            )
            ok = False
            continue
        if term.kind == "semantic":
            allowed = SEMANTIC_COTYPES[element.version]
        else:
            allowed = term.adjunct.cotypes if term.adjunct else ()
        if element.cls not in allowed:
            state.error(
                "invalidCotype",
                f"{element.id} has co-type '{term.name}', which cannot be applied to a "
                f"{element.cls}.",
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
                    f"{element.id} has co-type '{term.name}' without '{needed}', which it "
                    "requires.",
                    f"Add '{needed}' to @type.",
                    location=type_loc,
                    primary_id=element.id,
                    value=term.name,
                )
                ok = False
    return ok
