"""The JSON-LD @context generated for an uploaded Interface, so NGSI-LD tools can use short
names: the Interface's name for its DTMI, and each content's name (inherited ones included) for
the content's IRI (its DTDL identifier)."""

from __future__ import annotations

from typing import Any

from twin_server.modeling.dtmi import sort_key
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


ALL_MODELS = "models"
"""The id of the context that covers every stored model at once."""


def models_context(models: ModelSet, interface_ids: list[str]) -> dict[str, Any]:
    """One context for every stored model: each Interface's name (the latest version wins) and
    every content name that means one IRI across all of them (ambiguous names are left out:
    use the Interface's own context for those)."""
    types: dict[str, str] = {}
    for interface_id in sorted(interface_ids, key=sort_key):
        types[short_name(interface_id)] = interface_id
    meanings: dict[str, set[str]] = {}
    for interface_id in interface_ids:
        for name, content in all_contents(models, interface_id).items():
            meanings.setdefault(name, set()).add(content.id)
    terms: dict[str, Any] = {n: next(iter(i)) for n, i in meanings.items() if len(i) == 1}
    terms.update(types)
    return {"@context": terms}
