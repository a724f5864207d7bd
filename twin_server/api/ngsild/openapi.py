"""The NGSI-LD routes in the app's OpenAPI document.

They are served by the dispatcher, not by FastAPI's router, so FastAPI cannot describe them;
this builds their entries from the route table and each endpoint's docstring.
"""

from __future__ import annotations

import inspect
from typing import Any

from twin_server.api.ngsild.routes import BASE, TABLE

_PROBLEM = {
    "description": "ProblemDetails (application/json) with an NGSI-LD error type",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "type": {"type": "string"},
                    "title": {"type": "string"},
                    "status": {"type": "integer"},
                    "detail": {"type": "string"},
                },
            }
        }
    },
}


def ngsild_paths() -> dict[str, dict[str, Any]]:
    """OpenAPI path items for every NGSI-LD route."""
    paths: dict[str, dict[str, Any]] = {}
    for (shape, method), (endpoint, names) in TABLE.items():
        path, params = _template(shape, names)
        doc = inspect.getdoc(endpoint) or endpoint.__name__
        summary, _, description = doc.partition("\n\n")
        paths.setdefault(path, {})[method.lower()] = {
            "tags": ["NGSI-LD"],
            "operationId": endpoint.__name__,
            "summary": summary.replace("\n", " "),
            "description": description,
            "parameters": [
                {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                for n in params
            ],
            "responses": {"2XX": {"description": "success"}, "default": _PROBLEM},
        }
    return paths


def _template(shape: str, names: tuple[str, ...]) -> tuple[str, list[str]]:
    parts, pending = [], list(names)
    for part in shape.split("/"):
        parts.append("{" + pending.pop(0) + "}" if part == "*" else part)
    return f"{BASE}/{'/'.join(parts)}", list(names)
