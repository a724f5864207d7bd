"""Finding adapters: each folder of the adapters directory with a ``manifest.json`` is one.

The manifest names the adapter and its entry class (``"entry": "client:MqttAdapter"``: the
class ``MqttAdapter`` of ``client.py``). A folder is imported as a private package
(``twin_server_adapters.<name>``), so its modules import each other relatively and never
clash with an installed package of the same name (PyPI has ``adapters``).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from twin_server.adapters.contract import Adapter

log = logging.getLogger(__name__)
NAMESPACE = "twin_server_adapters"
DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "adapters"


class AdapterLoadError(Exception):
    """An adapter folder that cannot be loaded, and why."""


@dataclass(frozen=True)
class Manifest:
    name: str
    entry: str
    description: str
    folder: Path


def manifests(folder: Path) -> list[Manifest]:
    found = []
    for path in sorted(folder.glob("*/manifest.json")):
        try:
            data: Any = orjson.loads(path.read_bytes())
            found.append(
                Manifest(
                    name=str(data["name"]),
                    entry=str(data["entry"]),
                    description=str(data.get("description", "")),
                    folder=path.parent,
                )
            )
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise AdapterLoadError(f"{path}: not a valid adapter manifest ({exc})") from None
    return found


def import_package(name: str, folder: Path) -> str:
    """Import an adapter folder as the private package ``twin_server_adapters.<name>``."""
    package = f"{NAMESPACE}.{name}"
    if NAMESPACE not in sys.modules:
        root = types.ModuleType(NAMESPACE)
        root.__path__ = []
        sys.modules[NAMESPACE] = root
    if package not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            package, folder / "__init__.py", submodule_search_locations=[str(folder)]
        )
        if spec is None or spec.loader is None:
            raise AdapterLoadError(f"{folder}: no __init__.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[package] = module
        spec.loader.exec_module(module)
    return package


def load(manifest: Manifest) -> Adapter:
    """An instance of the adapter's entry class."""
    module_name, _, class_name = manifest.entry.partition(":")
    if not module_name or not class_name:
        raise AdapterLoadError(f"{manifest.folder}: entry {manifest.entry!r} is not module:Class")
    package = import_package(manifest.name, manifest.folder)
    try:
        entry = importlib.import_module(f"{package}.{module_name}")
        cls = getattr(entry, class_name)
    except (ImportError, AttributeError) as exc:
        raise AdapterLoadError(f"{manifest.folder}: cannot load {manifest.entry}: {exc}") from exc
    adapter: Adapter = cls()
    return adapter
