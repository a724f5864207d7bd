"""User regular expressions: ordinary ones compile, catastrophic ones are refused."""

from __future__ import annotations

import pytest

from twin_server.core.patterns import compile_pattern
from twin_server.errors import BadRequestData


@pytest.mark.parametrize(
    "pattern",
    [
        "^urn:ngsi-ld:Pump:.*",
        "a+b*c?",
        "(ab)+",
        "(a|b){2,5}",
        "[a-z]+(-[a-z]+)?",
        "x(?=y)",
        "(?:a+)b",
    ],
)
def test_ordinary_patterns_compile(pattern: str) -> None:
    assert compile_pattern(pattern, "idPattern").pattern == pattern


@pytest.mark.parametrize(
    "pattern", ["(a+)+$", "(a*)*b", "((ab)*)+", "(a|b+)*", "(?:x+y?)+z", "(?=(a+)+)b"]
)
def test_nested_repetition_is_refused_with_a_reason(pattern: str) -> None:
    with pytest.raises(BadRequestData, match="exponential time"):
        compile_pattern(pattern, "idPattern")


def test_overlong_and_invalid_patterns_are_refused() -> None:
    with pytest.raises(BadRequestData, match="longer than"):
        compile_pattern("a" * 300, "idPattern")
    with pytest.raises(BadRequestData, match="not a valid regular expression"):
        compile_pattern("(", "idPattern")
