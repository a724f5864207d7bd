"""What every resolver of one GraphQL operation shares: the services, the tenant, the names
in use, and the loader that batches twin reads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from strawberry.dataloader import DataLoader
from strawberry.fastapi import BaseContext

from twin_server.api.graphql.hub import Hub
from twin_server.api.ngsild.context import Services
from twin_server.core.types import Entity
from twin_server.jsonld.termmap import TermMap
from twin_server.store.base import Candidates

TENANT_HEADER = "ngsild-tenant"


class TwinContext(BaseContext):
    def __init__(self, services: Services, hub: Hub, tenant: str, terms: TermMap) -> None:
        super().__init__()
        self.services = services
        self.hub = hub
        self.tenant = tenant
        self.terms = terms
        self.twins: DataLoader[str, Entity | None] = DataLoader(load_fn=self._load)

    async def _load(self, ids: Sequence[str]) -> list[Entity | None]:
        """Every twin asked for in one tick of the operation: one store scan."""
        found: dict[str, Entity] = {}
        candidates = Candidates(ids=frozenset(ids))
        async for chunk in self.services.graph.store.scan(self.tenant, candidates):
            found.update((e["id"], e) for e in chunk)
        return [found.get(i) for i in ids]

    def prime(self, entity: Entity) -> None:
        """A twin read another way (a query) is known to the loader too."""
        self.twins.prime(entity["id"], entity)


_names: list[tuple[object, TermMap]] = []  # the model set they were made for, and them


async def names_in_use(services: Services) -> TermMap:
    """Short names: the core @context with the one generated for every stored DTDL model
    (made once per model set: an upload makes a new set)."""
    models = services.models.models
    if _names and _names[0][0] is models:
        return _names[0][1]
    found = await _names_for(services)
    _names[:] = [(models, found)]
    return found


async def _names_for(services: Services) -> TermMap:
    has_models = bool(services.models.models.interfaces())
    stored = await services.graph.store.get_context("models") if has_models else None
    if stored is None:
        return services.resolver.core
    document: Any = stored[1]
    context = document.get("@context", document) if isinstance(document, dict) else document
    return await services.resolver.term_map(context)
