"""Elements DTDL itself defines: primitive schemas, command types, geospatial schemas."""

from __future__ import annotations

from functools import cache

from twin_server.modeling import metamodel
from twin_server.modeling.context import GEOSPATIAL
from twin_server.modeling.model import Element


@cache
def _standard(term: str, version: int, origin: str) -> tuple[str, str]:
    if term in metamodel.PRIMITIVES:
        return f"dtmi:dtdl:instance:Schema:{term};{version}", metamodel.PRIMITIVES[term]
    if term in metamodel.COMMAND_TYPES:
        return f"dtmi:dtdl:instance:CommandType:{term};{version}", "CommandType"
    if term in GEOSPATIAL:
        return f"dtmi:standard:schema:geospatial:{term};{version}", "Object"
    if origin == "dtmi:dtdl:extension:quantitativeTypes;1":
        return f"dtmi:dtdl:extension:quantitativeTypes:v1:enum:{term}", "Enum"
    if origin.startswith("dtmi:iotcentral:"):
        return f"dtmi:iotcentral:schema:{term};2", "Object"
    raise KeyError(term)


def standard_element(term: str, version: int, origin: str) -> Element:
    """The element a standard term (``double``, ``point``…) refers to."""
    identifier, cls = _standard(term, version, origin)
    return Element(identifier, cls, version, None, standard=True)
