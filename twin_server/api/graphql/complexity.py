"""A query's cost, bounded before it runs: each field costs 1, times the sizes of the lists it
sits in (``twins(first: N)`` counts N, any other list of objects, such as a twin's
``relationships``, ``incoming`` or a typed relationship field, counts ``FANOUT``). Deep
traversals over big pages are refused with QUERY_TOO_COMPLEX instead of being allowed to read
the whole graph."""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    get_named_type,
    get_nullable_type,
    is_composite_type,
    is_list_type,
)

FANOUT = 10  # what a relationship list is assumed to hold
DEFAULT_PAGE = 20


def complexity_rule(limit: int) -> type[ValidationRule]:
    class Complexity(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            root = self.context.schema.get_root_type(node.operation)
            cost = _cost(self.context, node.selection_set, root, set())
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


def _cost(
    context: ValidationContext,
    selections: SelectionSetNode | None,
    parent: GraphQLNamedType | None,
    seen: set[str],
) -> int:
    if selections is None:
        return 0
    total = 0
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            field = _field(parent, selection.name.value)
            inner = get_named_type(field.type) if field is not None else None
            factor = _factor(selection, field)
            total += 1 + factor * _cost(context, selection.selection_set, inner, seen)
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            inner = context.schema.get_type(condition.name.value) if condition else parent
            total += _cost(context, selection.selection_set, inner, seen)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            fragment = context.get_fragment(selection.name.value)
            if fragment is not None:
                inner = context.schema.get_type(fragment.type_condition.name.value)
                names = seen | {selection.name.value}
                total += _cost(context, fragment.selection_set, inner, names)
    return total


def _field(parent: GraphQLNamedType | None, name: str) -> GraphQLField | None:
    if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        found: GraphQLField | None = parent.fields.get(name)
        return found
    return None


def _factor(node: FieldNode, field: GraphQLField | None) -> int:
    name = node.name.value
    if name == "twins":
        for argument in node.arguments or ():
            if argument.name.value == "first" and isinstance(argument.value, IntValueNode):
                return max(int(argument.value.value), 1)
        return DEFAULT_PAGE
    if name == "edges" or field is None:
        return 1  # a page's edges: counted by its first
    listed = get_nullable_type(field.type)
    if is_list_type(listed) and is_composite_type(get_named_type(field.type)):
        return FANOUT
    return 1
