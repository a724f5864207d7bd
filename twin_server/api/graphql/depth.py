"""A query's depth, bounded before it runs: a field with a selection counts one more than the
deepest field it selects (leaf fields and introspection fields count nothing), fragments
included. Replaces strawberry's QueryDepthLimiter, which fails (a ValueError, answered
without a code) on the empty selection sets that graphql-core 3.3 accepts, such as ``{ }``."""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)


def depth_rule(limit: int) -> type[ValidationRule]:
    class Depth(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            depth = _depth(self.context, node.selection_set, frozenset())
            if depth > limit:
                name = node.name.value if node.name else "anonymous"
                self.report_error(
                    GraphQLError(
                        f"operation {name!r} is {depth} fields deep; the limit is {limit}",
                        node,
                        extensions={"code": "QUERY_TOO_COMPLEX"},
                    )
                )

    return Depth


def _depth(
    context: ValidationContext, selections: SelectionSetNode | None, seen: frozenset[str]
) -> int:
    deepest = 0
    for selection in selections.selections if selections is not None else ():
        if isinstance(selection, FieldNode):
            if selection.selection_set is None or selection.name.value.startswith("__"):
                continue
            found = 1 + _depth(context, selection.selection_set, seen)
        elif isinstance(selection, InlineFragmentNode):
            found = _depth(context, selection.selection_set, seen)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            fragment = context.get_fragment(selection.name.value)
            if fragment is None:
                continue  # an unknown fragment: the standard rules report it
            found = _depth(context, fragment.selection_set, seen | {selection.name.value})
        else:
            continue
        deepest = max(deepest, found)
    return deepest
