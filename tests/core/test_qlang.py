"""The q language against expanded entities."""

from __future__ import annotations

import pytest

from twin_server.core.qlang import parse_q
from twin_server.core.types import Entity
from twin_server.errors import BadRequestData

V = "urn:v:"


def expand(name: str) -> str:
    return V + name


def prop(value: object, **meta: object) -> list[dict[str, object]]:
    return [{"type": "Property", "value": value, **meta}]


ENTITY: Entity = {
    "id": "urn:e:1",
    "type": [V + "Pump"],
    "attrs": {
        V + "speed": prop(1450, observedAt="2026-11-24T10:00:00Z", sub={V + "accuracy": prop(0.5)}),
        V + "name": prop("Pump north"),
        V + "tags": prop(["hot", "wet"]),
        V + "address": prop({"city": "Madrid", "zip": {"code": "28001"}}),
        V + "running": prop(True),
        V + "since": prop("2026-01-05T08:00:00Z"),
        V + "feeds": [{"type": "Relationship", "object": "urn:ngsi-ld:Tank:1"}],
        V + "category": [{"type": "VocabProperty", "vocab": [V + "Industrial", V + "Water"]}],
    },
}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("speed", True),
        ("colour", False),
        ("speed==1450", True),
        ("speed!=1450", False),
        ("speed>1000;speed<2000", True),
        ('speed>2000|name=="Pump north"', True),
        ('speed>2000;name=="Pump north"', False),
        ('(speed>2000|running==true);tags=="wet"', True),
        ("speed==1000..1500", True),
        ("speed==1,2,1450", True),
        ('name~="^Pump"', True),
        ('name!~="north$"', False),
        ('address[city]=="Madrid"', True),
        ('address[zip][code]=="28001"', True),
        ("speed.accuracy<1", True),
        ("speed.observedAt>2026-11-01T00:00:00Z", True),
        ("since<2026-02-01T00:00:00Z", True),
        ("feeds==urn:ngsi-ld:Tank:1", True),
        ("feeds==urn:ngsi-ld:Tank:2", False),
        ('speed=="1450"', False),
        ("colour!=1", False),
        ('category=="Water"', True),
        ("category==Industrial", True),
        ("category==Domestic,Water", True),
        ("category!=Water", False),
        ("category==Domestic", False),
    ],
)
def test_q_matches_as_the_specification_says(q: str, expected: bool) -> None:
    assert parse_q(q, expand).matches(ENTITY) is expected


@pytest.mark.parametrize(
    "q",
    [
        "",
        "speed>",
        'speed=="x',
        "(speed",
        "speed)",
        "a[b",
        "speed>1,2",
        'name~="("',
        "level>>",
        "level<=>3",
        "level==!x",
        "level==1..>",
    ],
)
def test_invalid_q_is_rejected_with_its_position(q: str) -> None:
    with pytest.raises(BadRequestData):
        parse_q(q, expand)
