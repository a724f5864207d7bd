"""What the stores index of an entity: its types, and its attribute names with their kinds."""

from __future__ import annotations

from twin_server.core.types import Entity


def index_terms(entity: Entity | None) -> tuple[frozenset[str], dict[str, str]]:
    """(types, attribute name -> comma-joined kinds) of an entity (empty for None)."""
    if entity is None:
        return frozenset(), {}
    attrs = {
        name: instances[0]["type"]
        if len(instances) == 1
        else ",".join(sorted({i["type"] for i in instances}))
        for name, instances in entity["attrs"].items()
    }
    return frozenset(entity["type"]), attrs


def same_index_terms(before: Entity, after: Entity) -> bool:
    """Whether an update leaves the index terms as they were: the same types and attribute
    names, and each attribute whose instances changed still of the same kinds. (Operations
    keep the instance lists they do not change, so those are not looked into.) False when
    it cannot tell at a glance (types listed in another order): the terms are then compared."""
    if before["type"] != after["type"] or before["attrs"].keys() != after["attrs"].keys():
        return False
    old_attrs = before["attrs"]
    for name, instances in after["attrs"].items():
        old = old_attrs[name]
        if old is instances:
            continue
        if len(old) == 1 and len(instances) == 1:
            if old[0]["type"] != instances[0]["type"]:
                return False
        elif {i["type"] for i in old} != {i["type"] for i in instances}:
            return False
    return True
