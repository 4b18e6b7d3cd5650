"""Domain errors, one class per CREST status code.

Every layer raises these; ``chalicelib.api.http`` maps them to the CREST error envelope in one
place. They import nothing from AWS or the web framework, so ``engine/`` and ``crest/`` may use
them freely.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "WorkflowError",
    "BadRequest",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "Conflict",
    "PreconditionFailed",
    "PayloadTooLarge",
    "UnsupportedMediaType",
    "NotSupported",
    "ServiceUnavailable",
    "InternalError",
    "ConcurrencyError",
    "ProcessFailure",
    "REASONS",
    "reason_for",
]

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


class WorkflowError(Exception):
    """Base of every error that becomes a CREST error envelope."""

    code = 500

    def __init__(self, message: str | None = None, detail: dict[str, Any] | None = None):
        self.message = message or reason_for(self.code)
        self.detail = detail
        super().__init__(self.message)

    def to_envelope(self) -> dict[str, Any]:
        """The CREST error body: ``{code, reason, message[, detail]}``."""
        body: dict[str, Any] = {
            "code": self.code,
            "reason": reason_for(self.code),
            "message": self.message,
        }
        if self.detail is not None:
            body["detail"] = self.detail
        return body


class BadRequest(WorkflowError):
    code = 400


class Unauthorized(WorkflowError):
    code = 401

    def __init__(self, message: str = "Access Denied", detail: dict[str, Any] | None = None):
        super().__init__(message, detail)


class Forbidden(WorkflowError):
    code = 403

    def __init__(self, message: str = "Access denied", detail: dict[str, Any] | None = None):
        super().__init__(message, detail)


class NotFound(WorkflowError):
    code = 404


class Conflict(WorkflowError):
    code = 409


class ConcurrencyError(Conflict):
    """A version-conditioned commit lost a race: reload and retry, or answer 409."""

    def __init__(
        self,
        message: str = "The resource was modified concurrently; retry the request",
        detail: dict[str, Any] | None = None,
    ):
        super().__init__(message, detail)


class PreconditionFailed(WorkflowError):
    code = 412


class PayloadTooLarge(WorkflowError):
    code = 413


class UnsupportedMediaType(WorkflowError):
    code = 415


class NotSupported(WorkflowError):
    code = 501


class ServiceUnavailable(WorkflowError):
    code = 503


class InternalError(WorkflowError):
    code = 500


class ProcessFailure(BadRequest):
    """The process itself cannot carry out the request; nothing was persisted (DECISIONS.md).

    ``kind`` is one of ``bpmn-error``, ``no-outgoing-flow``, ``expression``, ``script``,
    ``script-timeout``.
    """

    KINDS = ("bpmn-error", "no-outgoing-flow", "expression", "script", "script-timeout")

    def __init__(
        self, kind: str, message: str, activity_id: str | None = None, error_code: str | None = None
    ):
        if kind not in self.KINDS:
            raise ValueError(f"unknown process failure kind {kind!r}")
        detail: dict[str, Any] = {"type": kind, "activityId": activity_id}
        if error_code is not None:
            detail["errorCode"] = error_code
        self.kind = kind
        self.activity_id = activity_id
        self.error_code = error_code
        super().__init__(message, detail)
