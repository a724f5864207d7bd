"""Templates with named segments: ``plant/{site}/pumps/{deviceId}`` for topics and paths,
``urn:ngsi-ld:Pump:{deviceId}`` for twin ids.

A source template is matched against what arrives (a topic) and names its segments; an id
template is filled with those names, and matched backwards to find a twin's names again (to
route a command to the device behind it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class TemplateError(ValueError):
    """A template that cannot be used, and why."""


@dataclass(frozen=True)
class Template:
    text: str
    names: tuple[str, ...]
    pattern: re.Pattern[str]

    def match(self, value: str) -> dict[str, str] | None:
        """The named segments of ``value`` (None: it does not fit the template)."""
        found = self.pattern.fullmatch(value)
        return found.groupdict() if found else None

    def fill(self, names: Mapping[str, str]) -> str:
        """The template with its placeholders filled (``KeyError`` for a missing name)."""
        return PLACEHOLDER.sub(lambda m: names[m.group(1)], self.text)


@lru_cache(maxsize=4096)
def template(text: str, *, separator: str = "/") -> Template:
    """A template; each placeholder stands for one non-empty segment without ``separator``
    (``/`` for topics; ids use ``/`` too, so a deviceId never swallows a path)."""
    names = tuple(PLACEHOLDER.findall(text))
    if len(set(names)) != len(names):
        raise TemplateError(f"{text!r} names a placeholder twice")
    if "{" in PLACEHOLDER.sub("", text) or "}" in PLACEHOLDER.sub("", text):
        raise TemplateError(f"{text!r} has a brace that is not a {{name}} placeholder")
    parts = PLACEHOLDER.split(text)
    regex = ""
    for index, part in enumerate(parts):
        if index % 2:
            regex += f"(?P<{part}>[^{re.escape(separator)}]+?)"
        else:
            regex += re.escape(part)
    return Template(text, names, re.compile(regex))
