"""Store backends, chosen by URL: ``sqlite:///path`` (embedded default) or ``memory://``."""

from __future__ import annotations

from twin_server.store.base import DEFAULT_TENANT, Applied, AttributeStat, Candidates, Store


def open_store(url: str, *, synchronous: str = "FULL", cache_size: int = 20_000) -> Store:
    """The store for ``url`` (not yet opened). An unknown scheme is an error, never a fallback."""
    if url.startswith("sqlite:///"):
        from twin_server.store.sqlite import SqliteStore

        return SqliteStore(url, synchronous=synchronous, cache_size=cache_size)
    if url.startswith("memory://"):
        from twin_server.store.memory import MemoryStore

        return MemoryStore(url)
    raise ValueError(f"unknown store URL {url!r}: expected sqlite:///path or memory://")


__all__ = ["DEFAULT_TENANT", "Applied", "AttributeStat", "Candidates", "Store", "open_store"]
