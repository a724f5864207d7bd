"""paho's MQTT 5 ``Properties``, with its tables built once instead of in every instance.

paho's ``Properties.__init__`` builds its name and property tables (two dicts of 27 entries,
with 27 list lookups) for each instance, and its ``clear`` looks for each of the 27 names;
every PUBLISH received over MQTT 5 makes one instance and clears it. Measured in the worker
at 9,000 messages/s: a quarter of paho's network thread, ~12 µs per message.
``SharedTables`` reads the same tables from the class (built once, from one instance of
paho's own class) and clears only the properties set; everything else is paho's code.
``install()`` has paho's PUBLISH decoder use it: the MQTT worker process calls it (the
server's process never imports this module).
"""

from __future__ import annotations

from typing import Any

import paho.mqtt._packet as packet
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

_TEMPLATE = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
_OWN = frozenset({"packetType", "types", "names", "properties"})


class SharedTables(Properties):
    types: Any = _TEMPLATE.types
    names: Any = _TEMPLATE.names
    properties: Any = _TEMPLATE.properties

    def __init__(self, packetType: int) -> None:
        object.__setattr__(self, "packetType", packetType)

    def clear(self) -> None:
        for name in [n for n in vars(self) if n not in _OWN]:
            delattr(self, name)


def install() -> bool:
    """Decode received PUBLISH packets' properties with ``SharedTables``; False (and paho as it
    is) when paho's decoder is not where this version of paho keeps it."""
    if getattr(packet, "Properties", None) not in (Properties, SharedTables):
        return False
    setattr(packet, "Properties", SharedTables)  # noqa: B010 - paho does not export the name
    return True
