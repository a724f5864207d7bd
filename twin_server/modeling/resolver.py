"""Resolvers: where the parser finds DTMIs that a model set references but does not define.

A resolver takes DTMIs and returns ``{source name: JSON text}`` for those it knows; the parser
asks again for anything the new texts reference, until nothing is missing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from twin_server.modeling import dtmi

Resolver = Callable[[Sequence[str]], dict[str, str]]


class RepositoryResolver:
    """A local folder laid out like the public DTDL models repository:
    ``dtmi:com:example:Thermostat;1`` is ``<root>/dtmi/com/example/thermostat-1.json``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __call__(self, identifiers: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for identifier in identifiers:
            if ";" not in identifier:
                continue  # the repository holds versioned DTMIs only
            path = self.root / dtmi.path_of(identifier)
            if path.is_file():
                found[str(path)] = path.read_text(encoding="utf-8-sig")
        return found


def chain(resolvers: Iterable[Resolver]) -> Resolver:
    """Ask each resolver in turn for what the earlier ones did not find."""
    chosen = list(resolvers)

    def resolve(identifiers: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        missing = list(identifiers)
        for resolver in chosen:
            if not missing:
                break
            texts = resolver(missing)
            found.update(texts)
            defined = set().union(*(_ids_in(text) for text in texts.values())) if texts else set()
            missing = [i for i in missing if i not in defined]
        return found

    return resolve


def _ids_in(text: str) -> set[str]:
    """The top-level @ids a JSON text defines (a cheap look, to know what a resolver gave)."""
    try:
        value = json.loads(text)
    except ValueError:
        return set()
    items = value if isinstance(value, list) else [value]
    return {
        item["@id"] for item in items if isinstance(item, dict) and isinstance(item.get("@id"), str)
    }
