"""The model repository: the one writer of DTDL models. It validates uploads against the
stored models (all or nothing), keeps the parsed model set in memory, and answers the models
API's questions (dependencies, decommissioning, whether a model may be deleted)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from twin_server.core.timeutil import now_iso
from twin_server.errors import AlreadyExists, InUse, NotFound
from twin_server.modeling.graph import dependencies, top_level
from twin_server.modeling.ldcontext import ALL_MODELS, interface_context, models_context
from twin_server.modeling.model import ModelSet
from twin_server.modeling.parser import Options, parse_texts
from twin_server.modeling.resolver import Resolver
from twin_server.store.base import ModelRecord, Store

STORED = "model:"  # source name prefix of stored models given to the parser

# How many twins of a type exist (all tenants): a model with twins is not deleted.
TwinCounter = Callable[[str], Awaitable[int]]


class ModelRepository:
    def __init__(
        self,
        store: Store,
        *,
        twins_of: TwinCounter | None = None,
        repository: Resolver | None = None,
    ) -> None:
        self.store = store
        self._folder = repository
        self.models = ModelSet()
        self.records: dict[str, ModelRecord] = {}
        self._twins_of = twins_of
        self._lock = asyncio.Lock()
        self._dependencies: dict[str, set[str]] | None = None
        self.listeners: list[Callable[[ModelSet], Awaitable[None]]] = []
        """Called with the new model set after every change (the semantic graph listens)."""

    async def load(self) -> None:
        """Read the stored models and parse them together (they were valid when stored)."""
        records = await self.store.list_models()
        self.records = {r.id: r for r in records}
        if records:
            sources = [(STORED + r.id, json.dumps(r.document)) for r in records]
            self.models = await asyncio.to_thread(parse_texts, sources)
        self._dependencies = None

    # -- writes ------------------------------------------------------------------------------

    async def add(
        self, sources: Sequence[tuple[str, str]], *, options: Options | None = None
    ) -> list[ModelRecord]:
        """Validate and store the Interfaces of ``sources``; raise ``ModelError`` (nothing
        stored) or ``AlreadyExists``."""
        async with self._lock:
            fetched: dict[str, str] = {}
            parsed = await asyncio.to_thread(
                parse_texts, sources, options=options, resolver=self._resolver(fetched)
            )
            # models found in the repository folder are stored with the upload: the store
            # stays self-contained
            documents = _top_level_documents([*sources, *fetched.items()])
            taken = sorted(i for i in documents if i in self.records)
            if taken:
                raise AlreadyExists(
                    f"model {', '.join(taken)} already exists; models are immutable: upload a "
                    "new version under a new DTMI (…;2)."
                )
            merged = dict(self.models.elements)  # a new set: validators read the old meanwhile
            for element_id, element in parsed.elements.items():
                merged.setdefault(element_id, element)
            combined = ModelSet(merged)
            at = now_iso()
            records = [ModelRecord(i, doc, at) for i, doc in documents.items()]
            contexts = {i: interface_context(parsed, i) for i in documents}
            contexts[ALL_MODELS] = models_context(combined, [*self.records, *documents])
            await self.store.put_models(records, contexts)
            self.models = combined
            self.records.update((r.id, r) for r in records)
            self._dependencies = None
            await self._notify()
            return records

    async def decommission(self, model_id: str) -> None:
        async with self._lock:
            self._require(model_id)
            await self.store.decommission_model(model_id)
            record = self.records[model_id]
            self.records[model_id] = ModelRecord(
                record.id, record.document, record.upload_time, True
            )

    async def delete(self, model_id: str) -> None:
        async with self._lock:
            self._require(model_id)
            users = sorted(
                i for i, deps in self.dependency_map().items() if model_id in deps and i != model_id
            )
            if users:
                raise InUse(f"model {model_id} is used by {', '.join(users)}; delete those first.")
            twins = await self._twins_of(model_id) if self._twins_of else 0
            if twins:
                raise InUse(
                    f"model {model_id} has {twins} twin(s); delete them (or their type) first."
                )
            await self.store.delete_model(model_id)
            del self.records[model_id]
            self.models = ModelSet(
                {
                    i: e
                    for i, e in self.models.elements.items()
                    if e.standard or top_level(self.models, e).id != model_id
                }
            )
            self._dependencies = None
            await self.store.put_context(
                ALL_MODELS, "Hosted", models_context(self.models, list(self.records))
            )
            await self._notify()

    async def _notify(self) -> None:
        for listener in self.listeners:
            await listener(self.models)

    # -- reads -------------------------------------------------------------------------------

    def get(self, model_id: str) -> ModelRecord:
        return self._require(model_id)

    def dependency_map(self) -> dict[str, set[str]]:
        if self._dependencies is None:
            self._dependencies = dependencies(self.models)
        return self._dependencies

    def with_dependencies(self, model_ids: Sequence[str]) -> list[ModelRecord]:
        """The models named and everything they depend on, directly or not."""
        wanted: list[str] = []
        pending = list(model_ids)
        for model_id in pending:
            self._require(model_id)
        while pending:
            current = pending.pop(0)
            if current in wanted:
                continue
            wanted.append(current)
            pending.extend(sorted(self.dependency_map().get(current, ())))
        return [self.records[i] for i in wanted if i in self.records]

    def listing(self) -> list[ModelRecord]:
        return list(self.records.values())

    def is_usable(self, model_id: str) -> bool:
        """A model new twins may use: stored and not decommissioned."""
        record = self.records.get(model_id)
        return record is not None and not record.decommissioned

    def _require(self, model_id: str) -> ModelRecord:
        record = self.records.get(model_id)
        if record is None:
            raise NotFound(f"there is no model {model_id}")
        return record

    def _resolver(self, fetched: dict[str, str]) -> Resolver:
        """Stored models first, then the repository folder (recording what it gave)."""

        def resolve(identifiers: Sequence[str]) -> dict[str, str]:
            found = self._stored(identifiers)
            rest = [i for i in identifiers if i not in self.records]
            if rest and self._folder is not None:
                extra = self._folder(rest)
                fetched.update(extra)
                found.update(extra)
            return found

        return resolve

    def _stored(self, identifiers: Sequence[str]) -> dict[str, str]:
        return {
            STORED + i: json.dumps(self.records[i].document)
            for i in identifiers
            if i in self.records
        }


def _top_level_documents(sources: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The top-level Interface documents of already-parsed sources, by @id."""
    found: dict[str, Any] = {}
    for _, text in sources:
        value = json.loads(text)
        for item in value if isinstance(value, list) else [value]:
            found[item["@id"]] = item
    return found
