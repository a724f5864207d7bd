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
