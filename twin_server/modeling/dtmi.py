"""Digital Twin Model Identifiers: syntax and length rules per DTDL version."""

from __future__ import annotations

import re

_SEGMENTS = r"dtmi:[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?(?::[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?)*"
# v2: a major version is required; v3: optional, and may carry a minor version.
PATTERNS = {
    2: re.compile(rf"^{_SEGMENTS};[1-9][0-9]{{0,8}}$"),
    3: re.compile(rf"^{_SEGMENTS}(?:;[1-9][0-9]{{0,8}}(?:\.[1-9][0-9]{{0,5}})?)?$"),
}
MAX_LENGTH = 2048
MAX_INTERFACE_LENGTH = 128


def valid(identifier: str, version: int) -> bool:
    return PATTERNS[version].match(identifier) is not None


def without_version(identifier: str) -> str:
    return identifier.split(";", 1)[0]


def version_suffix(identifier: str) -> str:
    return ";" + identifier.split(";", 1)[1] if ";" in identifier else ""


def sort_key(identifier: str) -> tuple[str, int]:
    """Orders DTMIs by path, then by major version as a number (``;10`` after ``;2``)."""
    base, _, version = identifier.partition(";")
    major = version.split(".", 1)[0]
    return base, int(major) if major.isdigit() else 0


def child_id(parent: str, *segments: str) -> str:
    """The id DTDL gives an element defined without one, inside ``parent``:
    ``dtmi:ex:I;1`` + (``_contents``, ``__speed``) → ``dtmi:ex:I:_contents:__speed;1``."""
    return without_version(parent) + "".join(":" + s for s in segments) + version_suffix(parent)


def path_of(identifier: str) -> str:
    """The repository path of a DTMI: ``dtmi:com:example:Thermostat;1`` →
    ``dtmi/com/example/thermostat-1.json`` (the models repository convention)."""
    base, _, version = identifier.partition(";")
    return base.lower().replace(":", "/") + f"-{version}.json"
