"""The twin graph service: the one writer. Every change (REST, GraphQL, adapters, inference)
goes through ``write``: run the operation in the store's transaction, then emit one change event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from twin_server.bus.base import EventBus
from twin_server.core.events import Origin, event_for
from twin_server.core.operations import Operation, Outcome
from twin_server.core.query import EntityQuery
from twin_server.core.types import Entity
from twin_server.core.validation import EntityValidator
from twin_server.errors import NonexistentTenant, NotFound
from twin_server.store.base import DEFAULT_TENANT, Applied, Store


@dataclass(frozen=True, slots=True)
class Page:
    entities: list[Entity]
    total: int | None
    """Every match, when the caller asked for a count."""


class TwinGraph:
    def __init__(
        self, store: Store, bus: EventBus, *, validator: EntityValidator | None = None
    ) -> None:
        self.store = store
        self.bus = bus
        self.validator = validator

    async def check_tenant(self, tenant: str) -> None:
        """Reads on a tenant that was never written to are an error (NonexistentTenant)."""
        if tenant != DEFAULT_TENANT and not await self.store.tenant_exists(tenant):
            raise NonexistentTenant(f"tenant {tenant!r} does not exist")

    async def retrieve(self, tenant: str, entity_id: str) -> Entity:
        entity = await self.store.get(tenant, entity_id)
        if entity is None:
            await self.check_tenant(tenant)
            raise NotFound(f"entity {entity_id} does not exist")
        return entity

    async def query(
        self, tenant: str, query: EntityQuery, *, limit: int, offset: int, count: bool
    ) -> Page:
        await self.check_tenant(tenant)
        if count and query.decided_by_index():
            page = await self.query(tenant, query, limit=limit, offset=offset, count=False)
            return Page(page.entities, await self.store.count(tenant, query.candidates()))
        found: list[Entity] = []
        total = 0
        async for chunk in self.store.scan(tenant, query.candidates()):
            for entity in chunk:
                if not query.matches(entity):
                    continue
                if offset <= total < offset + limit:
                    found.append(entity)
                total += 1
            if not count and total >= offset + limit:
                break
        return Page(found, total if count else None)

    async def write(
        self, tenant: str, entity_id: str, operation: Operation, *, origin: Origin = "api"
    ) -> Applied:
        """Run one operation; raise its error, or return what it did once it is durable."""
        (result,) = await self.write_many(tenant, [(entity_id, operation)], origin=origin)
        if isinstance(result, Exception):
            raise result
        return result

    async def write_many(
        self,
        tenant: str,
        operations: Sequence[tuple[str, Operation]],
        *,
        origin: Origin = "api",
    ) -> list[Applied | Exception]:
        """Run operations (one per entity), committed together; each slot has its own result."""
        if self.validator is not None:
            check = self.validator
            operations = [(eid, _validated(op, check, tenant)) for eid, op in operations]
        results = await self.store.apply(tenant, operations)
        for result in results:
            if isinstance(result, Applied) and result.changed:
                self.bus.publish(
                    event_for(
                        tenant=tenant,
                        before=result.before,
                        after=result.after,
                        origin=origin,
                        at=result.at,
                        seq=result.seq,
                    )
                )
        return results


def _validated(operation: Operation, validator: EntityValidator, tenant: str) -> Operation:
    """The operation, with the entity it produces checked before the store writes it."""

    def run(old: Entity | None, now: str) -> Outcome:
        outcome = operation(old, now)
        if outcome.entity is not None:
            validator(tenant, old, outcome.entity, outcome.updated)
        return outcome

    return run
