"""The store contract, run against every backend available here."""

from __future__ import annotations

import asyncio

import pytest

from twin_server.core import operations
from twin_server.core.types import Entity
from twin_server.errors import AlreadyExists, NotFound
from twin_server.store import Candidates, Store
from twin_server.store.base import Applied, ModelRecord

pytestmark = pytest.mark.anyio

T = "https://example.org/"


def entity(n: int, *types: str, **attrs: object) -> Entity:
    return {
        "id": f"urn:ngsi-ld:E:{n}",
        "type": [T + t for t in (types or ("Pump",))],
        "attrs": {T + k: [{"type": "Property", "value": v}] for k, v in attrs.items()},
    }


async def collect(store: Store, tenant: str, candidates: Candidates) -> list[str]:
    return [e["id"] async for chunk in store.scan(tenant, candidates) for e in chunk]


async def test_created_entity_can_be_read_back_with_timestamps(store: Store) -> None:
    (result,) = await store.apply("", [("urn:ngsi-ld:E:1", operations.create(entity(1, speed=3)))])
    assert isinstance(result, Applied)
    assert result.outcome.created
    got = await store.get("", "urn:ngsi-ld:E:1")
    assert got is not None
    assert got["attrs"][T + "speed"][0]["value"] == 3
    assert got["createdAt"] == got["modifiedAt"] == result.at


async def test_failing_operation_writes_nothing_and_others_in_the_call_still_apply(
    store: Store,
) -> None:
    await store.apply("", [("urn:ngsi-ld:E:1", operations.create(entity(1)))])
    results = await store.apply(
        "",
        [
            ("urn:ngsi-ld:E:1", operations.create(entity(1, speed=9))),
            ("urn:ngsi-ld:E:2", operations.create(entity(2))),
            ("urn:ngsi-ld:E:3", operations.delete("urn:ngsi-ld:E:3")),
        ],
    )
    assert isinstance(results[0], AlreadyExists)
    assert isinstance(results[1], Applied)
    assert isinstance(results[2], NotFound)
    e1 = await store.get("", "urn:ngsi-ld:E:1")
    assert e1 is not None
    assert T + "speed" not in e1["attrs"]
    assert await store.get("", "urn:ngsi-ld:E:2") is not None


async def test_concurrent_updates_to_one_entity_are_not_lost(store: Store) -> None:
    await store.apply("", [("urn:ngsi-ld:E:1", operations.create(entity(1)))])

    async def add(k: int) -> None:
        attrs = {f"{T}a{k}": [{"type": "Property", "value": k}]}
        op = operations.append("urn:ngsi-ld:E:1", attrs, no_overwrite=False)
        await store.apply("", [("urn:ngsi-ld:E:1", op)])

    await asyncio.gather(*(add(k) for k in range(50)))
    got = await store.get("", "urn:ngsi-ld:E:1")
    assert got is not None
    assert len(got["attrs"]) == 50


async def seed_four(store: Store) -> None:
    """E:0 Pump (speed), E:1 Tank (level), E:2 Pump and Tank, E:3 Valve (speed)."""
    mixed = [
        entity(0, "Pump", speed=1),
        entity(1, "Tank", level=2),
        entity(2, "Pump", "Tank"),
        entity(3, "Valve", speed=4),
    ]
    await store.apply(
        "", [(f"urn:ngsi-ld:E:{n}", operations.create(e)) for n, e in enumerate(mixed)]
    )


async def test_scan_narrows_by_ids_types_and_attributes_in_creation_order(store: Store) -> None:
    await seed_four(store)
    assert await collect(store, "", Candidates()) == [f"urn:ngsi-ld:E:{n}" for n in range(4)]
    assert await collect(store, "", Candidates(types=frozenset({T + "Tank"}))) == [
        "urn:ngsi-ld:E:1",
        "urn:ngsi-ld:E:2",
    ]
    assert await collect(store, "", Candidates(attrs=frozenset({T + "speed"}))) == [
        "urn:ngsi-ld:E:0",
        "urn:ngsi-ld:E:3",
    ]
    assert await collect(
        store, "", Candidates(ids=frozenset({"urn:ngsi-ld:E:3"}), types=frozenset({T + "Valve"}))
    ) == ["urn:ngsi-ld:E:3"]


