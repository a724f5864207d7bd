"""Primitive values against their DTDL schemas: what fits passes, what does not is explained."""

from __future__ import annotations

from typing import Any

import pytest

from twin_server.modeling.model import ModelSet
from twin_server.modeling.standard import standard_element
from twin_server.modeling.values import problem

TERMS = ("double", "float", "integer", "long", "boolean", "string", "dateTime")
MODELS = ModelSet({e.id: e for e in (standard_element(t, 3, "") for t in TERMS)})


def schema(term: str) -> str:
    return standard_element(term, 3, "").id


@pytest.mark.parametrize(
    ("term", "value"),
    [
        ("double", 1.5),
        ("double", 3),
        ("float", -0.0),
        ("integer", 2**31 - 1),
        ("integer", -(2**31)),
        ("long", 2**40),
        ("boolean", False),
        ("string", ""),
        ("dateTime", "2026-12-02T10:00:00Z"),
    ],
)
def test_a_value_that_fits_its_schema_passes(term: str, value: Any) -> None:
    assert problem(MODELS, schema(term), value) is None


@pytest.mark.parametrize(
    ("term", "value", "reason"),
    [
        ("double", True, "True is not a finite number"),
        ("double", float("nan"), "nan is not a finite number"),
        ("float", float("inf"), "inf is not a finite number"),
        ("double", "1", "'1' is not a finite number"),
        ("integer", 2**31, f"{2**31} is out of the range of integer"),
        ("integer", 1.0, "1.0 is not an integer"),
        ("long", True, "True is not an integer"),
        ("long", 2**63, f"{2**63} is out of the range of long"),
        ("boolean", 1, "1 is not a boolean"),
        ("string", 5, "5 is not a string"),
        ("dateTime", "yesterday", "'yesterday' is not a dateTime"),
    ],
)
def test_a_value_that_does_not_fit_is_explained(term: str, value: Any, reason: str) -> None:
    assert problem(MODELS, schema(term), value) == reason


def test_the_path_of_a_misfit_is_named() -> None:
    assert problem(MODELS, schema("double"), None, "motor.temperature") == (
        "None at motor.temperature is not a finite number"
    )
