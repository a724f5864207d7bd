"""Type expressions and scope queries."""

from __future__ import annotations

import pytest

from twin_server.core.selectors import parse_selector, scope_leaf, scope_matches
from twin_server.errors import BadRequestData


@pytest.mark.parametrize(
    ("expression", "types", "expected"),
    [
        ("A", {"A"}, True),
        ("A,B", {"B"}, True),
        ("A|B", {"C"}, False),
        ("A;B", {"A"}, False),
        ("A;B", {"A", "B"}, True),
        ("(A;B)|C", {"C"}, True),
        ("(A|C);B", {"C", "B"}, True),
    ],
)
def test_type_expressions(expression: str, types: set[str], expected: bool) -> None:
    selector = parse_selector(expression, "type", str)
    assert selector.matches(types.__contains__) is expected


@pytest.mark.parametrize("expression", ["", "A;", "(A", "A)", "A,,B"])
def test_invalid_type_expressions_are_rejected(expression: str) -> None:
    with pytest.raises(BadRequestData):
        parse_selector(expression, "type", str)


@pytest.mark.parametrize(
    ("pattern", "scope", "expected"),
    [
        ("/Madrid", "/Madrid", True),
        ("/Madrid", "/Madrid/Centro", False),
        ("/Madrid/#", "/Madrid", True),
        ("/Madrid/#", "/Madrid/Centro/Sol", True),
        ("/Madrid/+", "/Madrid/Centro", True),
        ("/Madrid/+", "/Madrid/Centro/Sol", False),
        ("/#", "/Anywhere", True),
        ("/+/Centro", "/Madrid/Centro", True),
    ],
)
def test_scope_patterns(pattern: str, scope: str, expected: bool) -> None:
    assert scope_matches(scope_leaf(pattern), scope) is expected


def test_invalid_scope_pattern_is_rejected() -> None:
    with pytest.raises(BadRequestData):
        scope_leaf("Madrid#")
