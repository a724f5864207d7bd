"""Every GraphQL error carries an ``extensions.code``: the domain's (``errors.py``), or one
for malformed documents, invalid queries and limits, or INTERNAL_SERVER_ERROR for a bug, whose
message is then not shown (it is logged)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from twin_server.api.graphql.errors import code_of
from twin_server.errors import TwinError

log = logging.getLogger(__name__)


class ErrorCodes(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = list(getattr(result, "errors", None) or ())
        for error in errors:
            _give_code(error)


def _give_code(error: GraphQLError) -> None:
    extensions = error.extensions if error.extensions is not None else {}
    if "code" in extensions:
        return
    original = error.original_error
    if original is None:
        message = error.message
        if message.startswith("Syntax Error"):
            code = "GRAPHQL_PARSE_FAILED"
        elif "exceeds maximum" in message or "too many" in message.lower():
            code = "QUERY_TOO_COMPLEX"
        else:
            code = "GRAPHQL_VALIDATION_FAILED"
    elif isinstance(original, TwinError):
        code = code_of(original)
    elif isinstance(original, GraphQLError):
        code = (original.extensions or {}).get("code", "BAD_USER_INPUT")
    else:
        code = "INTERNAL_SERVER_ERROR"
        error.message = "internal error; the server log has the details"
    extensions["code"] = code
    error.extensions = extensions
