"""A device message's values become NGSI-LD attributes stamped with the right time: the
message's own (epoch seconds or ISO 8601), else the time it was received, read once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from twin_server.adapters.bindings import AttributeMapping
from twin_server.adapters.convert import Rejected, attributes

RECEIVED = "2026-12-03T10:00:00.000001Z"


def mapping(name: str, source: str, **extra: str) -> AttributeMapping:
    return AttributeMapping.model_validate({"name": name, "source": source, **extra})


def test_values_without_a_time_of_their_own_share_the_time_the_message_was_received() -> None:
    reads: list[str] = []

    def clock() -> str:
        reads.append(RECEIVED)
        return RECEIVED

    found = attributes([mapping("speed", "/rpm"), mapping("t", "/t")], {"rpm": 1, "t": 2}, clock)
    assert found["speed"]["observedAt"] == found["t"]["observedAt"] == RECEIVED
    assert len(reads) == 1


def test_the_message_time_is_taken_and_the_clock_is_not_read() -> None:
    def clock() -> str:
        raise AssertionError("the reception time was asked for")

    stamp = 1764756000.123456
    epoch = attributes([mapping("v", "/v", observedAt="/ts")], {"v": 1, "ts": stamp}, clock)
    expected = datetime.fromtimestamp(stamp, UTC).isoformat(timespec="microseconds")
    assert epoch["v"]["observedAt"] == expected.replace("+00:00", "Z")
    iso = "2026-12-03T09:59:58.5Z"
    text = attributes([mapping("v", "/v", observedAt="/ts")], {"v": 1, "ts": iso}, clock)
    assert text["v"]["observedAt"] == iso


def test_a_message_without_its_time_field_falls_back_to_the_reception_time() -> None:
    found = attributes([mapping("v", "/v", observedAt="/ts")], {"v": 1}, lambda: RECEIVED)
    assert found["v"]["observedAt"] == RECEIVED


@pytest.mark.parametrize(
    ("stamp", "reason"),
    [
        (1e20, "out of range"),
        (float("nan"), "neither ISO 8601 nor epoch seconds"),
        ("yesterday", "not an ISO 8601 date-time"),
        (True, "neither ISO 8601 nor epoch seconds"),
    ],
)
def test_a_time_that_is_no_time_is_refused_with_its_reason(stamp: object, reason: str) -> None:
    with pytest.raises(Rejected, match=reason):
        attributes([mapping("v", "/v", observedAt="/ts")], {"v": 1, "ts": stamp}, lambda: RECEIVED)
