"""An entity query (ids, idPattern, type expression, attrs, q, geo, scopeQ) and its matcher."""

from __future__ import annotations

import re
from dataclasses import dataclass

from twin_server.core.geoquery import GeoQuery
from twin_server.core.qlang import Query
from twin_server.core.selectors import Selector, scope_matches
from twin_server.core.types import Entity
from twin_server.store.base import Candidates


@dataclass(frozen=True, slots=True)
class EntityQuery:
    ids: frozenset[str] | None = None
    id_pattern: re.Pattern[str] | None = None
    types: Selector | None = None
    attrs: frozenset[str] | None = None
    """Entities having at least one of these attributes."""
    q: Query | None = None
    geo: GeoQuery | None = None
    scope: Selector | None = None

    def candidates(self) -> Candidates:
        """What the store's indexes can narrow down; ``matches`` decides exactly."""
        # Any type expression needs at least one of its names, so they narrow exactly or more.
        types = frozenset(self.types.names()) if self.types is not None else None
        return Candidates(ids=self.ids, types=types, attrs=self.attrs)

    def decided_by_index(self) -> bool:
        """True when ``candidates()`` selects exactly the matches (nothing left to test)."""
        if any(x is not None for x in (self.id_pattern, self.q, self.geo, self.scope)):
            return False
        return self.types is None or self.types.is_disjunction()

    def matches(self, entity: Entity) -> bool:
        if self.ids is not None and entity["id"] not in self.ids:
            return False
        if self.id_pattern is not None and not self.id_pattern.fullmatch(entity["id"]):
            return False
        if self.types is not None and not self.types.matches(entity["type"].__contains__):
            return False
        if self.attrs is not None and self.attrs.isdisjoint(entity["attrs"]):
            return False
        if self.scope is not None and not self.scope.matches(
            lambda p: any(scope_matches(p, s) for s in entity.get("scope", ()))
        ):
            return False
        if self.geo is not None and not self.geo.matches(entity):
            return False
        return self.q is None or self.q.matches(entity)
