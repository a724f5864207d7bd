"""The server's own attributes that adapters keep on twins and device twins.

They live in the server's namespace, ``https://twinserver.dev/ns/``; any twin may carry them,
whatever its DTDL model (the twin validator lets that namespace through).
"""

from __future__ import annotations

from typing import Final

from twin_server.commands import model as m
from twin_server.commands.model import NS

STALE: Final = NS + "stale"  # the twin's device has been silent past its expected interval
QUALITY: Final = NS + "quality"  # attributes whose source reported bad quality: {name: why}
MANUAL: Final = m.MANUAL

DEVICE_TYPE: Final = NS + "Device"
CONTROLLED_ASSET: Final = NS + "controlledAsset"
DEVICE_STATE: Final = NS + "deviceState"  # ok, stale, error
LAST_VALUE: Final = NS + "dateLastValueReported"
MESSAGES: Final = NS + "messages"
RATE: Final = NS + "messagesPerSecond"
ERRORS: Final = NS + "errors"
LAST_ERROR: Final = NS + "lastError"
CONNECTED: Final = NS + "connected"
ADAPTER: Final = NS + "adapter"
BINDING: Final = NS + "binding"
