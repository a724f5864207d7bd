"""Domain errors as GraphQL errors, mapped in one place: each carries an ``extensions.code``
that clients can switch on (and the detail, written for the user, as its message)."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError

from twin_server import errors

# Most specific first: the first class the error is an instance of decides.
CODES: list[tuple[type[errors.TwinError], str]] = [
    (errors.NonexistentTenant, "NONEXISTENT_TENANT"),
    (errors.NotFound, "NOT_FOUND"),
    (errors.InvalidRequest, "BAD_REQUEST"),
    (errors.BadRequestData, "BAD_USER_INPUT"),
    (errors.AlreadyExists, "ALREADY_EXISTS"),
    (errors.InUse, "IN_USE"),
    (errors.OperationNotSupported, "NOT_SUPPORTED"),
    (errors.LdContextNotAvailable, "CONTEXT_NOT_AVAILABLE"),
    (errors.TooManyResults, "TOO_MANY_RESULTS"),
    (errors.StoreUnavailable, "STORE_UNAVAILABLE"),
]


def code_of(error: BaseException) -> str:
    for cls, code in CODES:
        if isinstance(error, cls):
            return code
    return "INTERNAL_SERVER_ERROR"


def graphql_error(error: errors.TwinError, **extensions: Any) -> GraphQLError:
    return GraphQLError(error.detail, extensions={"code": code_of(error), **extensions})
