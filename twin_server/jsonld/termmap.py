"""Term maps: JSON-LD term expansion and compaction for names, without running full JSON-LD.

A TermMap is built once per distinct @context from the active context that pyld computes (so
context processing follows JSON-LD 1.1 exactly) and then answers, in a dictionary lookup, what
JSON-LD expansion and compaction would do to an attribute name, an entity type or a vocab value.
``tests/jsonld/test_termmap.py`` checks it against pyld on generated documents.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_KEYWORD_LIKE = re.compile(r"^@[a-zA-Z]+$")


@dataclass(frozen=True, slots=True)
class TermMap:
    """Expansion and compaction of vocabulary-relative IRIs under one active context."""

    terms: Mapping[str, str]
    """term -> IRI, for terms usable as vocabulary names (keyword aliases left out)."""
    prefixes: Mapping[str, str]
    """terms that may be used as the prefix of a compact IRI, -> their IRI."""
    vocab: str | None
    inverse: Mapping[str, str] = field(default_factory=dict)
    """IRI -> the term that compacts an attribute (a blank node object) with that IRI."""
    _compact_cache: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_active_context(cls, active: Mapping[str, Any]) -> TermMap:
        terms: dict[str, str] = {}
        prefixes: dict[str, str] = {}
        candidates: dict[str, list[tuple[int, int, str]]] = {}
        for term, definition in active.get("mappings", {}).items():
            if not definition or definition.get("reverse"):
                continue
            iri = definition.get("@id")
            if not isinstance(iri, str) or iri.startswith("@"):
                continue
            terms[term] = iri
            if definition.get("_prefix"):
                prefixes[term] = iri
            rank = _selection_rank(definition)
            if rank is not None:
                candidates.setdefault(iri, []).append((rank, len(term), term))
        inverse = {iri: min(ranked)[2] for iri, ranked in candidates.items()}
        return cls(terms=terms, prefixes=prefixes, vocab=active.get("@vocab"), inverse=inverse)

    def expand(self, name: str) -> str:
        """Expand a term, compact IRI or IRI used as a vocabulary name (type, attribute)."""
        iri = self.terms.get(name)
        if iri is not None:
            return iri
        prefix, colon, suffix = name.partition(":")
        if colon and prefix:
            if prefix == "_" or suffix.startswith("//"):
                return name
            base = self.prefixes.get(prefix)
            if base is not None:
                return base + suffix
            if _ABSOLUTE_IRI.match(name):
                return name
        if self.vocab is not None:
            return self.vocab + name
        return name

    def compact(self, iri: str) -> str:
        """Compact an IRI used as a vocabulary name, as JSON-LD compaction with vocab=true does."""
        cached = self._compact_cache.get(iri)
        if cached is None:
            cached = self._compact_uncached(iri)
            if len(self._compact_cache) < 100_000:
                self._compact_cache[iri] = cached
        return cached

    def _compact_uncached(self, iri: str) -> str:
        term = self.inverse.get(iri)
        if term is not None:
            return term
        vocab = self.vocab
        if vocab and iri.startswith(vocab) and len(iri) > len(vocab):
            suffix = iri[len(vocab) :]
            if suffix not in self.terms:
                return suffix
        best: str | None = None
        for prefix, base in self.prefixes.items():
            if iri.startswith(base) and len(iri) > len(base):
                candidate = f"{prefix}:{iri[len(base) :]}"
                if candidate in self.terms and self.terms[candidate] != iri:
                    continue
                if best is None or (len(candidate), candidate) < (len(best), best):
                    best = candidate
        return best if best is not None else iri


def is_absolute_iri(value: str) -> bool:
    """True when ``value`` has a URI scheme (what NGSI-LD requires of ids)."""
    return bool(_ABSOLUTE_IRI.match(value)) and not _KEYWORD_LIKE.match(value)


def _selection_rank(definition: Mapping[str, Any]) -> int | None:
    """How JSON-LD term selection ranks a term for a blank node object value (an NGSI-LD
    attribute): ``@id``-typed terms first, then untyped ones; others never (None). Within a rank
    the shortest, then lexicographically least, term wins.
    """
    container = definition.get("@container")
    if container and set(container) - {"@set"}:
        return None
    kind = definition.get("@type")
    if definition.get("@language") is not None or definition.get("@direction") is not None:
        return None
    return {"@id": 0, None: 1}.get(kind)
