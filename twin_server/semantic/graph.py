"""The semantic graph: per tenant, one RDF dataset holding the ontologies, the models and that
tenant's twins (named graphs, queried as their union), behind one lock so the mirror and
SPARQL queries (in worker threads) never see each other half-done."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from rdflib import Dataset, Graph, URIRef
from rdflib.query import Result

from twin_server.modeling.model import ModelSet
from twin_server.semantic.models import model_triples
from twin_server.semantic.twins import attribute_triples, entity_triples
from twin_server.semantic.vocab import PREFIXES

ONTOLOGIES = Path(__file__).resolve().parents[2] / "ontologies"
ONTOLOGY_GRAPH = URIRef("urn:twin-server:graph:ontologies")
MODEL_GRAPH = URIRef("urn:twin-server:graph:models")
TWIN_GRAPH = URIRef("urn:twin-server:graph:twins")


class SemanticGraph:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ontologies = Graph()
        self.models = Graph()
        self._datasets: dict[str, Dataset] = {}
        self._types: dict[str, dict[str, tuple[str, ...]]] = {}
        """Each twin's types by tenant: read without the lock (twin validation uses it)."""

    def load_ontologies(self, folder: Path = ONTOLOGIES) -> int:
        for path in sorted(folder.glob("*.ttl")):
            self.ontologies.parse(path, format="turtle")
        return len(self.ontologies)

    def set_models(self, models: ModelSet) -> None:
        fresh = Graph()
        for triple in model_triples(models):
            fresh.add(triple)
        with self.lock:
            self.models = fresh
            for dataset in self._datasets.values():
                _fill(dataset.graph(MODEL_GRAPH), fresh, clear=True)

    def note_types(self, tenant: str, entity_id: str, entity: Mapping[str, Any] | None) -> None:
        """Record an entity's types (None: it is gone) ahead of its triples, for
        ``types_of``; a plain dict write, so the event loop may call it while a query runs."""
        types = self._types.setdefault(tenant, {})
        if entity is None:
            types.pop(entity_id, None)
        else:
            types[entity_id] = tuple(entity.get("type", ()))

    def replace_entities(
        self, tenant: str, entities: Iterable[tuple[str, Mapping[str, Any] | None]]
    ) -> None:
        """Replace what the graph holds of each entity (None: the entity is gone)."""
        with self.lock:
            twins = self._dataset(tenant).graph(TWIN_GRAPH)
            types = self._types.setdefault(tenant, {})
            for entity_id, entity in entities:
                twins.remove((URIRef(entity_id), None, None))
                if entity is None:
                    types.pop(entity_id, None)
                else:
                    types[entity_id] = tuple(entity.get("type", ()))
                    for triple in entity_triples(entity):
                        twins.add(triple)

    def update_entities(
        self,
        tenant: str,
        changes: Iterable[tuple[str, Mapping[str, Any] | None, Mapping[str, Any] | None]],
    ) -> None:
        """Apply each (id, before, after): only the triples of the attributes that changed
        are removed and added, so an update costs what it changed, not the entity's size."""
        replaced = []
        with self.lock:
            twins = self._dataset(tenant).graph(TWIN_GRAPH)
            for entity_id, before, after in changes:
                if before is None or after is None or before.get("type") != after.get("type"):
                    replaced.append((entity_id, after))
                    continue
                subject = URIRef(entity_id)
                old_attrs, new_attrs = before.get("attrs", {}), after.get("attrs", {})
                for name in {*old_attrs, *new_attrs}:
                    old, new = old_attrs.get(name, ()), new_attrs.get(name, ())
                    if old == new:
                        continue
                    gone = set(attribute_triples(subject, name, old))
                    came = set(attribute_triples(subject, name, new))
                    for triple in gone - came:
                        twins.remove(triple)
                    for triple in came - gone:
                        twins.add(triple)
        if replaced:
            self.replace_entities(tenant, replaced)

    def reset_tenant(self, tenant: str) -> None:
        with self.lock:
            self._dataset(tenant).remove_graph(TWIN_GRAPH)
            self._types[tenant] = {}

    def sources_of(self, tenant: str, entity_id: str) -> list[str]:
        """Ids of the twins with a relationship (or any IRI-valued attribute) to ``entity_id``."""
        with self.lock:
            twins = self._dataset(tenant).graph(TWIN_GRAPH)
            return sorted({str(s) for s in twins.subjects(None, URIRef(entity_id))})

    def types_of(self, tenant: str, entity_id: str) -> tuple[str, ...] | None:
        """The types of an entity as the mirror last saw it (None: not known)."""
        return self._types.get(tenant, {}).get(entity_id)

    def twin_count(self, tenant: str) -> int:
        with self.lock:
            return len(self._dataset(tenant).graph(TWIN_GRAPH))

    def query(self, text: str, tenant: str) -> Result:
        """Run a query and materialise its results, holding the lock (call from a worker)."""
        with self.lock:
            result = self._dataset(tenant).query(text, initNs=dict(PREFIXES))
            if result.type == "SELECT":
                result.bindings = list(result.bindings)
            elif result.type in ("CONSTRUCT", "DESCRIBE") and result.graph is not None:
                copy = Graph()
                _fill(copy, result.graph)
                result.graph = copy
            return result

    def export(self, tenant: str, fmt: str) -> str:
        """The union of the tenant's graphs, serialised (turtle, json-ld)."""
        merged = Graph()
        for name, namespace in PREFIXES.items():
            merged.bind(name, namespace)
        with self.lock:
            for triple in self._dataset(tenant).triples((None, None, None)):
                merged.add(triple)
        return merged.serialize(format=fmt)

    def _dataset(self, tenant: str) -> Dataset:
        dataset = self._datasets.get(tenant)
        if dataset is None:
            dataset = Dataset(default_union=True)
            _fill(dataset.graph(ONTOLOGY_GRAPH), self.ontologies)
            _fill(dataset.graph(MODEL_GRAPH), self.models)
            dataset.graph(TWIN_GRAPH)
            self._datasets[tenant] = dataset
        return dataset


def _fill(target: Graph, source: Graph, *, clear: bool = False) -> None:
    if clear:
        target.remove((None, None, None))
    for triple in source:
        target.add(triple)
