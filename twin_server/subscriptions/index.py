"""Which subscriptions a change could concern, without looking at every subscription.

Each subscription is filed under the entity ids its ``entities`` name, else under the type names
of their type expressions, else (an idPattern alone, or no ``entities``) under "any". A change
is then matched exactly (``matching.fires``) against the subscriptions filed under its entity
id, its types and "any" of its tenant: a superset of those it concerns, since every entity a
type expression matches has at least one of its names.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from twin_server.subscriptions.model import Subscription

Key = tuple[str, str]


class TenantIndex:
    def __init__(self) -> None:
        self.by_id: defaultdict[str, set[Key]] = defaultdict(set)
        self.by_type: defaultdict[str, set[Key]] = defaultdict(set)
        self.any: set[Key] = set()


class SubscriptionIndex:
    def __init__(self) -> None:
        self._tenants: defaultdict[str, TenantIndex] = defaultdict(TenantIndex)
        self._filed: dict[Key, list[set[Key]]] = {}

    def add(self, key: Key, subscription: Subscription) -> None:
        self.remove(key)
        tenant = self._tenants[subscription.tenant]
        buckets: list[set[Key]] = []
        for selector in subscription.selectors or (None,):
            if selector is None:
                buckets.append(tenant.any)
            elif selector.ids is not None:
                buckets.extend(tenant.by_id[i] for i in selector.ids)
            elif selector.types is not None:
                buckets.extend(tenant.by_type[t] for t in selector.types.names())
            else:
                buckets.append(tenant.any)
        for bucket in buckets:
            bucket.add(key)
        self._filed[key] = buckets

    def remove(self, key: Key) -> None:
        for bucket in self._filed.pop(key, ()):
            bucket.discard(key)

    def concerns(self, tenant: str, entity_id: str, types: Iterable[str]) -> bool:
        """Whether any subscription of ``tenant`` could concern a change of this entity."""
        index = self._tenants.get(tenant)
        if index is None:
            return False
        if index.any or index.by_id.get(entity_id):
            return True
        return any(index.by_type.get(name) for name in types)

    def candidates(self, tenant: str, entity_id: str, types: Iterable[str]) -> set[Key]:
        """The subscriptions of ``tenant`` that a change of this entity could concern."""
        index = self._tenants.get(tenant)
        if index is None:
            return set()
        found = set(index.any)
        found.update(index.by_id.get(entity_id, ()))
        for name in types:
            found.update(index.by_type.get(name, ()))
        return found
