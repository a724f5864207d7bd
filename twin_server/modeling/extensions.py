"""The DTDL language extensions with adjunct types: what each context defines, which classes
each adjunct type may co-type, and the properties it adds.

From the extension specifications in github.com/Azure/opendigitaltwins-dtdl
(``DTDL.historization.v*.md``, ``DTDL.annotation.v*.md``, ``DTDL.overriding.v*.md``,
``DTDL.mqtt.v*.md``, ``DTDL.requirement.v*.md``) and the IoT Central affiliate context.
QuantitativeTypes (semantic types and units) lives in ``quantities``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

PROPERTY_OR_TELEMETRY = ("Property", "Telemetry")
GEOSPATIAL = ("point", "multiPoint", "lineString", "multiLineString", "polygon", "multiPolygon")
# MQTT topic templates and service group ids (DTDL.mqtt.v*.md).
TOPIC = (
    r"^(?:(?:[!%-*,-.0-z|~][!$-*,-.0-z|~]*)|(?:{(?:[A-Za-z]+:)?[A-Za-z]+}))"
    r"(?:\/(?:(?:[!$-*,-.0-z|~]+)|(?:{(?:[A-Za-z]+:)?[A-Za-z]+})))*$"
)
GROUP = r"^[!$-*,-.0-z|~]+$"


@dataclass(frozen=True)
class ExtensionProperty:
    name: str
    datatype: str  # string, integer, duration, iri
    required: bool = False
    pattern: str | None = None
    unique: bool = False  # unique among the elements of the same parent property


@dataclass(frozen=True)
class Adjunct:
    """An adjunct type: a co-type that adds meaning (and maybe properties) to an element."""

    name: str
    cotypes: tuple[str, ...]  # the material classes it may co-type
    properties: tuple[ExtensionProperty, ...] = ()
    requires: tuple[str, ...] = ()  # co-types that must accompany it
    iri: str = ""
    schema_types: tuple[str, ...] = ()  # the element's schema must be one of these classes
    schema_values: tuple[str, ...] = ()  # … or one of these standard schemas

    def property(self, name: str) -> ExtensionProperty | None:
        return next((p for p in self.properties if p.name == name), None)


@dataclass(frozen=True)
class Extension:
    context: str
    dtdl_versions: tuple[int, ...]
    adjuncts: tuple[Adjunct, ...] = ()
    schemas: tuple[str, ...] = ()  # standard schema terms it defines
    terms: dict[str, str] = field(default_factory=dict)


def _mqtt(major: int) -> Extension:
    base = f"dtmi:dtdl:extension:mqtt:v{major}"
    groups = major >= 2
    mqtt_props = [
        ExtensionProperty("payloadFormat", "string", required=True),
        ExtensionProperty("telemetryTopic", "string", pattern=TOPIC),
        ExtensionProperty("commandTopic", "string", pattern=TOPIC),
    ]
    if groups:
        mqtt_props += [
            ExtensionProperty("cmdServiceGroupId", "string", pattern=GROUP),
            ExtensionProperty("telemServiceGroupId", "string", pattern=GROUP),
        ]
    adjuncts = [
        Adjunct("Mqtt", ("Interface",), tuple(mqtt_props)),
        Adjunct("Idempotent", ("Command",)),
        Adjunct(
            "Cacheable",
            ("Command",),
            (ExtensionProperty("ttl", "duration", required=True),),
            requires=("Idempotent",),
        ),
        Adjunct(
            "Indexed",
            ("EnumValue", "Field", "Telemetry"),
            (ExtensionProperty("index", "integer", required=True, unique=True),),
        ),
    ]
    if groups:
        adjuncts.append(Adjunct("Transparent", ("CommandRequest", "CommandResponse")))
    if major >= 3:
        adjuncts += [
            Adjunct("Error", ("Object",)),
            Adjunct("ErrorMessage", ("Field",)),
            Adjunct("ErrorResult", ("Field",)),
            Adjunct("NormalResult", ("Field",)),
            Adjunct("Result", ("Object",)),
        ]
    return Extension(
        f"dtmi:dtdl:extension:mqtt;{major}",
        (3,),
        tuple(replace(a, iri=f"{base}:{a.name}") for a in adjuncts),
    )


def _versioned(name: str, major: int, adjunct: Adjunct) -> Extension:
    iri = f"dtmi:dtdl:extension:{name}:v{major}:{adjunct.name}"
    return Extension(
        f"dtmi:dtdl:extension:{name};{major}",
        (3,),
        (replace(adjunct, iri=iri),),
    )


_ANNOTATION = Adjunct(
    "ValueAnnotation",
    PROPERTY_OR_TELEMETRY,
    (ExtensionProperty("annotates", "string", required=True),),
)
_OVERRIDE = Adjunct(
    "Override",
    ("Property",),
    (ExtensionProperty("overrides", "iri", required=True),),
    requires=("ValueAnnotation",),
)
_HISTORIZED = Adjunct("Historized", PROPERTY_OR_TELEMETRY)

EXTENSIONS: dict[str, Extension] = {
    e.context: e
    for e in (
        _versioned("historization", 1, _HISTORIZED),
        _versioned("historization", 2, _HISTORIZED),
        _versioned("annotation", 1, _ANNOTATION),
        _versioned("annotation", 2, _ANNOTATION),
        _versioned("overriding", 1, _OVERRIDE),
        _versioned("overriding", 2, _OVERRIDE),
        _versioned("requirement", 1, Adjunct("Required", ("Field",))),
        _versioned("requirement", 2, Adjunct("Required", ("Field", "Property"))),
        _mqtt(1),
        _mqtt(2),
        _mqtt(3),
        Extension(
            "dtmi:iotcentral:context;2",
            (2,),
            tuple(
                replace(a, iri=f"dtmi:iotcentral:class:{a.name};2")
                for a in (
                    Adjunct("AccelerationVector", PROPERTY_OR_TELEMETRY, schema_values=("vector",)),
                    Adjunct("VelocityVector", PROPERTY_OR_TELEMETRY, schema_values=("vector",)),
                    Adjunct(
                        "Event", PROPERTY_OR_TELEMETRY, schema_types=("NumericSchema", "String")
                    ),
                    Adjunct("State", PROPERTY_OR_TELEMETRY, schema_types=("Enum",)),
                    Adjunct(
                        "Location", PROPERTY_OR_TELEMETRY, schema_values=(*GEOSPATIAL, "geopoint")
                    ),
                )
            ),
            schemas=("geopoint", "vector"),
        ),
        Extension("dtmi:dtdl:extension:quantitativeTypes;1", (3,)),
    )
}

ADJUNCTS: dict[str, Adjunct] = {a.name: a for e in EXTENSIONS.values() for a in e.adjuncts}
