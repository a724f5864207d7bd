"""The JSON-LD @context generated for an uploaded Interface, so NGSI-LD tools can use short
names: the Interface's name for its DTMI, and each content's name (inherited ones included) for
the content's IRI (its DTDL identifier)."""

from __future__ import annotations

from typing import Any

from twin_server.modeling.graph import all_contents
from twin_server.modeling.model import ModelSet


def short_name(interface_id: str) -> str:
    """``dtmi:com:example:Pump;1`` → ``Pump``."""
    return interface_id.split(";", 1)[0].rsplit(":", 1)[-1]


def interface_context(models: ModelSet, interface_id: str) -> dict[str, Any]:
    terms: dict[str, Any] = {}
    for name, content in all_contents(models, interface_id).items():
        terms[name] = content.id
    terms[short_name(interface_id)] = interface_id  # the type wins a clash with a content name
    return {"@context": terms}
