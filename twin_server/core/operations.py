"""The write operations of the twin graph as pure functions: (current entity, now) -> outcome.

The store runs each operation inside its transaction, against the entity as it is at that moment,
so concurrent writes to one entity never lose each other's changes. An operation that raises a
TwinError writes nothing. Inputs are already-ingested (expanded, validated) fragments.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from twin_server.core.types import VALUE_MEMBER, Attrs, Entity, Instance
from twin_server.errors import AlreadyExists, BadRequestData, NotFound


@dataclass(slots=True)
class Outcome:
    """What an operation did: the entity afterwards (None: deleted) and a result for the caller."""

    entity: Entity | None
    updated: list[str] = field(default_factory=list)
    not_updated: list[tuple[str, str]] = field(default_factory=list)
    """(attribute IRI, reason) pairs the operation left alone."""
    created: bool = False


Operation = Callable[[Entity | None, str], Outcome]


def create(entity: Entity) -> Operation:
    def run(old: Entity | None, now: str) -> Outcome:
        if old is not None:
            raise AlreadyExists(f"entity {entity['id']} already exists")
        return Outcome(_new_entity(entity, now), updated=list(entity["attrs"]), created=True)

    return run


def replace(entity: Entity) -> Operation:
    """Replace every attribute (and the types and scope) of an existing entity."""

    def run(old: Entity | None, now: str) -> Outcome:
        current = _existing(old, entity["id"])
        new = _new_entity({**entity, "type": entity.get("type") or current["type"]}, now)
        new["createdAt"] = current["createdAt"]
        return Outcome(new, updated=list(entity["attrs"]))

    return run


def upsert(entity: Entity, *, update_mode: bool) -> Operation:
    """Create, or else replace (default) or update (``update_mode``) the existing entity."""

    def run(old: Entity | None, now: str) -> Outcome:
        if old is None:
            return create(entity)(None, now)
        if update_mode:
            return append(
                entity["id"],
                entity["attrs"],
                types=entity["type"],
                no_overwrite=False,
                scope=entity.get("scope"),
            )(old, now)
        return replace(entity)(old, now)

    return run


def append(
    entity_id: str,
    attrs: Attrs,
    *,
    no_overwrite: bool,
    types: list[str] | None = None,
    scope: list[str] | None = None,
) -> Operation:
    """Add attributes; existing ones are overwritten unless ``no_overwrite``."""

    def run(old: Entity | None, now: str) -> Outcome:
        existing = _existing(old, entity_id)
        new = _copy(existing)
        _add_types(new, types)
        if scope is not None:
            new["scope"] = list(dict.fromkeys([*new.get("scope", []), *scope]))
        changed = new["type"] != existing["type"] or new.get("scope") != existing.get("scope")
        outcome = Outcome(new)
        for name, instances in attrs.items():
            current = new["attrs"].get(name, [])
            clash = [i for i in instances if _find(current, i.get("datasetId")) is not None]
            if no_overwrite and clash:
                outcome.not_updated.append((name, "attribute exists and noOverwrite is set"))
                instances = [i for i in instances if i not in clash]
                if not instances:
                    continue
            new["attrs"][name] = _put_instances(current, instances, now)
            outcome.updated.append(name)
        return _touched(outcome, now, changed=changed)

    return run


def update(entity_id: str, attrs: Attrs) -> Operation:
    """Replace existing attribute instances; attributes that do not exist are not updated."""

    def run(old: Entity | None, now: str) -> Outcome:
        new = _copy(_existing(old, entity_id))
        outcome = Outcome(new)
        for name, instances in attrs.items():
            current = new["attrs"].get(name)
            missing = [
                i
                for i in instances
                if current is None or _find(current, i.get("datasetId")) is None
            ]
            if missing:
                outcome.not_updated.append((name, _missing_reason(current, missing[0])))
                continue
            assert current is not None
            new["attrs"][name] = _put_instances(current, instances, now)
            outcome.updated.append(name)
        return _touched(outcome, now)

    return run


def merge(fragment: Entity) -> Operation:
    """Merge-patch an entity: add or merge the given attributes, ``urn:ngsi-ld:null`` deletes."""

    def run(old: Entity | None, now: str) -> Outcome:
        current = _existing(old, fragment["id"])
        new = _copy(current)
        _add_types(new, fragment.get("type"))
        if "scope" in fragment:
            new["scope"] = fragment["scope"]
        changed = new["type"] != current["type"] or new.get("scope") != current.get("scope")
        outcome = Outcome(new)
        for name, instances in fragment["attrs"].items():
            if not instances:
                if new["attrs"].pop(name, None) is not None:
                    outcome.updated.append(name)
                continue
            new["attrs"][name] = _merge_instances(new["attrs"].get(name, []), instances, now)
            outcome.updated.append(name)
        return _touched(outcome, now, changed=changed)

    return run


def partial_update(entity_id: str, name: str, fragment: Instance) -> Operation:
    """Update some members (value, observedAt, sub-attributes…) of one attribute instance."""

    def run(old: Entity | None, now: str) -> Outcome:
        new = _copy(_existing(old, entity_id))
        current = new["attrs"].get(name)
        dataset = fragment.get("datasetId")
        if current is None or _find(current, dataset) is None:
            raise NotFound(_missing_reason(current, fragment, entity_id=entity_id, name=name))
        new["attrs"][name] = _merge_instances(current, [fragment], now)
        return _touched(Outcome(new, updated=[name]), now)

    return run


def replace_attribute(entity_id: str, name: str, instances: list[Instance]) -> Operation:
    def run(old: Entity | None, now: str) -> Outcome:
        new = _copy(_existing(old, entity_id))
        current = new["attrs"].get(name)
        if current is None:
            raise NotFound(f"entity {entity_id} has no attribute {name}")
        new["attrs"][name] = _put_instances(current, instances, now)
        return _touched(Outcome(new, updated=[name]), now)

    return run


def delete_attribute(
    entity_id: str, name: str, *, dataset_id: str | None, delete_all: bool
) -> Operation:
    def run(old: Entity | None, now: str) -> Outcome:
        new = _copy(_existing(old, entity_id))
        current = new["attrs"].get(name)
        if current is None:
            raise NotFound(f"entity {entity_id} has no attribute {name}")
        if delete_all:
            del new["attrs"][name]
        else:
            kept = [i for i in current if i.get("datasetId") != dataset_id]
            if len(kept) == len(current):
                which = f"datasetId {dataset_id}" if dataset_id else "default instance"
                raise NotFound(f"attribute {name} of {entity_id} has no {which}")
            if kept:
                new["attrs"][name] = kept
            else:
                del new["attrs"][name]
        return _touched(Outcome(new, updated=[name]), now)

    return run


def delete_attributes(entity_id: str, names: list[str]) -> Operation:
    """Remove whole attributes (all their instances); names it does not have are skipped."""

    def run(old: Entity | None, now: str) -> Outcome:
        new = _copy(_existing(old, entity_id))
        removed = [n for n in names if new["attrs"].pop(n, None) is not None]
        return _touched(Outcome(new, updated=removed), now)

    return run


def delete(entity_id: str) -> Operation:
    def run(old: Entity | None, now: str) -> Outcome:
        _existing(old, entity_id)
        return Outcome(None)

    return run


def delete_types(entity_id: str, types: list[str]) -> Operation:
    """Remove types from an entity (refused if that would leave it with none)."""

    def run(old: Entity | None, now: str) -> Outcome:
        new = _copy(_existing(old, entity_id))
        remaining = [t for t in new["type"] if t not in types]
        if not remaining:
            raise BadRequestData("an entity must keep at least one type")
        new["type"] = remaining
        return _touched(Outcome(new), now, changed=True)

    return run


# -- helpers ---------------------------------------------------------------------------------


def _existing(old: Entity | None, entity_id: str) -> Entity:
    if old is None:
        raise NotFound(f"entity {entity_id} does not exist")
    return old


def _copy(entity: Entity) -> Entity:
    new = dict(entity)
    new["attrs"] = dict(entity["attrs"])
    new["type"] = list(entity["type"])
    return new


def _touched(outcome: Outcome, now: str, *, changed: bool = False) -> Outcome:
    """Stamp modifiedAt when the operation changed anything (an all-refused one changes nothing)."""
    assert outcome.entity is not None
    if outcome.updated or changed:
        outcome.entity["modifiedAt"] = now
    return outcome


def _add_types(entity: Entity, types: list[str] | None) -> None:
    for t in types or []:
        if t not in entity["type"]:
            entity["type"].append(t)


def _new_entity(entity: Entity, now: str) -> Entity:
    new: Entity = {"id": entity["id"], "type": list(entity["type"])}
    if entity.get("scope"):
        new["scope"] = list(entity["scope"])
    new["createdAt"] = now
    new["modifiedAt"] = now
    new["attrs"] = {
        name: [_stamp(i, now, None) for i in insts] for name, insts in entity["attrs"].items()
    }
    return new


def _find(instances: list[Instance] | None, dataset: str | None) -> Instance | None:
    for inst in instances or []:
        if inst.get("datasetId") == dataset:
            return inst
    return None


def _missing_reason(
    current: list[Instance] | None,
    inst: Instance,
    *,
    entity_id: str | None = None,
    name: str | None = None,
) -> str:
    where = f" of entity {entity_id}" if entity_id else ""
    label = f"attribute {name}{where}" if name else "attribute"
    if current is None:
        return f"{label} does not exist" if name else "attribute does not exist"
    dataset = inst.get("datasetId")
    return (
        f"{label} has no instance with datasetId {dataset}"
        if dataset
        else (f"{label} has no default instance (without datasetId)")
    )


def _stamp(inst: Instance, now: str, previous: Instance | None) -> Instance:
    out = dict(inst)
    out["createdAt"] = previous["createdAt"] if previous and "createdAt" in previous else now
    out["modifiedAt"] = now
    if "sub" in inst:
        old_sub = previous.get("sub", {}) if previous else {}
        out["sub"] = {
            n: [_stamp(i, now, _find(old_sub.get(n), i.get("datasetId"))) for i in insts]
            for n, insts in inst["sub"].items()
        }
    return out


def _put_instances(current: list[Instance], instances: list[Instance], now: str) -> list[Instance]:
    """Put each new instance in place of the one with its datasetId (or add it)."""
    result = list(current)
    for inst in instances:
        dataset = inst.get("datasetId")
        previous = _find(result, dataset)
        stamped = _stamp(inst, now, previous)
        if previous is None:
            result.append(stamped)
        else:
            result[result.index(previous)] = stamped
    return result


def _merge_instances(
    current: list[Instance], fragments: list[Instance], now: str
) -> list[Instance]:
    result = list(current)
    for fragment in fragments:
        previous = _find(result, fragment.get("datasetId"))
        if previous is None:
            result.append(_stamp(fragment, now, None))
            continue
        result[result.index(previous)] = _merge_one(previous, fragment, now)
    return result


def _merge_one(previous: Instance, fragment: Instance, now: str) -> Instance:
    merged: dict[str, Any] = {k: v for k, v in previous.items() if k != "sub"}
    if "type" in fragment and fragment["type"] != previous.get("type"):
        for member in VALUE_MEMBER.values():
            merged.pop(member, None)
    for key, value in fragment.items():
        if key != "sub":
            merged[key] = value
    sub = copy.copy(previous.get("sub", {}))
    for name, instances in fragment.get("sub", {}).items():
        if not instances:
            sub.pop(name, None)
        else:
            sub[name] = _merge_instances(sub.get(name, []), instances, now)
    if sub:
        merged["sub"] = sub
    merged["modifiedAt"] = now
    return merged
