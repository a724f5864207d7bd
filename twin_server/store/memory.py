"""The in-memory store: the reference behaviour of the contract, nothing survives a restart."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson

from twin_server.core.operations import Operation
from twin_server.core.timeutil import now_iso
from twin_server.core.types import Entity
from twin_server.errors import TwinError
from twin_server.store.base import (
    DEFAULT_TENANT,
    Applied,
    AttributeStat,
    Candidates,
    ChangeRecord,
    ModelRecord,
    change_summary,
)
from twin_server.store.memory_history import MemoryHistory

_CHUNK = 500


class MemoryStore(MemoryHistory):
    def __init__(self, url: str = "memory://") -> None:
        super().__init__()
        self.url = url
        self._entities: dict[str, dict[str, Entity]] = {DEFAULT_TENANT: {}}
        self._contexts: dict[str, tuple[str, Any, str]] = {}
        self._models: dict[str, ModelRecord] = {}
        self._changes: list[ChangeRecord] = []
        self._subscriptions: dict[tuple[str, str], Any] = {}
        self._documents: dict[tuple[str, str], Any] = {}
        self._seq = 0

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def get(self, tenant: str, entity_id: str) -> Entity | None:
        found = self._entities.get(tenant, {}).get(entity_id)
        return copy.deepcopy(found) if found is not None else None

    async def apply(
        self, tenant: str, operations: Sequence[tuple[str, Operation]]
    ) -> list[Applied | Exception]:
        table = self._entities.setdefault(tenant, {})
        results: list[Applied | Exception] = []
        for entity_id, operation in operations:
            before = table.get(entity_id)
            now = now_iso()
            try:
                outcome = operation(copy.deepcopy(before) if before else None, now)
                after = outcome.entity
                orjson.dumps(after)  # stored entities are JSON, as in every other backend
            except TwinError as exc:
                results.append(exc)
                continue
            except Exception as exc:  # a bug, or an entity that is not JSON: this one fails alone
                results.append(exc)
                continue
            seq = 0
            if after != before:
                if after is None:
                    table.pop(entity_id, None)
                else:
                    table[entity_id] = copy.deepcopy(after)
                seq = self._log(tenant, entity_id, before, after, now)
                self._record_history(tenant, before, after, now)
            results.append(Applied(before, after, outcome, now, seq))
        return results

    async def scan(self, tenant: str, candidates: Candidates) -> AsyncIterator[list[Entity]]:
        table = self._entities.get(tenant, {})
        chunk: list[Entity] = []
        for entity in list(table.values()):
            if candidates.ids is not None and entity["id"] not in candidates.ids:
                continue
            if candidates.types is not None and candidates.types.isdisjoint(entity["type"]):
                continue
            if candidates.attrs is not None and candidates.attrs.isdisjoint(entity["attrs"]):
                continue
            chunk.append(copy.deepcopy(entity))
            if len(chunk) >= _CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    async def count(self, tenant: str, candidates: Candidates) -> int:
        return sum([len(chunk) async for chunk in self.scan(tenant, candidates)])

    async def tenant_exists(self, tenant: str) -> bool:
        return tenant in self._entities

    async def tenants(self) -> list[str]:
        return sorted(t for t in self._entities if t != DEFAULT_TENANT)

    async def type_counts(self, tenant: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for entity in self._entities.get(tenant, {}).values():
            for t in entity["type"]:
                counts[t] = counts.get(t, 0) + 1
        return counts

    async def attribute_stats(self, tenant: str) -> list[AttributeStat]:
        seen: dict[str, tuple[set[str], set[str], int]] = {}
        for entity in self._entities.get(tenant, {}).values():
            for name, instances in entity["attrs"].items():
                kinds, types, count = seen.get(name, (set(), set(), 0))
                kinds.update(i["type"] for i in instances)
                types.update(entity["type"])
                seen[name] = (kinds, types, count + 1)
        return [AttributeStat(n, frozenset(k), frozenset(t), c) for n, (k, t, c) in seen.items()]

    async def put_context(self, context_id: str, kind: str, document: Any) -> None:
        self._contexts[context_id] = (kind, copy.deepcopy(document), now_iso())

    async def get_context(self, context_id: str) -> tuple[str, Any, str] | None:
        return self._contexts.get(context_id)

    async def list_contexts(self) -> list[tuple[str, str, str]]:
        return [(cid, kind, at) for cid, (kind, _, at) in self._contexts.items()]

    async def delete_context(self, context_id: str) -> bool:
        return self._contexts.pop(context_id, None) is not None

    async def put_models(self, records: Sequence[ModelRecord], contexts: dict[str, Any]) -> None:
        for record in records:
            self._models[record.id] = dataclasses.replace(
                record, document=copy.deepcopy(record.document)
            )
        for context_id, document in contexts.items():
            await self.put_context(context_id, "Hosted", document)

    async def list_models(self) -> list[ModelRecord]:
        return list(self._models.values())

    async def decommission_model(self, model_id: str) -> bool:
        record = self._models.get(model_id)
        if record is None:
            return False
        self._models[model_id] = dataclasses.replace(record, decommissioned=True)
        return True

    async def delete_model(self, model_id: str) -> bool:
        self._contexts.pop(model_id, None)
        return self._models.pop(model_id, None) is not None

    def _log(
        self, tenant: str, entity_id: str, before: Entity | None, after: Entity | None, at: str
    ) -> int:
        self._seq += 1
        kind, types, attrs = change_summary(before, after)
        self._changes.append(ChangeRecord(self._seq, tenant, entity_id, kind, types, attrs, at))
        return self._seq

    async def changes_since(self, seq: int, limit: int) -> list[ChangeRecord]:
        return [c for c in self._changes if c.seq > seq][:limit]

    async def last_seq(self) -> int:
        return self._seq

    async def prune_changes(self, up_to: int) -> None:
        self._changes = [c for c in self._changes if c.seq > up_to]

    async def put_subscription(self, tenant: str, subscription_id: str, record: Any) -> None:
        self._subscriptions[(tenant, subscription_id)] = copy.deepcopy(record)

    async def put_subscriptions(self, records: Sequence[tuple[str, str, Any]]) -> None:
        for tenant, subscription_id, record in records:
            self._subscriptions[(tenant, subscription_id)] = copy.deepcopy(record)

    async def list_subscriptions(self) -> list[tuple[str, str, Any]]:
        return [(t, i, copy.deepcopy(r)) for (t, i), r in self._subscriptions.items()]

    async def delete_subscription(self, tenant: str, subscription_id: str) -> bool:
        return self._subscriptions.pop((tenant, subscription_id), None) is not None

    async def put_document(self, kind: str, document_id: str, record: Any) -> None:
        self._documents[(kind, document_id)] = copy.deepcopy(record)

    async def list_documents(self, kind: str) -> list[tuple[str, Any]]:
        found = sorted((i, r) for (k, i), r in self._documents.items() if k == kind)
        return [(i, copy.deepcopy(r)) for i, r in found]

    async def delete_document(self, kind: str, document_id: str) -> bool:
        return self._documents.pop((kind, document_id), None) is not None
