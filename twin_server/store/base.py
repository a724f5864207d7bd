"""The store contract. Every backend passes ``tests/store/test_contract.py``.

Writes go through ``apply``: a list of (entity id, operation) pairs run atomically per entity
against the entity's current state, all committed together; the call returns once they are
durable. An operation that raises TwinError writes nothing for its entity and is reported in its
slot of the result; the others still happen (that is what batch operations need).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from twin_server.core.operations import Operation, Outcome
from twin_server.core.types import Entity
from twin_server.temporal.model import AggregateQuery, Bucket, HistoryRow, Series, SeriesQuery

DEFAULT_TENANT = ""
"""The tenant of requests without an NGSILD-Tenant header; it always exists."""


@dataclass(frozen=True, slots=True)
class Applied:
    """A committed (or no-op) operation: the entity before and after, and the outcome."""

    before: Entity | None
    after: Entity | None
    outcome: Outcome
    at: str
    seq: int = 0
    """The change's place in the change log (0: nothing changed, nothing logged)."""

    @property
    def changed(self) -> bool:
        """Every change is logged (seq 1 and up), so this needs no second comparison of the
        whole entity before and after."""
        return self.seq != 0


@dataclass(frozen=True, slots=True)
class AttributeStat:
    """What discovery reports of one attribute name in one tenant."""

    name: str
    kinds: frozenset[str]
    types: frozenset[str]
    count: int


@dataclass(frozen=True, slots=True)
class Candidates:
    """Index-level narrowing of a query; the core's matcher decides the rest."""

    ids: frozenset[str] | None = None
    types: frozenset[str] | None = None
    """Entities with at least one of these types."""
    attrs: frozenset[str] | None = None
    """Entities with at least one of these attributes."""


@dataclass(frozen=True, slots=True)
class ChangeRecord:
    """One entry of the change log: which entity changed, how, and what it touched. Consumers
    that fell behind the bus (or restarted) catch up from here, reading the entity as it is."""

    seq: int
    tenant: str
    entity_id: str
    kind: str  # created, updated, deleted
    types: tuple[str, ...]
    attrs: tuple[str, ...]
    at: str


def change_summary(
    before: Entity | None, after: Entity | None
) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """(kind, types, attributes touched) of a change, as the change log keeps it."""
    entity = after if after is not None else before
    assert entity is not None
    kind = "created" if before is None else "deleted" if after is None else "updated"
    old = before["attrs"] if before is not None else {}
    new = after["attrs"] if after is not None else {}
    touched = [n for n, was in old.items() if (now := new.get(n)) is not was and now != was]
    touched.extend(n for n in new if n not in old)  # before's names in order, then the new
    return kind, tuple(entity["type"]), tuple(touched)


@dataclass(frozen=True, slots=True)
class ModelRecord:
    """A stored DTDL Interface: its document as uploaded, and its metadata."""

    id: str
    document: Any
    upload_time: str
    decommissioned: bool = False


