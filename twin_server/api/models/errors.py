"""Errors of the models API, in Azure Digital Twins' shape:
``{"error": {"code": "DTDLParserError", "message": "…", "details": [...]}}``."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from twin_server import errors
from twin_server.modeling.errors import ModelError

_BY_CLASS: list[tuple[type[Exception], str, int]] = [
    (errors.NonexistentTenant, "{}NotFound", 404),
    (errors.NotFound, "{}NotFound", 404),
    (errors.AlreadyExists, "{}AlreadyExists", 409),
    (errors.InUse, "ModelReferencesNotDeleted", 409),
    (errors.InvalidRequest, "InvalidArgument", 400),
    (errors.BadRequestData, "InvalidArgument", 400),
    (errors.StoreUnavailable, "ServiceUnavailable", 503),
]


class PayloadTooLarge(errors.InvalidRequest):
    title = "Payload too large"


class UnsupportedMediaType(errors.InvalidRequest):
    title = "Unsupported media type"


def error_response(error: Exception, subject: str = "Model") -> JSONResponse:
    """The error as a response; ``subject`` names what was not found or exists already."""
    if isinstance(error, ModelError):
        return _parser_error(error)
    if isinstance(error, PayloadTooLarge):
        return _body("PayloadTooLarge", str(error), 413)
    if isinstance(error, UnsupportedMediaType):
        return _body("UnsupportedMediaType", str(error), 415)
    for cls, code, status in _BY_CLASS:
        if isinstance(error, cls):
            detail = error.detail if isinstance(error, errors.TwinError) else str(error)
            return _body(code.format(subject), detail, status)
    raise error


def _body(code: str, message: str, status: int, details: list[Any] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status, headers={"x-ms-error-code": code})


def _parser_error(error: ModelError) -> JSONResponse:
    details: list[dict[str, Any]] = [
        {
            "code": e.code,
            "validationId": e.validation_id,
            "message": e.message,
            "primaryId": e.primary_id,
            "property": e.prop,
            "value": e.value,
            "source": e.source,
            "line": e.line,
        }
        for e in error.errors
    ]
    for identifier, places in error.unresolved.items():
        details.append(
            {
                "code": "unresolvedReference",
                "message": f"{identifier} is referenced but defined neither in the upload nor "
                "among the stored models; upload it first or with these models.",
                "value": identifier,
                "references": places,
            }
        )
    count = len(details)
    plural = "s" if count != 1 else ""
    message = f"the models are not valid DTDL ({count} error{plural}); nothing was stored"
    return _body("DTDLParserError", message, 400, details)
