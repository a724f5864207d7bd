"""A query's cost, bounded before it runs: each field costs 1, times the sizes of the lists it
sits in (``twins(first: N)`` counts N, a twin's ``relationships`` / ``incoming`` count
``FANOUT`` each). Deep traversals over big pages are refused with QUERY_TOO_COMPLEX instead
of being allowed to read the whole graph."""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)

FANOUT = 10  # what a relationship list is assumed to hold
DEFAULT_PAGE = 20


def complexity_rule(limit: int) -> type[ValidationRule]:
    class Complexity(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            cost = _cost(self.context, node.selection_set, set())
            if cost > limit:
                self.report_error(
                    GraphQLError(
                        f"the query would cost {cost:,} (fields times the sizes of the lists "
                        f"they are in); the limit is {limit:,}: ask for smaller pages or less "
                        "depth",
                        node,
                        extensions={"code": "QUERY_TOO_COMPLEX"},
                    )
                )

    return Complexity


def _cost(context: ValidationContext, selections: SelectionSetNode | None, seen: set[str]) -> int:
    if selections is None:
        return 0
    total = 0
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            total += 1 + _factor(selection) * _cost(context, selection.selection_set, seen)
        elif isinstance(selection, InlineFragmentNode):
            total += _cost(context, selection.selection_set, seen)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            fragment = context.get_fragment(selection.name.value)
            if fragment is not None:
                inner = seen | {selection.name.value}
                total += _cost(context, fragment.selection_set, inner)
    return total


def _factor(field: FieldNode) -> int:
    name = field.name.value
    if name == "twins":
        for argument in field.arguments or ():
            if argument.name.value == "first" and isinstance(argument.value, IntValueNode):
                return max(int(argument.value.value), 1)
        return DEFAULT_PAGE
    if name in ("relationships", "incoming"):
        return FANOUT
    return 1
