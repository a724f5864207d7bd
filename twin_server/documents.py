"""Configuration documents (bindings, hooks, rules) from their JSON form, with every problem
named by its place."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from twin_server.errors import BadRequestData

M = TypeVar("M", bound=BaseModel)


def parse_document(model: type[M], data: Any, what: str) -> M:
    """``data`` as a ``model``; ``BadRequestData`` lists every problem (``invalid <what>: …``)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or what}: {e['msg']}" for e in exc.errors()
        )
        raise BadRequestData(f"invalid {what}: {problems}") from None
