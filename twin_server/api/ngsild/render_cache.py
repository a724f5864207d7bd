"""Rendered entity bodies, reused while nothing about them has changed.

A write never modifies an entity in place: the store replaces it with a new object. So a body
rendered from one entity object, with one TermMap, for one query string, is valid for exactly as
long as the store still hands out that same object. Identity is checked on every hit; the cache
holds references, so an object (and so its id) cannot be reused while cached.
"""

from __future__ import annotations

from twin_server.core.types import Entity
from twin_server.jsonld.termmap import TermMap

Key = tuple[str, str, int, bytes]


class RenderCache:
    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._entries: dict[Key, tuple[Entity, TermMap, bytes]] = {}

    @staticmethod
    def key(tenant: str, entity: Entity, terms: TermMap, query: bytes) -> Key:
        return (tenant, entity["id"], id(terms), query)

    def get(self, key: Key, entity: Entity, terms: TermMap) -> bytes | None:
        found = self._entries.get(key)
        if found is None or found[0] is not entity or found[1] is not terms:
            return None
        return found[2]

    def put(self, key: Key, entity: Entity, terms: TermMap, body: bytes) -> None:
        if self._size <= 0:
            return
        self._entries.pop(key, None)
        self._entries[key] = (entity, terms, body)
        if len(self._entries) > self._size:
            del self._entries[next(iter(self._entries))]
