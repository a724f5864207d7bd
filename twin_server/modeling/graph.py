"""Questions about a parsed model set as a graph: which Interface an element belongs to, what
an Interface depends on, what it inherits, and its contents with inherited ones."""

from __future__ import annotations

from twin_server.modeling.model import Element, ModelSet


def top_level(models: ModelSet, element: Element) -> Element:
    """The top-level element (the uploaded Interface) ``element`` is defined in."""
    current = element
    while current.parent is not None and current.parent in models.elements:
        current = models.elements[current.parent]
    return current


def dependencies(models: ModelSet) -> dict[str, set[str]]:
    """For each top-level Interface, the other top-level Interfaces its definition refers to
    (extends, Component schemas, any reference into another Interface)."""
    found: dict[str, set[str]] = {}
    for element in models.elements.values():
        if element.standard:
            continue
        owner = top_level(models, element).id
        mine = found.setdefault(owner, set())
        for targets in element.objects.values():
            for target_id in targets:
                target = models.get(target_id)
                if target is None or target.standard:
                    continue
                root = top_level(models, target).id
                if root != owner:
                    mine.add(root)
    return found


def ancestors(models: ModelSet, interface_id: str) -> list[str]:
    """Every Interface ``interface_id`` extends, directly or not, nearest first."""
    seen: list[str] = []
    pending = list(models[interface_id].objects.get("extends", []))
    while pending:
        current = pending.pop(0)
        if current in seen or current not in models.elements:
            continue
        seen.append(current)
        pending.extend(models[current].objects.get("extends", []))
    return seen


def descendants(models: ModelSet, interface_id: str) -> list[str]:
    """Every Interface that extends ``interface_id``, directly or not (none for an id that is
    not a model's: no scan then)."""
    if interface_id not in models.elements:
        return []
    return sorted(e.id for e in models.interfaces() if interface_id in ancestors(models, e.id))


def all_contents(models: ModelSet, interface_id: str) -> dict[str, Element]:
    """The contents of an Interface by name, inherited ones included (DTDL makes names unique
    across the hierarchy)."""
    contents: dict[str, Element] = {}
    for owner in [interface_id, *ancestors(models, interface_id)]:
        for content_id in models[owner].objects.get("contents", []):
            content = models.get(content_id)
            if content is not None and content.name is not None:
                contents.setdefault(content.name, content)
    return contents
