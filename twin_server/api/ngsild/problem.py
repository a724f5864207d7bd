"""The one mapping from domain errors to NGSI-LD ProblemDetails responses."""

from __future__ import annotations

import logging

import orjson
from starlette.responses import Response

from twin_server import errors

log = logging.getLogger(__name__)

ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"


class NotAcceptable(errors.InvalidRequest):
    title = "Not acceptable"


class UnsupportedMediaType(errors.InvalidRequest):
    title = "Unsupported media type"


class PayloadTooLarge(errors.BadRequestData):
    title = "Payload too large"


class MethodNotAllowed(errors.InvalidRequest):
    title = "Method not allowed"


# Most specific first: the first class the error is an instance of decides.
_MAPPING: list[tuple[type[errors.TwinError], str, int]] = [
    (NotAcceptable, "InvalidRequest", 406),
    (UnsupportedMediaType, "InvalidRequest", 415),
    (PayloadTooLarge, "BadRequestData", 413),
    (MethodNotAllowed, "InvalidRequest", 405),
    (errors.NonexistentTenant, "NonexistentTenant", 404),
    (errors.NotFound, "ResourceNotFound", 404),
    (errors.InvalidRequest, "InvalidRequest", 400),
    (errors.BadRequestData, "BadRequestData", 400),
    (errors.AlreadyExists, "AlreadyExists", 409),
    (errors.OperationNotSupported, "OperationNotSupported", 422),
    (errors.LdContextNotAvailable, "LdContextNotAvailable", 504),
    (errors.TooManyResults, "TooManyResults", 403),
    (errors.StoreUnavailable, "InternalError", 500),
]


def problem(error: Exception) -> dict[str, object]:
    """The ProblemDetails object (RFC 7807, NGSI-LD error types) of an error."""
    kind, status = _classify(error)
    if isinstance(error, errors.TwinError):
        return {
            "type": ERRORS + kind,
            "title": error.title,
            "status": status,
            "detail": error.detail,
        }
    return {
        "type": ERRORS + "InternalError",
        "title": "Internal error",
        "status": 500,
        "detail": "the server failed to handle the request; the failure is logged",
    }


def problem_response(error: Exception, headers: dict[str, str] | None = None) -> Response:
    body = problem(error)
    status = int(str(body["status"]))
    if status == 500:
        log.error("internal error", exc_info=error)
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


def _classify(error: Exception) -> tuple[str, int]:
    for cls, kind, status in _MAPPING:
        if isinstance(error, cls):
            return kind, status
    return "InternalError", 500
