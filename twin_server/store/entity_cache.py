"""The SQLite store's cache of parsed, committed entities."""

from __future__ import annotations

import threading

from twin_server.core.types import Entity


class EntityCache:
    """Parsed entities by (tenant, id), bounded, holding committed state only.

    The writer thread applies each committed group; the event loop's thread fills it on a read
    miss, unless a commit happened since that read began (its row might be stale). Eviction is
    oldest-inserted first.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: dict[tuple[str, str], Entity] = {}
        self._lock = threading.Lock()
        self.generation = 0

    def get(self, key: tuple[str, str]) -> Entity | None:
        return self._entries.get(key)

    def fill(self, key: tuple[str, str], entity: Entity, generation: int) -> None:
        with self._lock:
            if generation == self.generation and self._size:
                self._put(key, entity)

    def apply(self, written: dict[tuple[str, str], Entity | None]) -> None:
        if not written:
            return
        with self._lock:
            self.generation += 1
            for key, entity in written.items():
                if entity is None:
                    self._entries.pop(key, None)
                elif self._size:
                    self._put(key, entity)

    def _put(self, key: tuple[str, str], entity: Entity) -> None:
        self._entries.pop(key, None)
        self._entries[key] = entity
        while len(self._entries) > self._size:
            del self._entries[next(iter(self._entries))]
