"""Change events: one per committed change to an entity, a sealed family of frozen dataclasses.

Every consumer (NGSI-LD notifications, GraphQL subscriptions, inference, history, the Redis
bridge) reads the same events. ``before`` / ``after`` are the entity as it was and is (expanded
form; treat as read-only).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, NamedTuple

Origin = Literal["api", "adapter", "inference", "rule", "system"]


class AttributeChange(NamedTuple):
    """One attribute that changed: its instances before and after (empty: absent). A named
    tuple: every committed change makes several, and a tuple is made several times faster
    than a frozen dataclass."""

    name: str
    old: tuple[Mapping[str, Any], ...]
    new: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    name: ClassVar[str] = "entity.changed"

    tenant: str
    entity_id: str
    types: tuple[str, ...]
    changes: tuple[AttributeChange, ...]
    origin: Origin
    at: str
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    seq: int = 0
    """The change's place in the store's change log (events of one entity: increasing)."""


@dataclass(frozen=True, slots=True)
class EntityCreated(ChangeEvent):
    name: ClassVar[str] = "entity.created"


@dataclass(frozen=True, slots=True)
class EntityUpdated(ChangeEvent):
    name: ClassVar[str] = "entity.updated"


@dataclass(frozen=True, slots=True)
class EntityDeleted(ChangeEvent):
    name: ClassVar[str] = "entity.deleted"


def event_for(
    *,
    tenant: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    origin: Origin,
    at: str,
    seq: int = 0,
) -> ChangeEvent:
    """The event describing the change from ``before`` to ``after`` (one of them may be None)."""
    entity = after if after is not None else before
    assert entity is not None
    old_attrs = before["attrs"] if before is not None else {}
    new_attrs = after["attrs"] if after is not None else {}
    changes = []  # the names of before, in order, then those only after has
    for name, old in old_attrs.items():
        new = new_attrs.get(name)
        if old is not new and old != new:  # an operation keeps what it does not change
            changes.append(AttributeChange(name, tuple(old), tuple(new) if new else ()))
    for name, new in new_attrs.items():
        if name not in old_attrs:
            changes.append(AttributeChange(name, (), tuple(new)))
    cls = EntityCreated if before is None else EntityDeleted if after is None else EntityUpdated
    return cls(
        tenant=tenant,
        entity_id=entity["id"],
        types=tuple(entity["type"]),
        changes=tuple(changes),
        origin=origin,
        at=at,
        before=before,
        after=after,
        seq=seq,
    )