async def test_count_agrees_with_scan(store: Store) -> None:
    await seed_four(store)
    for candidates in (
        Candidates(),
        Candidates(types=frozenset({T + "Tank"})),
        Candidates(types=frozenset({T + "Tank", T + "Valve"})),
        Candidates(attrs=frozenset({T + "speed"})),
        Candidates(
            ids=frozenset({"urn:ngsi-ld:E:0", "urn:ngsi-ld:E:1"}), types=frozenset({T + "Pump"})
        ),
    ):
        assert await store.count("", candidates) == len(await collect(store, "", candidates))
    assert await store.count("other", Candidates()) == 0


async def test_scan_streams_more_than_one_chunk(store: Store) -> None:
    ops = [(f"urn:ngsi-ld:E:{n}", operations.create(entity(n))) for n in range(1203)]
    await store.apply("", ops)
    ids = await collect(store, "", Candidates(types=frozenset({T + "Pump"})))
    assert len(ids) == 1203
    assert len(set(ids)) == 1203


async def test_tenants_are_isolated(store: Store) -> None:
    await store.apply("acme", [("urn:ngsi-ld:E:1", operations.create(entity(1)))])
    assert await store.get("", "urn:ngsi-ld:E:1") is None
    assert await store.get("acme", "urn:ngsi-ld:E:1") is not None
    assert await store.tenant_exists("acme")
    assert not await store.tenant_exists("other")
    assert await store.tenants() == ["acme"]
    assert await collect(store, "", Candidates()) == []


async def test_index_follows_type_and_attribute_changes(store: Store) -> None:
    await store.apply("", [("urn:ngsi-ld:E:1", operations.create(entity(1, speed=1)))])
    op = operations.append(
        "urn:ngsi-ld:E:1",
        {T + "level": [{"type": "Property", "value": 2}]},
        no_overwrite=False,
        types=[T + "Tank"],
    )
    await store.apply("", [("urn:ngsi-ld:E:1", op)])
    await store.apply(
        "",
        [
            (
                "urn:ngsi-ld:E:1",
                operations.delete_attribute(
                    "urn:ngsi-ld:E:1", T + "speed", dataset_id=None, delete_all=True
                ),
            )
        ],
    )
    assert await store.type_counts("") == {T + "Pump": 1, T + "Tank": 1}
    stats = {s.name: s for s in await store.attribute_stats("")}
    assert set(stats) == {T + "level"}
    assert stats[T + "level"].kinds == {"Property"}
    assert stats[T + "level"].types == {T + "Pump", T + "Tank"}
    assert await collect(store, "", Candidates(attrs=frozenset({T + "speed"}))) == []
    await store.apply("", [("urn:ngsi-ld:E:1", operations.delete("urn:ngsi-ld:E:1"))])
    assert await store.type_counts("") == {}


async def test_hosted_contexts_are_stored(store: Store) -> None:
    await store.put_context("c1", "Hosted", {"@context": {"a": "http://a/"}})
    found = await store.get_context("c1")
    assert found is not None
    assert found[:2] == ("Hosted", {"@context": {"a": "http://a/"}})
    assert [c[0] for c in await store.list_contexts()] == ["c1"]
    assert await store.delete_context("c1")
    assert not await store.delete_context("c1")
    assert await store.get_context("c1") is None


async def test_an_unstorable_entity_fails_alone_and_the_store_keeps_working(store: Store) -> None:
    from twin_server.core.operations import Outcome

    def unstorable(old: Entity | None, now: str) -> Outcome:
        bad = entity(9)
        bad["attrs"][T + "x"] = [{"type": "Property", "value": {1, 2}}]  # a set: not JSON
        bad.update(createdAt=now, modifiedAt=now)
        return Outcome(bad, created=True)

    (result,) = await asyncio.wait_for(store.apply("", [("urn:ngsi-ld:E:9", unstorable)]), 5)
    assert isinstance(result, Exception)
    assert await store.get("", "urn:ngsi-ld:E:9") is None
    (ok,) = await asyncio.wait_for(
        store.apply("", [("urn:ngsi-ld:E:1", operations.create(entity(1)))]), 5
    )
    assert isinstance(ok, Applied)


