"""A bus filter on what consumers watch follows every change of the consumers: the union of
their types is worked out again after each change, and only then."""

from __future__ import annotations

from dataclasses import dataclass

from twin_server.bus.base import concerning
from twin_server.bus.watched import ByTypes
from twin_server.core.events import EntityUpdated

PUMP, TANK, VALVE = "ex:Pump", "ex:Tank", "ex:Valve"


@dataclass
class Hook:
    types: frozenset[str]


def event(*types: str, origin: str = "adapter") -> EntityUpdated:
    return EntityUpdated(
        tenant="",
        entity_id="urn:ngsi-ld:X:1",
        types=types,
        changes=(),
        origin=origin,  # type: ignore[arg-type]
        at="2026-12-03T10:00:00.000000Z",
        before=None,
        after=None,
    )


def test_the_union_follows_every_way_the_consumers_change() -> None:
    hooks: ByTypes[Hook] = ByTypes()
    assert hooks.types() == frozenset()
    hooks["a"] = Hook(frozenset({PUMP}))
    assert hooks.types() == {PUMP}
    hooks["b"] = Hook(frozenset({TANK, PUMP}))
    assert hooks.types() == {PUMP, TANK}
    del hooks["b"]
    assert hooks.types() == {PUMP}
    hooks.update(c=Hook(frozenset({VALVE})))
    assert hooks.types() == {PUMP, VALVE}
    hooks |= {"d": Hook(frozenset({TANK}))}
    assert hooks.types() == {PUMP, VALVE, TANK}
    hooks.pop("a")
    assert hooks.types() == {VALVE, TANK}
    hooks.setdefault("e", Hook(frozenset({PUMP})))
    assert hooks.types() == {VALVE, TANK, PUMP}
    hooks.popitem()
    assert hooks.types() == {VALVE, TANK}
    hooks["c"] = Hook(frozenset())  # replaced
    assert hooks.types() == {TANK}
    hooks.clear()
    assert hooks.types() == frozenset()


def test_the_filter_takes_the_watched_types_but_not_the_consumers_own_writes() -> None:
    hooks: ByTypes[Hook] = ByTypes()
    accept = concerning(hooks.types, own="inference")
    assert not accept(event(PUMP))
    hooks["a"] = Hook(frozenset({PUMP}))  # a hook added later is seen at once
    assert accept(event(PUMP))
    assert accept(event(TANK, PUMP))
    assert not accept(event(TANK))
    assert not accept(event(PUMP, origin="inference"))
    del hooks["a"]
    assert not accept(event(PUMP))
