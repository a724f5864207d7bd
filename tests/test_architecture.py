"""Dependencies point inward: the core imports no web framework, protocol client or runtime."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "twin_server"
FORBIDDEN_IN_CORE = (
    "fastapi",
    "starlette",
    "uvicorn",
    "strawberry",
    "httpx",
    "paho",
    "asyncua",
    "onnxruntime",
    "neo4j",
    "redis",
    "twin_server.api",
    "twin_server.app",
)


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_core_depends_on_nothing_outside_it() -> None:
    for path in (PACKAGE / "core").rglob("*.py"):
        for name in imports(path):
            assert not name.startswith(FORBIDDEN_IN_CORE), f"{path.name} imports {name}"


def test_stores_and_bus_do_not_import_the_api() -> None:
    for folder in ("store", "bus", "jsonld", "modeling", "semantic"):
        for path in (PACKAGE / folder).rglob("*.py"):
            for name in imports(path):
                assert not name.startswith(("twin_server.api", "fastapi", "starlette")), (
                    f"{folder}/{path.name} imports {name}"
                )