async def test_models_are_stored_with_their_contexts_listed_decommissioned_and_deleted(
    store: Store,
) -> None:
    pump = {"@id": "dtmi:ex:Pump;1", "@type": "Interface"}
    tank = {"@id": "dtmi:ex:Tank;1", "@type": "Interface"}
    await store.put_models(
        [ModelRecord("dtmi:ex:Pump;1", pump, "t1"), ModelRecord("dtmi:ex:Tank;1", tank, "t2")],
        {"dtmi:ex:Pump;1": {"@context": {"Pump": "dtmi:ex:Pump;1"}}},
    )
    listed = await store.list_models()
    assert [(m.id, m.document, m.decommissioned) for m in listed] == [
        ("dtmi:ex:Pump;1", pump, False),
        ("dtmi:ex:Tank;1", tank, False),
    ]
    assert (await store.get_context("dtmi:ex:Pump;1")) is not None
    assert await store.decommission_model("dtmi:ex:Tank;1")
    assert [m.decommissioned for m in await store.list_models()] == [False, True]
    assert await store.delete_model("dtmi:ex:Pump;1")
    assert not await store.delete_model("dtmi:ex:Pump;1")
    assert await store.get_context("dtmi:ex:Pump;1") is None
    assert [m.id for m in await store.list_models()] == ["dtmi:ex:Tank;1"]


async def test_every_change_is_logged_in_commit_order_and_the_log_can_be_pruned(
    store: Store,
) -> None:
    created, second = await store.apply(
        "",
        [
            ("urn:ngsi-ld:E:1", operations.create(entity(1, speed=1))),
            ("urn:ngsi-ld:E:2", operations.create(entity(2))),
        ],
    )
    assert isinstance(created, Applied)
    assert isinstance(second, Applied)
    (updated,) = await store.apply(
        "t1", [("urn:ngsi-ld:E:1", operations.create(entity(1, speed=2)))]
    )
    (deleted,) = await store.apply("", [("urn:ngsi-ld:E:2", operations.delete("urn:ngsi-ld:E:2"))])
    assert isinstance(updated, Applied)
    assert isinstance(deleted, Applied)
    assert created.seq < second.seq < updated.seq < deleted.seq
    log = await store.changes_since(0, 10)
    assert [(c.seq, c.tenant, c.entity_id, c.kind) for c in log] == [
        (created.seq, "", "urn:ngsi-ld:E:1", "created"),
        (second.seq, "", "urn:ngsi-ld:E:2", "created"),
        (updated.seq, "t1", "urn:ngsi-ld:E:1", "created"),
        (deleted.seq, "", "urn:ngsi-ld:E:2", "deleted"),
    ]
    assert log[0].types == (T + "Pump",)
    assert log[0].attrs == (T + "speed",)
    assert await store.last_seq() == deleted.seq
    assert [c.seq for c in await store.changes_since(created.seq, 2)] == [
        second.seq,
        updated.seq,
    ]
    await store.prune_changes(updated.seq)
    assert [c.seq for c in await store.changes_since(0, 10)] == [deleted.seq]


async def test_subscriptions_are_stored_per_tenant(store: Store) -> None:
    await store.put_subscription("", "urn:s:1", {"document": {"a": 1}})
    await store.put_subscription("east", "urn:s:1", {"document": {"a": 2}})
    await store.put_subscription("", "urn:s:1", {"document": {"a": 3}})
    assert sorted(await store.list_subscriptions()) == [
        ("", "urn:s:1", {"document": {"a": 3}}),
        ("east", "urn:s:1", {"document": {"a": 2}}),
    ]
    assert await store.delete_subscription("east", "urn:s:1")
    assert not await store.delete_subscription("east", "urn:s:1")
    assert [t for t, _, _ in await store.list_subscriptions()] == [""]


async def test_several_subscriptions_are_stored_at_once(store: Store) -> None:
    await store.put_subscription("", "urn:s:1", {"cursor": 1})
    await store.put_subscriptions([("", "urn:s:1", {"cursor": 5}), ("east", "urn:s:2", {"c": 2})])
    assert sorted(await store.list_subscriptions()) == [
        ("", "urn:s:1", {"cursor": 5}),
        ("east", "urn:s:2", {"c": 2}),
    ]


async def test_documents_are_kept_per_kind_and_replaced_by_id(store: Store) -> None:
    await store.put_document("binding", "b2", {"adapter": "mqtt"})
    await store.put_document("binding", "b1", {"adapter": "opcua"})
    await store.put_document("hook", "b1", {"model": "m"})
    await store.put_document("binding", "b2", {"adapter": "mqtt", "v": 2})
    assert await store.list_documents("binding") == [
        ("b1", {"adapter": "opcua"}),
        ("b2", {"adapter": "mqtt", "v": 2}),
    ]
    assert await store.delete_document("binding", "b1")
    assert not await store.delete_document("binding", "b1")
    assert await store.list_documents("binding") == [("b2", {"adapter": "mqtt", "v": 2})]
    assert await store.list_documents("hook") == [("b1", {"model": "m"})]
