"""The SQLite store's cache of parsed, committed entities (with their row ids)."""

from __future__ import annotations

import threading

from twin_server.core.types import Entity

Key = tuple[str, str]
Row = tuple[int, Entity]
"""(row id, entity)."""


class EntityCache:
    """Parsed entities by (tenant, id), bounded, holding committed state only.

    The writer thread applies each committed group; the event loop's thread fills it on a read
    miss, unless a commit happened since that read began (its row might be stale). Eviction is
    oldest-inserted first.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: dict[Key, Row] = {}
        self._lock = threading.Lock()
        self.generation = 0

    def get(self, key: Key) -> Entity | None:
        found = self._entries.get(key)
        return found[1] if found is not None else None

    def row(self, key: Key) -> Row | None:
        return self._entries.get(key)

    def fill(self, key: Key, row: Row, generation: int) -> None:
        with self._lock:
            if generation == self.generation and self._size:
                self._put(key, row)

    def apply(self, written: dict[Key, Row | None]) -> None:
        if not written:
            return
        with self._lock:
            self.generation += 1
            for key, row in written.items():
                if row is None:
                    self._entries.pop(key, None)
                elif self._size:
                    self._put(key, row)

    def _put(self, key: Key, row: Row) -> None:
        self._entries.pop(key, None)
        self._entries[key] = row
        while len(self._entries) > self._size:
            del self._entries[next(iter(self._entries))]
