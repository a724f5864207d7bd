"""The history rows a committed change adds (``rows_for_change``)."""

from __future__ import annotations

from typing import Any

from twin_server.temporal.model import micros, rows_for_change

AT = "2026-12-02T10:00:00.000001Z"
EARLIER = "2026-12-01T08:00:00Z"
SPEED = "https://example.org/speed"
MODE = "https://example.org/mode"


def prop(value: Any, **extra: Any) -> dict[str, Any]:
    return {
        "type": "Property",
        "value": value,
        "createdAt": EARLIER,
        "modifiedAt": EARLIER,
        **extra,
    }


def entity(**attrs: list[dict[str, Any]]) -> dict[str, Any]:
    names = {"speed": SPEED, "mode": MODE}
    return {
        "id": "urn:ngsi-ld:Pump:1",
        "type": ["Pump"],
        "attrs": {names[k]: v for k, v in attrs.items()},
    }


def test_a_new_value_is_a_row_stamped_with_the_change_time() -> None:
    before = entity(speed=[prop(10)])
    after = entity(speed=[prop(12.5, observedAt="2026-12-02T09:59:59Z")])
    (row,) = rows_for_change(before, after, AT)
    assert (row.entity_id, row.attr, row.number, row.dataset, row.deleted) == (
        "urn:ngsi-ld:Pump:1",
        SPEED,
        12.5,
        "",
        None,
    )
    assert row.instance["createdAt"] == row.instance["modifiedAt"] == AT
    assert row.observed == micros("2026-12-02T09:59:59Z")
    assert row.created == micros(AT)


def test_only_system_times_changed_is_no_row() -> None:
    before = entity(speed=[prop(10)])
    after = entity(speed=[{**prop(10), "modifiedAt": AT}])
    assert rows_for_change(before, after, AT) == []


def test_a_member_added_or_removed_is_a_change() -> None:
    before = entity(speed=[prop(10, unitCode="RPM")])
    assert len(rows_for_change(before, entity(speed=[prop(10)]), AT)) == 1
    assert len(rows_for_change(entity(speed=[prop(10)]), before, AT)) == 1


def test_numbers_are_kept_for_aggregation_only_of_numeric_properties() -> None:
    after = entity(speed=[prop(True)], mode=[prop("auto", datasetId="urn:ds:1")])
    rows = {r.attr: r for r in rows_for_change(None, after, AT)}
    assert rows[SPEED].number is None  # a boolean is not a number here
    assert rows[MODE].number is None
    assert rows[MODE].dataset == "urn:ds:1"


def test_a_removed_attribute_is_a_deletion_marker() -> None:
    before = entity(speed=[prop(10)], mode=[prop("auto", datasetId="urn:ds:1")])
    after = entity(speed=before["attrs"][SPEED])  # untouched: the same instances
    (row,) = rows_for_change(before, after, AT)
    assert row.attr == MODE
    assert row.deleted == micros(AT)
    assert row.number is None
    assert row.dataset == "urn:ds:1"
    assert row.instance["deletedAt"] == AT


def test_an_instance_that_changes_its_dataset_id_is_a_new_row_and_a_deletion_marker() -> None:
    before = entity(mode=[prop("auto", datasetId="urn:ds:1")])
    after = entity(mode=[prop("auto", datasetId="urn:ds:2")])
    rows = sorted(rows_for_change(before, after, AT), key=lambda r: r.dataset)
    assert [(r.dataset, r.deleted) for r in rows] == [
        ("urn:ds:1", micros(AT)),
        ("urn:ds:2", None),
    ]


def test_of_several_instances_only_the_changed_the_new_and_the_gone_make_rows() -> None:
    kept, changed, gone = (
        prop(1, datasetId="urn:ds:a"),
        prop(2, datasetId="urn:ds:b"),
        prop(3, datasetId="urn:ds:c"),
    )
    before = entity(speed=[kept, changed, gone])
    after = entity(speed=[kept, prop(20, datasetId="urn:ds:b"), prop(4, datasetId="urn:ds:d")])
    rows = {r.dataset: r for r in rows_for_change(before, after, AT)}
    assert sorted(rows) == ["urn:ds:b", "urn:ds:c", "urn:ds:d"]
    assert rows["urn:ds:b"].number == 20
    assert rows["urn:ds:c"].deleted == micros(AT)
    assert rows["urn:ds:d"].number == 4


def test_an_attribute_replaced_and_another_removed_in_one_change() -> None:
    before = entity(speed=[prop(10)], mode=[prop("auto")])
    after = entity(speed=[prop(11)])
    rows = {(r.attr, r.deleted is not None) for r in rows_for_change(before, after, AT)}
    assert rows == {(SPEED, False), (MODE, True)}
