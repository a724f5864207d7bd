"""Rules over a whole model set, checked once every document is read: references, inheritance,
nesting limits, uniqueness, and the rules of the language extensions."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from twin_server.modeling import metamodel, quantities
from twin_server.modeling.errors import Location
from twin_server.modeling.extensions import ADJUNCTS
from twin_server.modeling.model import Element, ModelSet

MAX_EXTENDS_DEPTH = 10
MAX_SCHEMA_DEPTH = 5
MAX_V3_EXTENDS_TOTAL = 1024
MAX_V3_ELEMENTS = 100_000


class Report(Protocol):
    def __call__(
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
    ) -> None: ...


class ReferenceLike(Protocol):
    source: str
    prop: str
    target: str
    location: Location


def unresolved(models: ModelSet, references: Iterable[ReferenceLike]) -> list[ReferenceLike]:
    """References to DTMIs the model set does not define."""
    return [r for r in references if r.target not in models.elements]


def check(models: ModelSet, references: Iterable[ReferenceLike], report: Report) -> None:
    references = list(references)
    if not _references(models, references, report):
        return
    for element in list(models.elements.values()):
        if element.standard:
            continue
        _unique_values(models, element, report)
        if element.cls == "Relationship":
            _multiplicity(element, report)
        if element.cls == "Enum":
            _enum(models, element, report)
        if element.supplemental or element.cotypes:
            _supplements(models, element, report)
        if element.objects:
            _indexes(models, element, report)
    _schemas(models, report)
    for interface in models.interfaces():
        _interface(models, interface, report)


def _references(models: ModelSet, references: list[ReferenceLike], report: Report) -> bool:
    ok = True
    for ref in references:
        source = models.elements[ref.source]
        target = models.get(ref.target)
        if target is not None and not _reference_ok(models, ref, source, target, report):
            ok = False
    return ok


def _reference_ok(
    models: ModelSet, ref: ReferenceLike, source: Element, target: Element, report: Report
) -> bool:
    prop = metamodel.properties(source.cls, source.version).get(ref.prop)
    where: dict[str, Any] = {"location": ref.location, "primary_id": ref.source, "prop": ref.prop}
    if prop is None:
        return True
    allowed = prop.versions.get(source.version, (source.version,))
    if not target.standard and target.version not in allowed:
        report(
            "disallowedVersionReference",
            f"{ref.source} (DTDL v{source.version}) property '{ref.prop}' refers to "
            f"{ref.target}, defined in DTDL v{target.version}.",
            f"Refer to an element of DTDL v{source.version} from '{ref.prop}'.",
            secondary_id=ref.target,
            **where,
        )
        return False
    if prop.range is not None and not metamodel.is_a(target.cls, prop.range):
        report(
            "badType",
            f"{ref.source} property '{ref.prop}' refers to {ref.target}, a {target.cls}, "
            f"not a {prop.range}.",
            f"Refer to a {prop.range} from '{ref.prop}'.",
            secondary_id=ref.target,
            **where,
        )
        return False
    if not target.standard and target.cls != "Interface":
        home = partition(models, target)
        if home is not None and home != partition(models, source):
            report(
                "crossPartitionReference",
                f"{ref.source} property '{ref.prop}' refers to {ref.target}, which is defined "
                f"inside {home}; an element may be referred to only from within the Interface "
                "that defines it.",
                f"Define {ref.target} in the Interface that uses it.",
                secondary_id=ref.target,
                value=home,
                **where,
            )
            return False
    return True


def partition(models: ModelSet, element: Element) -> str | None:
    """The Interface an element is defined in (itself, for an Interface)."""
    current: Element | None = element
    while current is not None:
        if current.cls == "Interface":
            return current.id
        current = models.get(current.parent) if current.parent else None
    return None


def _unique_values(models: ModelSet, element: Element, report: Report) -> None:
    defs = metamodel.properties(element.cls, element.version)
    for name, ids in element.objects.items():
        prop = defs.get(name)
        if prop is None or not prop.unique:
            continue
        for key in prop.unique:
            seen: dict[Any, str] = {}
            for child_id in ids:
                child = models.get(child_id)
                if child is None or child.parent != element.id:
                    continue
                value = child.literals.get(key)
                if value is None:
                    continue
                marker = (type(value).__name__, value)
                if marker in seen:
                    report(
                        "nonUniquePropertyValue",
                        f"{element.id} property '{name}' has more than one element with {key} "
                        f"'{value}'.",
                        f"Give each element of '{name}' its own {key}.",
                        location=element.property_locations.get(name),
                        primary_id=element.id,
                        prop=name,
                        value=value,
                    )
                    break
                seen[marker] = child_id


def _multiplicity(element: Element, report: Report) -> None:
    low = element.literals.get("minMultiplicity")
    high = element.literals.get("maxMultiplicity")
    if isinstance(low, int) and isinstance(high, int) and low > high:
        report(
            "valueBelowMin",
            f"{element.id} has maxMultiplicity {high} below minMultiplicity {low}.",
            "Make maxMultiplicity at least minMultiplicity.",
            location=element.property_locations.get("maxMultiplicity"),
            primary_id=element.id,
            prop="maxMultiplicity",
            value=high,
        )


def _enum(models: ModelSet, element: Element, report: Report) -> None:
    schema = models.get(element.one("valueSchema") or "")
    if schema is None:
        return
    wanted = int if schema.cls == "Integer" else str
    for child_id in element.objects.get("enumValues", []):
        child = models.get(child_id)
        if child is None:
            continue
        value = child.literals.get("enumValue")
        if value is not None and (isinstance(value, bool) or not isinstance(value, wanted)):
            report(
                "nonConformantDatatype",
                f"{child.id} has enumValue {value!r}, but the Enum's valueSchema is "
                f"{schema.cls.lower()}.",
                f"Give every enumValue a {schema.cls.lower()} value.",
                location=child.property_locations.get("enumValue"),
                primary_id=child.id,
                prop="enumValue",
                value=value,
            )


def _supplements(models: ModelSet, element: Element, report: Report) -> None:
    semantic = next((c for c in element.cotypes if _semantic_unit_type(element, c)), None)
    schema = models.get(element.one("schema") or "")
    if semantic is not None:
        _unit(element, semantic, report)
        _schema_types(element, schema, ("NumericSchema",), report)
    for cotype in element.cotypes:
        adjunct = ADJUNCTS.get(cotype)
        if adjunct is None:
            continue
        if adjunct.schema_types:
            _schema_types(element, schema, adjunct.schema_types, report)
        if adjunct.schema_values and schema is not None:
            term = schema.id.rsplit(":", 1)[-1].split(";")[0] if schema.standard else None
            if term not in adjunct.schema_values:
                allowed = " or ".join(adjunct.schema_values)
                report(
                    "notRequiredValue",
                    f"{element.id} has co-type {cotype}, whose schema must be {allowed}, but "
                    f"its schema is {schema.id}.",
                    f"Change the schema to {allowed}, or remove {cotype}.",
                    location=element.property_locations.get("schema", element.location),
                    primary_id=element.id,
                    prop="schema",
                    secondary_id=schema.id,
                )


def _unit(element: Element, semantic: str, report: Report) -> None:
    unit_type = _semantic_unit_type(element, semantic)
    unit = element.supplemental.get("unit")
    where: dict[str, Any] = {
        "location": element.property_locations.get("unit", element.location),
        "primary_id": element.id,
        "prop": "unit",
    }
    if isinstance(unit, list) and len(unit) == 1:
        unit = unit[0]
    if unit is None or unit == []:
        report(
            "missingSupplementalObjectProperty",
            f"{element.id} has semantic type {semantic} but no unit.",
            f"Add a 'unit' from {unit_type}.",
            **where,
        )
    elif isinstance(unit, list):
        report(
            "objectMultipleValues",
            f"{element.id} has {len(unit)} units; a semantic type takes one.",
            f"Give one unit of {unit_type}.",
            **where,
        )
    elif isinstance(unit, dict):
        report(
            "refObjectNotAllowed",
            f"{element.id} has an object as its unit; a unit is named by its term.",
            f"Give a unit of {unit_type} by name, such as '{_units(element, unit_type)[0]}'.",
            **where,
        )
    elif not isinstance(unit, str) or unit not in _units(element, unit_type):
        report(
            "wrongParent",
            f"{element.id} has unit {unit!r}, which is not a {unit_type}, the unit type of "
            f"{semantic}.",
            f"Use a unit of {unit_type}, such as '{_units(element, unit_type)[0]}'.",
            value=unit,
            **where,
        )


def _schema_types(
    element: Element, schema: Element | None, required: tuple[str, ...], report: Report
) -> None:
    if schema is None or any(metamodel.is_a(schema.cls, t) for t in required):
        return
    wanted = " or ".join(required)
    report(
        "notRequiredType",
        f"{element.id} has a co-type that requires a schema of type {wanted}, but its schema "
        f"is a {schema.cls}.",
        f"Use a {wanted} schema, or remove the co-type.",
        location=element.property_locations.get("schema", element.location),
        primary_id=element.id,
        prop="schema",
        secondary_id=schema.id,
    )


def _semantic_unit_type(element: Element, cotype: str) -> str | None:
    if element.version == 2:
        return quantities.V2_SEMANTIC_TYPES.get(cotype)
    if "dtmi:dtdl:extension:quantitativeTypes;1" in element.extensions:
        return quantities.QT1_SEMANTIC_TYPES.get(cotype)
    return None


def _units(element: Element, unit_type: str | None) -> tuple[str, ...]:
    table = quantities.V2_UNITS if element.version == 2 else quantities.QT1_UNITS
    return table.get(unit_type or "", ())


def _indexes(models: ModelSet, element: Element, report: Report) -> None:
    """Indexed elements of one parent property have distinct indexes."""
    for name, ids in element.objects.items():
        seen: set[Any] = set()
        for child_id in ids:
            child = models.get(child_id)
            index = child.supplemental.get("index") if child else None
            if child is None or index is None or "Indexed" not in child.cotypes:
                continue
            if index in seen:
                report(
                    "nonUniquePropertyValue",
                    f"{element.id} property '{name}' has more than one element with index {index}.",
                    "Give each Indexed element its own index.",
                    location=child.property_locations.get("index", child.location),
                    primary_id=element.id,
                    prop=name,
                    value=index,
                )
                break
            seen.add(index)


def _annotations(
    models: ModelSet, interface: Element, siblings: dict[str, Element], report: Report
) -> None:
    """ValueAnnotation / Override rules for an Interface's own contents (inherited siblings
    included)."""
    for content in siblings.values():
        if "annotates" not in content.supplemental:
            continue
        target = siblings.get(content.supplemental["annotates"])
        where: dict[str, Any] = {
            "location": content.property_locations.get("annotates", content.location)
        }
        if target is None:
            continue
        if target.cls not in ("Property", "Telemetry"):
            report(
                "notSiblingRequiredType",
                f"{content.id} annotates '{target.name}', a {target.cls}; only a Property or "
                "Telemetry may be annotated.",
                "Annotate a Property or Telemetry.",
                primary_id=content.id,
                prop="annotates",
                **where,
            )
            continue
        if "ValueAnnotation" in target.cotypes:
            report(
                "disallowedType",
                f"{content.id} annotates '{target.name}', which is itself a ValueAnnotation.",
                "Annotate a Property or Telemetry that is not an annotation.",
                primary_id=content.id,
                prop="annotates",
                **where,
            )
            continue
        if "Override" in content.cotypes:
            _override(models, content, target, report)
    _single_overrides(interface, siblings, report)


def _override(models: ModelSet, content: Element, target: Element, report: Report) -> None:
    overridden = content.supplemental.get("overrides")
    where: dict[str, Any] = {
        "location": content.property_locations.get("overrides", content.location),
        "primary_id": content.id,
        "prop": "overrides",
        "value": overridden,
    }
    if overridden in metamodel.properties(target.cls, target.version):
        report(
            "matchingPropertyNotSupplemental",
            f"{content.id} overrides '{overridden}' of {target.id}, which is not a property an "
            "extension adds.",
            "Override a supplemental property such as 'unit'.",
            **where,
        )
    elif overridden not in target.supplemental:
        report(
            "noMatchingSupplementalProperty",
            f"{content.id} overrides '{overridden}', which {target.id} does not have.",
            f"Give {target.id} a '{overridden}', or override a property it has.",
            **where,
        )
    elif overridden == "unit":
        semantic = next((c for c in target.cotypes if _semantic_unit_type(target, c)), None)
        unit_type = _semantic_unit_type(target, semantic) if semantic else None
        schema = content.one("schema") or ""
        if unit_type is None or not schema.endswith(f":enum:{unit_type}"):
            report(
                "siblingPropertyMismatch",
                f"{content.id} overrides the unit of {target.id}, a {unit_type}, but its schema "
                f"is {schema}.",
                f"Make the schema of {content.id} '{unit_type}'.",
                location=content.property_locations.get("schema", content.location),
                primary_id=content.id,
                prop="schema",
                value=schema.rsplit(":", 1)[-1],
            )


def _single_overrides(interface: Element, siblings: dict[str, Element], report: Report) -> None:
    seen: set[tuple[Any, Any]] = set()
    for content in siblings.values():
        if "Override" not in content.cotypes:
            continue
        key = (content.supplemental.get("annotates"), content.supplemental.get("overrides"))
        if key in seen:
            report(
                "multipleReference",
                f"{interface.id} has more than one Override of '{key[1]}' for '{key[0]}'.",
                "Keep one Override per annotated property.",
                location=interface.location,
                primary_id=interface.id,
                prop="contents",
            )
            return
        seen.add(key)


def _interface(models: ModelSet, interface: Element, report: Report) -> None:
    chain = _extends_closure(models, interface, report)
    if chain is None:
        return
    names: dict[str, str] = {}
    for owner in [interface, *chain]:
        for content_id in owner.objects.get("contents", []):
            content = models.get(content_id)
            if content is None or content.name is None:
                continue
            first = names.setdefault(content.name, owner.id)
            if first != owner.id:
                report(
                    "nonUniqueImportedPropertyValue",
                    f"{interface.id} has two contents named '{content.name}' (from {first} and "
                    f"{owner.id}).",
                    "Rename one of them: names are unique across an Interface and the Interfaces "
                    "it extends.",
                    location=interface.location,
                    primary_id=interface.id,
                    prop="contents",
                    value=content.name,
                )
    siblings: dict[str, Element] = {}
    for owner in [interface, *chain]:
        for content_id in owner.objects.get("contents", []):
            content = models.get(content_id)
            if content is not None and content.name is not None:
                siblings.setdefault(content.name, content)
    _annotations(models, interface, siblings, report)
    for content_id in interface.objects.get("contents", []):
        content = models.get(content_id)
        if content is None:
            continue
        if content.cls == "Component":
            _component(models, content, report)
        if content.cls == "Property" and content.version == 2:
            _no_array(models, content, report)


def _extends_closure(models: ModelSet, interface: Element, report: Report) -> list[Element] | None:
    """Every Interface ``interface`` inherits from, checking depth and cycles."""
    found: list[Element] = []
    seen: set[str] = set()

    def walk(element: Element, depth: int, path: tuple[str, ...]) -> bool:
        for parent_id in element.objects.get("extends", []):
            if parent_id in path or parent_id == interface.id:
                report(
                    "recursiveStructureNarrow",
                    f"{interface.id} extends itself through {' → '.join((*path, parent_id))}.",
                    "Remove the cycle from 'extends'.",
                    location=interface.property_locations.get("extends", interface.location),
                    primary_id=interface.id,
                    prop="extends",
                    value=parent_id,
                )
                return False
            if depth + 1 > MAX_EXTENDS_DEPTH:
                report(
                    "excessiveDepthNarrow",
                    f"{interface.id} has an 'extends' chain deeper than {MAX_EXTENDS_DEPTH}.",
                    f"Flatten the hierarchy to at most {MAX_EXTENDS_DEPTH} levels.",
                    location=interface.property_locations.get("extends", interface.location),
                    primary_id=interface.id,
                    prop="extends",
                )
                return False
            parent = models.get(parent_id)
            if parent is None:
                continue
            if parent_id not in seen:
                seen.add(parent_id)
                found.append(parent)
            if not walk(parent, depth + 1, (*path, parent_id)):
                return False
        return True

    if not walk(interface, 0, (interface.id,)):
        return None
    if interface.version == 3 and len(found) > MAX_V3_EXTENDS_TOTAL:
        report(
            "objectCountAboveMax",
            f"{interface.id} inherits from {len(found)} Interfaces; at most "
            f"{MAX_V3_EXTENDS_TOTAL} are allowed.",
            "Reduce the hierarchy.",
            location=interface.location,
            primary_id=interface.id,
            prop="extends",
        )
        return None
    return found


def _component(models: ModelSet, component: Element, report: Report) -> None:
    schema = models.get(component.one("schema") or "")
    if schema is None:
        return
    for owner in [schema, *(_extends_closure(models, schema, report) or [])]:
        for content_id in owner.objects.get("contents", []):
            content = models.get(content_id)
            if content is not None and content.cls == "Component":
                report(
                    "excludedType",
                    f"Component {component.id} has schema {schema.id}, which itself contains "
                    f"Component {content.id}; Components cannot nest.",
                    "Move the inner Component to the outer Interface, or use a Relationship.",
                    location=component.property_locations.get("schema", component.location),
                    primary_id=component.id,
                    prop="schema",
                    secondary_id=content.id,
                )
                return


def _schemas(models: ModelSet, report: Report) -> None:
    """Complex schemas nest at most ``MAX_SCHEMA_DEPTH`` levels and never contain themselves."""
    depths: dict[str, int | None] = {}

    def depth(schema: Element, path: tuple[str, ...]) -> int | None:
        if schema.id in depths:
            return depths[schema.id]
        if schema.id in path:
            cycle = " → ".join((*path[path.index(schema.id) :], schema.id))
            report(
                "recursiveStructureWide",
                f"Schema {schema.id} contains itself ({cycle}).",
                "Remove the cycle from the schema.",
                location=schema.location,
                primary_id=schema.id,
                value=schema.id,
            )
            return None
        deepest = 0
        for child_id in _schema_children(models, schema):
            child = models.get(child_id)
            if child is None or child.cls not in COMPLEX:
                continue
            d = depth(child, (*path, schema.id))
            if d is None:
                depths[schema.id] = None
                return None
            deepest = max(deepest, d)
        depths[schema.id] = deepest + 1
        return deepest + 1

    for element in list(models.elements.values()):
        if element.cls in COMPLEX and not element.standard and element.id not in depths:
            levels = depth(element, ())
            if levels is not None and levels > MAX_SCHEMA_DEPTH:
                report(
                    "excessiveDepthWide",
                    f"Schema {element.id} nests complex schemas {levels} levels deep; at most "
                    f"{MAX_SCHEMA_DEPTH} are allowed.",
                    "Flatten the schema.",
                    location=element.location,
                    primary_id=element.id,
                )


def _no_array(models: ModelSet, content: Element, report: Report) -> None:
    """A DTDL v2 Property's schema contains no Array, at any depth."""
    pending = list(content.objects.get("schema", []))
    seen: set[str] = set()
    while pending:
        schema = models.get(pending.pop())
        if schema is None or schema.id in seen:
            continue
        seen.add(schema.id)
        if schema.cls == "Array":
            report(
                "excludedType",
                f"Property {content.id} has an Array in its schema, which DTDL v2 does not "
                "allow in a Property.",
                "Use a Telemetry, or a schema without Array (DTDL v3 allows it).",
                location=content.location,
                primary_id=content.id,
                prop="schema",
                secondary_id=schema.id,
            )
            return
        pending.extend(_schema_children(models, schema))


COMPLEX = ("Array", "Map", "Object", "Enum")


def _schema_children(models: ModelSet, schema: Element) -> list[str]:
    if schema.cls == "Array":
        return schema.objects.get("elementSchema", [])
    if schema.cls == "Map":
        value = models.get(schema.one("mapValue") or "")
        return value.objects.get("schema", []) if value else []
    if schema.cls == "Object":
        result: list[str] = []
        for field_id in schema.objects.get("fields", []):
            field = models.get(field_id)
            if field is not None:
                result.extend(field.objects.get("schema", []))
        return result
    return []
