"""DTDL Commands of a twin: finding one by name, and checking a request against its schema."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from twin_server.modeling.graph import all_contents
from twin_server.modeling.model import Element, ModelSet
from twin_server.modeling.values import problem


def commands_of(models: ModelSet, interfaces: Sequence[str]) -> dict[str, Element]:
    """The Commands of the twin's Interfaces (inherited ones included), by name."""
    found: dict[str, Element] = {}
    for interface in interfaces:
        if interface not in models.elements:
            continue
        for name, content in all_contents(models, interface).items():
            if content.cls == "Command":
                found.setdefault(name, content)
    return found


def request_problem(models: ModelSet, command: Element, payload: Any) -> str | None:
    """Why ``payload`` is not a valid request of ``command`` (None: it is)."""
    request_id = command.one("request")
    if request_id is None:
        if payload is not None:
            return f"Command {command.name!r} takes no request; send none"
        return None
    request = models[request_id]
    schema = request.one("schema")
    if payload is None:
        nullable = request.literals.get("nullable") is True
        return None if nullable else f"Command {command.name!r} needs its request {request.name!r}"
    return problem(models, schema, payload) if schema is not None else None
