"""What is worked out once per model set: a model set is replaced, never changed, when models
change, so a result computed from one stays right for as long as that set is the one in use.

Results are kept by the set's ``id()`` beside a weak reference to the set, and a hit must be
that very set: an id can be reused once an old set is garbage collected, and a result of the
old set must never answer for the new one. The memo does not keep a set alive: when one is
collected, its results go with it.
"""

from __future__ import annotations

import weakref
from collections.abc import Hashable
from typing import Generic, TypeVar

from twin_server.modeling.model import ModelSet

V = TypeVar("V")


class PerModelSet(Generic[V]):
    """Results by (model set, key); at most ``limit`` per set (past it, the set's are dropped)."""

    def __init__(self, limit: int = 1024) -> None:
        self.limit = limit
        self._sets: dict[int, tuple[weakref.ref[ModelSet], dict[Hashable, V]]] = {}

    def find(self, models: ModelSet, key: Hashable) -> V | None:
        """The result kept for this very set and key, or None."""
        kept = self._sets.get(id(models))
        if kept is None or kept[0]() is not models:
            return None
        return kept[1].get(key)

    def keep(self, models: ModelSet, key: Hashable, value: V) -> V:
        number = id(models)
        kept = self._sets.get(number)
        if kept is None or kept[0]() is not models:
            kept = self._sets[number] = (weakref.ref(models, self._gone), {})
        results = kept[1]
        if len(results) >= self.limit:
            results.clear()
        results[key] = value
        return value

    def __len__(self) -> int:
        """The results kept, over the sets alive."""
        return sum(len(results) for ref, results in self._sets.values() if ref() is not None)

    def _gone(self, ref: weakref.ref[ModelSet]) -> None:
        for number, (kept, _) in list(self._sets.items()):
            if kept is ref:
                del self._sets[number]