class Store(Protocol):
    url: str

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def get(self, tenant: str, entity_id: str) -> Entity | None: ...

    async def apply(
        self, tenant: str, operations: Sequence[tuple[str, Operation]]
    ) -> list[Applied | Exception]:
        """Run the operations in one commit. Calls are committed in the order they are made,
        also while earlier ones are still unanswered (device ingestion keeps two in flight)."""
        ...

    def scan(self, tenant: str, candidates: Candidates) -> AsyncIterator[list[Entity]]:
        """Candidate entities in a stable order (creation order), in chunks."""
        ...

    async def count(self, tenant: str, candidates: Candidates) -> int:
        """How many entities ``scan`` would yield, counted by the store itself."""
        ...

    async def tenant_exists(self, tenant: str) -> bool: ...

    async def tenants(self) -> list[str]: ...

    async def type_counts(self, tenant: str) -> dict[str, int]: ...

    async def attribute_stats(self, tenant: str) -> list[AttributeStat]: ...

    async def put_context(self, context_id: str, kind: str, document: Any) -> None: ...

    async def get_context(self, context_id: str) -> tuple[str, Any, str] | None:
        """(kind, document, createdAt) of a stored @context, or None."""
        ...

    async def list_contexts(self) -> list[tuple[str, str, str]]:
        """(id, kind, createdAt) of every stored @context."""
        ...

    async def delete_context(self, context_id: str) -> bool: ...

    async def put_models(self, records: Sequence[ModelRecord], contexts: dict[str, Any]) -> None:
        """Store models and their generated @contexts (hosted, by id), all or nothing."""

    async def list_models(self) -> list[ModelRecord]:
        """Every stored model, in upload order."""
        ...

    async def decommission_model(self, model_id: str) -> bool: ...

    async def delete_model(self, model_id: str) -> bool:
        """Delete a model and the @context generated for it; False if there was none."""
        ...

    async def changes_since(self, seq: int, limit: int) -> list[ChangeRecord]:
        """Change log entries after ``seq``, oldest first (at most ``limit``)."""
        ...

    async def last_seq(self) -> int:
        """The newest change log entry's seq (0 when the log is empty)."""
        ...

    async def prune_changes(self, up_to: int) -> None:
        """Forget change log entries up to ``up_to`` (inclusive)."""

    async def put_subscription(self, tenant: str, subscription_id: str, record: Any) -> None:
        """Store (or replace) an NGSI-LD subscription's record (a JSON document)."""

    async def put_subscriptions(self, records: Sequence[tuple[str, str, Any]]) -> None:
        """Store several (tenant, id, record) at once, in one transaction."""

    async def list_subscriptions(self) -> list[tuple[str, str, Any]]:
        """(tenant, id, record) of every stored subscription."""
        ...

    async def delete_subscription(self, tenant: str, subscription_id: str) -> bool: ...

    # Configuration documents of a kind (adapter bindings, …), by id; durable when it returns.
    async def put_document(self, kind: str, document_id: str, record: Any) -> None: ...

    async def list_documents(self, kind: str) -> list[tuple[str, Any]]:
        """Every document of ``kind`` as (id, record), by id."""
        ...

    async def delete_document(self, kind: str, document_id: str) -> bool: ...

    # -- entity history (the temporal API; see twin_server/temporal/model.py) ----------------
    # ``apply`` records the history of every committed change in the same transaction.

    async def history_entities(
        self, tenant: str, ids: frozenset[str] | None = None
    ) -> list[tuple[str, tuple[str, ...]]]:
        """(id, types) of the entities with history, by id (``ids``: only these)."""
        ...

    async def history_series(self, tenant: str, entity_id: str, query: SeriesQuery) -> list[Series]:
        """The entity's series that ``query`` asks for, each oldest first (empty ones left out)."""
        ...

    async def history_aggregate(
        self, tenant: str, entity_id: str, attr: str, query: AggregateQuery
    ) -> list[Bucket]:
        """The attribute's instances in ``query.time``, aggregated per period."""
        ...

    async def history_add(
        self, tenant: str, entity_id: str, types: Sequence[str], rows: Sequence[HistoryRow]
    ) -> None:
        """Add history instances directly (the temporal API's writes), durably."""

    async def history_delete(
        self,
        tenant: str,
        entity_id: str,
        *,
        attr: str | None = None,
        dataset: str | None = None,
        instance: int | None = None,
    ) -> int:
        """Delete history: the whole entity's, one attribute's (of one dataset: ``dataset``,
        "" the default instance; None every one), or one instance. How many were deleted."""
        ...

    async def history_modify(
        self, tenant: str, entity_id: str, attr: str, instance: int, row: HistoryRow
    ) -> bool:
        """Replace one history instance, keeping its id and createdAt; False if unknown."""
        ...

    async def history_prune(
        self, tenant: str, *, older_than: int | None = None, keep_last: int | None = None
    ) -> int:
        """Retention: delete instances observed before ``older_than`` (µs since the epoch)
        and all but the ``keep_last`` newest of each series. How many were deleted."""
        ...
