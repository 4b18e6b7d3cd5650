"""Domain errors at the API edge: one status table and the CREST error envelope.

Domain errors (``chalicelib.errors`` and the adapters' own, such as ``storage.ports.StorageError``)
carry no HTTP status. ``status_of`` finds an error's status by walking its class hierarchy (its
MRO) through ``STATUS_CODES``: the nearest listed class wins, so a subclass inherits its base's
status unless it is listed itself. ``error_envelope`` renders CREST's body
``{code, reason, message[, detail]}`` with the reason phrase of ``REASONS``; the words of
storage (a failed write, DynamoDB's reason) never reach it (``public_error``).
"""

from __future__ import annotations

from typing import Any

from ..errors import (
    BadRequest,
    Conflict,
    Forbidden,
    InternalError,
    NotFound,
    NotSupported,
    PayloadTooLarge,
    PreconditionFailed,
    ServiceUnavailable,
    Unauthorized,
    UnsupportedMediaType,
    WorkflowError,
)
from ..service.public_errors import public_error
from ..storage.ports import StorageError

__all__ = [
    "STATUS_CODES",
    "REASONS",
    "status_of",
    "reason_for",
    "error_envelope",
    "public_error",
]

#: Domain error class -> HTTP status. A class not listed takes the status of its nearest listed
#: base (``ConcurrencyError`` and ``ProcessFailure`` are a ``Conflict`` and a ``BadRequest``).
STATUS_CODES: dict[type[BaseException], int] = {
    WorkflowError: 500,
    BadRequest: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    PreconditionFailed: 412,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
    InternalError: 500,
    NotSupported: 501,
    ServiceUnavailable: 503,
    StorageError: 400,
}

#: CREST's code -> reason phrase table (``ResourceException``); other codes: "Resource Exception".
REASONS: dict[int, str] = {
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Time-out",
    409: "Conflict",
    410: "Gone",
    411: "Length Required",
    412: "Precondition Failed",
    413: "Request Entity Too Large",
    414: "Request-URI Too Large",
    415: "Unsupported Media Type",
    416: "Requested range not satisfiable",
    417: "Expectation Failed",
    428: "Precondition Required",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Time-out",
    505: "HTTP Version not supported",
}


def reason_for(code: int) -> str:
    """The CREST reason phrase for an HTTP status code."""
    return REASONS.get(code, "Resource Exception")


def status_of(exc: BaseException) -> int:
    """The HTTP status of an error: its nearest class in ``STATUS_CODES``, else 500."""
    for cls in type(exc).__mro__:
        status = STATUS_CODES.get(cls)
        if status is not None:
            return status
    return 500


def error_envelope(exc: BaseException) -> dict[str, Any]:
    """The CREST error body ``{code, reason, message[, detail]}`` for any exception.

    A domain error gives its own status, message and detail (``public_error``: no storage
    detail); anything else is a bug and gives a bare 500 ``Internal Server Error`` (never the
    exception text or a stack trace).
    """
    if not isinstance(exc, WorkflowError):
        exc = InternalError()
    status = status_of(exc)
    message, detail = public_error(exc)
    body: dict[str, Any] = {"code": status, "reason": reason_for(status), "message": message}
    if detail is not None:
        body["detail"] = detail
    return body
