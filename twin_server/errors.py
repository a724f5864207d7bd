"""The one error tree. The core raises these; each API maps them once.

    TwinError                       anything the server refuses, with a detail for the user
    ├── BadRequestData              well-formed request, invalid content (NGSI-LD BadRequestData)
    ├── InvalidRequest              malformed request: syntax, unknown parameter (InvalidRequest)
    ├── NotFound                    no such entity / attribute / context (ResourceNotFound)
    │   └── NonexistentTenant       the tenant named by the request does not exist
    ├── AlreadyExists               create of something that exists (AlreadyExists)
    ├── InUse                       delete of something others still use (a model, …)
    ├── OperationNotSupported       valid request this server does not do (OperationNotSupported)
    ├── LdContextNotAvailable       a user @context could not be fetched (LdContextNotAvailable)
    ├── TooManyResults              the request would produce more than the limits allow
    └── StoreUnavailable            the store failed; the write did not happen (InternalError)

``title`` is a short, fixed summary; ``detail`` says what exactly is wrong and what to do.
"""

from __future__ import annotations


class TwinError(Exception):
    """Base of every error the server reports to a caller."""

    title = "Error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BadRequestData(TwinError):
    title = "Bad request data"


class InvalidRequest(TwinError):
    title = "Invalid request"


class NotFound(TwinError):
    title = "Resource not found"


class NonexistentTenant(NotFound):
    title = "Nonexistent tenant"


class AlreadyExists(TwinError):
    title = "Already exists"


class InUse(TwinError):
    title = "In use"


class OperationNotSupported(TwinError):
    title = "Operation not supported"


class LdContextNotAvailable(TwinError):
    title = "LD context not available"


class TooManyResults(TwinError):
    title = "Too many results"


class StoreUnavailable(TwinError):
    title = "Store unavailable"
