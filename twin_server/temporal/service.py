"""The temporal service: reads entity history for the temporal API, and its direct writes.

History itself is written by the store with every committed change (see ``store.base``); what
the temporal API writes here (create / add / modify / delete instances) changes the history
only, never the entity's current state, as NGSI-LD specifies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from twin_server.core.query import EntityQuery
from twin_server.core.types import Entity
from twin_server.errors import NonexistentTenant, NotFound
from twin_server.store.base import DEFAULT_TENANT, Store
from twin_server.temporal.model import AggregateQuery, Bucket, HistoryRow, Series, SeriesQuery


@dataclass(frozen=True, slots=True)
class TemporalEntity:
    id: str
    types: tuple[str, ...]


class TemporalService:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def _tenant(self, tenant: str) -> None:
        if tenant != DEFAULT_TENANT and not await self.store.tenant_exists(tenant):
            raise NonexistentTenant(f"tenant {tenant!r} does not exist")

    async def entities(self, tenant: str, query: EntityQuery) -> list[TemporalEntity]:
        """Entities with history that ``query`` selects: ids, idPattern and types against the
        history; attrs against the attributes with history; q, geoQ and scopeQ against the
        entity's current state (an entity that no longer exists does not match them)."""
        await self._tenant(tenant)
        selector = EntityQuery(query.ids, query.id_pattern, query.types)
        on_state = query.q is not None or query.geo is not None or query.scope is not None
        state = EntityQuery(q=query.q, geo=query.geo, scope=query.scope)
        found = []
        for entity_id, types in await self.store.history_entities(tenant, query.ids):
            shell: Entity = {"id": entity_id, "type": list(types), "attrs": {}}
            if not selector.matches(shell):
                continue
            if on_state:
                current = await self.store.get(tenant, entity_id)
                if current is None or not state.matches(current):
                    continue
            found.append(TemporalEntity(entity_id, types))
        return found

    async def get(self, tenant: str, entity_id: str) -> TemporalEntity:
        await self._tenant(tenant)
        found = await self.store.history_entities(tenant, frozenset({entity_id}))
        if not found:
            raise NotFound(f"entity {entity_id} has no temporal representation")
        return TemporalEntity(*found[0])

    async def series(self, tenant: str, entity_id: str, query: SeriesQuery) -> list[Series]:
        return await self.store.history_series(tenant, entity_id, query)

    async def aggregate(
        self, tenant: str, entity_id: str, attr: str, query: AggregateQuery
    ) -> list[Bucket]:
        return await self.store.history_aggregate(tenant, entity_id, attr, query)

    # -- writes --------------------------------------------------------------------------------

    async def add(
        self, tenant: str, entity_id: str, types: Sequence[str] | None, rows: Sequence[HistoryRow]
    ) -> bool:
        """Add instances (and the entity, with ``types``, if it has no history yet: then True).
        Without ``types`` the entity must have history already."""
        known = await self.store.history_entities(tenant, frozenset({entity_id}))
        if not known and types is None:
            raise NotFound(f"entity {entity_id} has no temporal representation")
        chosen = list(types) if types is not None else list(known[0][1])
        if known and types is not None:
            chosen = list(dict.fromkeys([*known[0][1], *types]))
        await self.store.history_add(tenant, entity_id, chosen, rows)
        return not known

    async def delete_entity(self, tenant: str, entity_id: str) -> None:
        await self.get(tenant, entity_id)
        await self.store.history_delete(tenant, entity_id)

    async def delete_attribute(
        self, tenant: str, entity_id: str, attr: str, dataset: str | None
    ) -> None:
        await self.get(tenant, entity_id)
        if not await self.store.history_delete(tenant, entity_id, attr=attr, dataset=dataset):
            raise NotFound(f"entity {entity_id} has no temporal instances of {attr}")

    async def delete_instance(self, tenant: str, entity_id: str, attr: str, iid: int) -> None:
        await self.get(tenant, entity_id)
        if not await self.store.history_delete(tenant, entity_id, attr=attr, instance=iid):
            raise NotFound(f"attribute {attr} of {entity_id} has no such instance")

    async def modify_instance(
        self, tenant: str, entity_id: str, attr: str, iid: int, row: HistoryRow
    ) -> None:
        await self.get(tenant, entity_id)
        if not await self.store.history_modify(tenant, entity_id, attr, iid, row):
            raise NotFound(f"attribute {attr} of {entity_id} has no such instance")
