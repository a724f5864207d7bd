"""GraphQL names for DTDL models: deterministic, stable as models arrive, and collision-free.

The rule (README, "GraphQL names"):
- An Interface ``dtmi:com:example:Pump;1`` is named after its last segment: the GraphQL
  interface ``Pump``, the object type of its twins ``PumpTwin`` and, when it is the schema of
  a Component, ``PumpComponent``.
- Interfaces claim their names in upload order (then by DTMI, versions in numeric order). An
  Interface whose name, or one of the names derived from it, is already taken (by an earlier
  Interface, such as an older version or the same name in another namespace, or by the API's
  own types) takes its qualified name instead: every segment of the DTMI and the version,
  joined by ``_`` (``com_example_Pump_v2``). A model that arrives later therefore never
  renames the types of the models already there: existing queries keep working.
- An Enum or Object schema is named after where it is first used: the Interface's name, then
  each content and field name on the way, capitalised (``PumpMode``, ``TankConfigDims``).
  Array elements add ``Item``.
- A content whose name is a field of every twin (``id``, ``types``, ``properties``…) is
  exposed with a trailing ``_`` (``id_``): DTDL names never end with ``_``, so that name is free.
- An enum value named ``true``, ``false`` or ``null`` (not allowed in GraphQL) takes a
  trailing ``_`` as well.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

NOT_NAME = re.compile(r"[^A-Za-z0-9_]")
RESERVED_VALUES = frozenset({"true", "false", "null"})


def short(dtmi: str) -> str:
    """``dtmi:com:example:Pump;1`` → ``Pump``."""
    return graphql_name(dtmi.split(";", 1)[0].rsplit(":", 1)[-1])


def qualified(dtmi: str) -> str:
    """``dtmi:com:example:Pump;2`` → ``com_example_Pump_v2``."""
    path, _, version = dtmi.removeprefix("dtmi:").partition(";")
    name = path.replace(":", "_") + (f"_v{version.replace('.', '_')}" if version else "")
    return graphql_name(name)


def graphql_name(text: str) -> str:
    """A valid GraphQL name for ``text`` (other characters become ``_``)."""
    name = NOT_NAME.sub("_", text) or "_"
    if name[0].isdigit():
        name = "_" + name
    if name.startswith("__"):
        name = "X" + name
    return name


def capital(name: str) -> str:
    return name[:1].upper() + name[1:]


def enum_value_name(name: str) -> str:
    value = graphql_name(name)
    return value + "_" if value in RESERVED_VALUES else value


class Names:
    """The GraphQL type names given out so far (the API's own ones are taken from the start),
    and the fields every twin has (read from the schema's ``Twin``), which contents avoid."""

    def __init__(self, reserved: Iterable[str], twin_fields: Iterable[str]) -> None:
        self.taken = set(reserved)
        self.twin_fields = frozenset(twin_fields)

    def field(self, content_name: str) -> str:
        """A content's field name: its own, with ``_`` added when a twin has that field."""
        name = graphql_name(content_name)
        return name + "_" if name in self.twin_fields else name

    def claim_interface(self, dtmi: str) -> str:
        """The base name of an Interface: ``short`` when it and its derived names are free,
        else the qualified one (with a number if even that is taken)."""
        for base in (short(dtmi), qualified(dtmi)):
            if self._free(base):
                self._take(base)
                return base
        number = 2
        while not self._free(f"{qualified(dtmi)}_{number}"):
            number += 1
        base = f"{qualified(dtmi)}_{number}"
        self._take(base)
        return base

    def claim(self, wanted: str) -> str:
        """A schema type's name: ``wanted``, or ``wanted_2``, ``wanted_3``… when taken."""
        name, number = wanted, 2
        while name in self.taken:
            name, number = f"{wanted}_{number}", number + 1
        self.taken.add(name)
        return name

    def _free(self, base: str) -> bool:
        return not any(n in self.taken for n in derived(base))

    def _take(self, base: str) -> None:
        self.taken.update(derived(base))


def derived(base: str) -> tuple[str, str, str]:
    """The names an Interface's base name stands for: interface, twin type, component type."""
    return base, base + "Twin", base + "Component"
