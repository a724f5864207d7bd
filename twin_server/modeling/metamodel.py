"""The DTDL metamodel, v2 and v3: classes, their properties and the limits on them.

Written from the DTDL v2 and v3 language specifications (github.com/Azure/opendigitaltwins-dtdl,
``DTDL.v2.md`` / ``DTDL.v3.md``). A class lists only the properties it declares; ``properties()``
adds the inherited ones. Where v2 and v3 differ, ``PropertyDef.v2`` / ``.v3`` hold the
version-specific limits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

VERSIONS = (2, 3)

NAME_PATTERN = r"^[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?$"


@dataclass(frozen=True)
class Limits:
    """Per-version limits of one property; ``None`` means unlimited."""

    max_count: int | None = None
    min_count: int = 0
    max_length: int | None = None
    min_value: int | None = None
    max_value: int | None = None


@dataclass(frozen=True)
class PropertyDef:
    """A DTDL property. ``datatype`` for literal properties, ``range`` (a class name) for
    properties whose values are elements."""

    name: str
    datatype: str | None = None  # string, langString, boolean, integer, enumValue, dtmi
    range: str | None = None
    plural: bool = False
    limits: Limits = Limits()
    v2: Limits | None = None  # overrides ``limits`` in v2
    v3: Limits | None = None  # overrides ``limits`` in v3
    pattern: str | None = None
    id_required: bool = False  # a nested value must carry an @id (or be a reference)
    unique: tuple[str, ...] = ()  # properties whose values are unique among the values
    segment: str | None = None  # the property naming each value's synthesised id
    values: tuple[str, ...] = ()  # the only standard instances allowed (terms)
    only_in: int | None = None  # the property exists only in this version
    # DTDL versions a value defined inline (or referenced) may use, by the property's version
    versions: dict[int, tuple[int, ...]] = field(default_factory=lambda: {2: (2,), 3: (3, 2)})

    def limits_for(self, version: int) -> Limits:
        override = self.v2 if version == 2 else self.v3
        return override if override is not None else self.limits

    @property
    def literal(self) -> bool:
        return self.datatype is not None


@dataclass(frozen=True)
class ClassDef:
    name: str
    parent: str | None
    abstract: bool = False
    declared: tuple[PropertyDef, ...] = ()
    type_optional: tuple[int, ...] = ()  # versions where @type may be left out (inferred)
    id_required: bool = False  # elements of this class must carry an @id
    only_in: int | None = None
    standard_only: bool = False  # only DTDL defines elements of it (primitive schemas…)


def _p(name: str, **kwargs: object) -> PropertyDef:
    return PropertyDef(name, **kwargs)  # type: ignore[arg-type]


ONE = Limits(max_count=1)
EXACTLY_ONE = Limits(max_count=1, min_count=1)

CLASSES: dict[str, ClassDef] = {
    c.name: c
    for c in (
        ClassDef(
            "Entity",
            None,
            abstract=True,
            declared=(
                _p("comment", datatype="string", limits=Limits(max_count=1, max_length=512)),
                _p(
                    "description", datatype="langString", plural=True, limits=Limits(max_length=512)
                ),
                _p(
                    "displayName",
                    datatype="langString",
                    plural=True,
                    v2=Limits(max_length=64),
                    v3=Limits(max_length=512),
                ),
            ),
        ),
        ClassDef(
            "NamedEntity",
            "Entity",
            abstract=True,
            declared=(
                _p(
                    "name",
                    datatype="string",
                    pattern=NAME_PATTERN,
                    v2=Limits(max_count=1, min_count=1, max_length=64),
                    v3=Limits(max_count=1, min_count=1, max_length=512),
                ),
            ),
        ),
        ClassDef(
            "Interface",
            "Entity",
            id_required=True,
            declared=(
                _p(
                    "contents",
                    range="Content",
                    plural=True,
                    unique=("name",),
                    segment="name",
                    v2=Limits(max_count=300),
                    v3=Limits(),
                ),
                _p(
                    "extends",
                    range="Interface",
                    plural=True,
                    id_required=True,
                    v2=Limits(max_count=2),
                    v3=Limits(),
                ),
                _p(
                    "schemas",
                    range="ComplexSchema",
                    plural=True,
                    id_required=True,
                    versions={2: (2,), 3: (3,)},
                ),
            ),
        ),
        ClassDef("Content", "NamedEntity", abstract=True),
        ClassDef(
            "Command",
            "Content",
            declared=(
                _p(
                    "commandType",
                    range="CommandType",
                    limits=ONE,
                    values=("asynchronous", "synchronous"),
                ),
                _p("request", range="CommandPayload", limits=ONE, only_in=2),
                _p("response", range="CommandPayload", limits=ONE, only_in=2),
                _p("request", range="CommandRequest", limits=ONE, only_in=3),
                _p("response", range="CommandResponse", limits=ONE, only_in=3),
            ),
        ),
        ClassDef(
            "Component",
            "Content",
            declared=(_p("schema", range="Interface", limits=EXACTLY_ONE, id_required=True),),
        ),
        ClassDef(
            "Property",
            "Content",
            declared=(
                _p("schema", range="Schema", limits=EXACTLY_ONE),
                _p("writable", datatype="boolean", limits=ONE),
            ),
        ),
        ClassDef(
            "Relationship",
            "Content",
            declared=(
                _p(
                    "maxMultiplicity",
                    datatype="integer",
                    v2=Limits(max_count=1, min_value=1, max_value=500),
                    v3=Limits(max_count=1, min_value=1),
                ),
                _p(
                    "minMultiplicity",
                    datatype="integer",
                    limits=Limits(max_count=1, min_value=0, max_value=0),
                ),
                _p(
                    "properties",
                    range="Property",
                    plural=True,
                    unique=("name",),
                    segment="name",
                    v2=Limits(max_count=300),
                    v3=Limits(),
                ),
                _p("target", datatype="dtmi", limits=ONE),
                _p("writable", datatype="boolean", limits=ONE),
            ),
        ),
        ClassDef(
            "Telemetry", "Content", declared=(_p("schema", range="Schema", limits=EXACTLY_ONE),)
        ),
        ClassDef(
            "SchemaField",
            "NamedEntity",
            abstract=True,
            declared=(_p("schema", range="Schema", limits=EXACTLY_ONE),),
        ),
        ClassDef(
            "CommandPayload",
            "SchemaField",
            type_optional=(2,),
            declared=(_p("nullable", datatype="boolean", limits=ONE, only_in=3),),
        ),
        ClassDef("CommandRequest", "CommandPayload", type_optional=(3,), only_in=3),
        ClassDef("CommandResponse", "CommandPayload", type_optional=(3,), only_in=3),
        ClassDef("Field", "SchemaField", type_optional=(2, 3)),
        ClassDef("MapValue", "SchemaField", type_optional=(2, 3)),
        ClassDef(
            "MapKey",
            "NamedEntity",
            type_optional=(2, 3),
            declared=(_p("schema", range="String", limits=EXACTLY_ONE, values=("string",)),),
        ),
        ClassDef(
            "EnumValue",
            "NamedEntity",
            type_optional=(2, 3),
            declared=(_p("enumValue", datatype="enumValue", limits=EXACTLY_ONE),),
        ),
        ClassDef("CommandType", "Entity", id_required=True, standard_only=True),
        ClassDef("Schema", "Entity", abstract=True),
        ClassDef("ComplexSchema", "Schema", abstract=True),
        ClassDef(
            "Array",
            "ComplexSchema",
            declared=(_p("elementSchema", range="Schema", limits=EXACTLY_ONE),),
        ),
        ClassDef(
            "Enum",
            "ComplexSchema",
            declared=(
                _p(
                    "enumValues",
                    range="EnumValue",
                    plural=True,
                    unique=("name", "enumValue"),
                    segment="name",
                    v2=Limits(max_count=100, min_count=1),
                    v3=Limits(),
                ),
                _p(
                    "valueSchema",
                    range="PrimitiveSchema",
                    limits=EXACTLY_ONE,
                    values=("integer", "string"),
                ),
            ),
        ),
        ClassDef(
            "Map",
            "ComplexSchema",
            declared=(
                _p("mapKey", range="MapKey", limits=EXACTLY_ONE),
                _p("mapValue", range="MapValue", limits=EXACTLY_ONE),
            ),
        ),
        ClassDef(
            "Object",
            "ComplexSchema",
            declared=(
                _p(
                    "fields",
                    range="Field",
                    plural=True,
                    unique=("name",),
                    segment="name",
                    v2=Limits(max_count=30, min_count=1),
                    v3=Limits(),
                ),
            ),
        ),
        ClassDef("PrimitiveSchema", "Schema", abstract=True, id_required=True),
        ClassDef("NumericSchema", "PrimitiveSchema", abstract=True),
        ClassDef("TemporalSchema", "PrimitiveSchema", abstract=True),
        ClassDef("Boolean", "PrimitiveSchema", standard_only=True),
        ClassDef("String", "PrimitiveSchema", standard_only=True),
        ClassDef("Double", "NumericSchema", standard_only=True),
        ClassDef("Float", "NumericSchema", standard_only=True),
        ClassDef("Integer", "NumericSchema", standard_only=True),
        ClassDef("Long", "NumericSchema", standard_only=True),
        ClassDef("Date", "TemporalSchema", standard_only=True),
        ClassDef("DateTime", "TemporalSchema", standard_only=True),
        ClassDef("Duration", "TemporalSchema", standard_only=True),
        ClassDef("Time", "TemporalSchema", standard_only=True),
        ClassDef(
            "Unit", "Entity", abstract=True, declared=(_p("symbol", datatype="string", limits=ONE),)
        ),
        ClassDef("UnitAttribute", "NamedEntity", abstract=True),
        ClassDef("LatentType", "Entity", abstract=True, only_in=3),
        ClassDef("NamedLatentType", "NamedEntity", abstract=True, only_in=3),
    )
}

# The standard primitive schema instances, by term: the class each one belongs to.
PRIMITIVES = {
    "boolean": "Boolean",
    "date": "Date",
    "dateTime": "DateTime",
    "double": "Double",
    "duration": "Duration",
    "float": "Float",
    "integer": "Integer",
    "long": "Long",
    "string": "String",
    "time": "Time",
}

# Elements that every DTDL context defines and that models may reference by term.
COMMAND_TYPES = ("asynchronous", "synchronous")


def exists_in(cls: ClassDef | PropertyDef, version: int) -> bool:
    return cls.only_in is None or cls.only_in == version


@cache
def properties(class_name: str, version: int) -> dict[str, PropertyDef]:
    """Every property of ``class_name`` in ``version``, inherited ones included."""
    cls = CLASSES[class_name]
    inherited = properties(cls.parent, version) if cls.parent else {}
    own = {p.name: p for p in cls.declared if exists_in(p, version)}
    return {**inherited, **own}


@cache
def ancestors(class_name: str) -> tuple[str, ...]:
    """``class_name`` and every class above it, nearest first."""
    chain: list[str] = []
    current: str | None = class_name
    while current is not None:
        chain.append(current)
        current = CLASSES[current].parent
    return tuple(chain)


def is_a(class_name: str, other: str) -> bool:
    return other in ancestors(class_name)


@cache
def concrete_subclasses(class_name: str, version: int) -> tuple[str, ...]:
    """The classes an element may be instance of where ``class_name`` is expected."""
    return tuple(
        c.name
        for c in CLASSES.values()
        if not c.abstract and exists_in(c, version) and is_a(c.name, class_name)
    )


def inferred_class(range_name: str, version: int) -> str | None:
    """The class an untyped value of a property with this range takes, if the spec infers one."""
    candidates = [
        c for c in concrete_subclasses(range_name, version) if version in CLASSES[c].type_optional
    ]
    return candidates[0] if len(candidates) == 1 else None


__all__ = [
    "CLASSES",
    "COMMAND_TYPES",
    "PRIMITIVES",
    "VERSIONS",
    "ClassDef",
    "Limits",
    "PropertyDef",
    "ancestors",
    "concrete_subclasses",
    "exists_in",
    "inferred_class",
    "is_a",
    "properties",
]
