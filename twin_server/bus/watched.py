"""Consumers (inference hooks, rules) by id, each concerned with a set of entity types, and the
union of those sets, which a bus filter asks for at every event: worked out again only after the
consumers change, not at each event."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, TypeVar


class Typed(Protocol):
    @property
    def types(self) -> frozenset[str]: ...


T = TypeVar("T", bound=Typed)


class ByTypes(dict[str, T]):
    """A dict of consumers whose ``types()`` is the union of their types."""

    def __init__(self) -> None:
        super().__init__()
        self._union: frozenset[str] | None = frozenset()

    def types(self) -> frozenset[str]:
        union = self._union
        if union is None:
            union = self._union = frozenset().union(*(c.types for c in self.values()))
        return union

    # every way a dict changes drops the union
    def __setitem__(self, key: str, value: T) -> None:
        super().__setitem__(key, value)
        self._union = None

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self._union = None

    def pop(self, key: str, *default: Any) -> Any:
        self._union = None
        return super().pop(key, *default)

    def popitem(self) -> tuple[str, T]:
        self._union = None
        return super().popitem()

    def clear(self) -> None:
        super().clear()
        self._union = None

    def setdefault(self, key: str, default: Any = None) -> Any:
        self._union = None
        return super().setdefault(key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self._union = None

    def __ior__(self, other: Iterable[Any]) -> ByTypes[T]:  # type: ignore[override,misc]
        self.update(other)
        return self
