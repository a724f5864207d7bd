"""Event bus backends, chosen by URL (``memory://`` now; Redis comes with scale-out)."""

from __future__ import annotations

from twin_server.bus.base import EventBus, Subscription
from twin_server.bus.memory import MemoryBus


def open_bus(url: str = "memory://") -> EventBus:
    """The bus for ``url``. An unknown scheme is an error, never a fallback."""
    if url.startswith("memory://"):
        return MemoryBus()
    raise ValueError(f"unknown event bus URL {url!r}: expected memory://")


__all__ = ["EventBus", "MemoryBus", "Subscription", "open_bus"]
