"""Domain errors: what went wrong, in the words of the workflow service, never how to say it in HTTP.

Every layer raises these. They carry a message and an optional structured ``detail``, and no
status code: ``chalicelib.api.errors`` maps each class to a status (one table, resolved along the
class hierarchy) and renders the CREST error envelope, in one place. They import nothing from AWS
or the web framework, so ``engine/`` and ``crest/`` may use them freely.
"""

from __future__ import annotations

from typing import Any, ClassVar

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
]


class WorkflowError(Exception):
    """Base of every domain error (an unexpected fault unless a subclass says otherwise)."""

    #: The message when none is given.
    default_message: ClassVar[str] = "Internal Server Error"

    def __init__(self, message: str | None = None, detail: dict[str, Any] | None = None):
        self.message = message or self.default_message
        self.detail = detail
        super().__init__(self.message)


class BadRequest(WorkflowError):
    """The request is malformed or asks for something that can never succeed as written."""

    default_message = "Bad Request"


class Unauthorized(WorkflowError):
    """The caller could not be authenticated."""

    default_message = "Unauthorized"

    def __init__(self, message: str = "Access Denied", detail: dict[str, Any] | None = None):
        super().__init__(message, detail)


class Forbidden(WorkflowError):
    """The caller is known but may not do this."""

    default_message = "Forbidden"

    def __init__(self, message: str = "Access denied", detail: dict[str, Any] | None = None):
        super().__init__(message, detail)


class NotFound(WorkflowError):
    """The resource named does not exist (or no longer does)."""

    default_message = "Not Found"


class Conflict(WorkflowError):
    """The request contradicts the current state of the resource."""

    default_message = "Conflict"


class ConcurrencyError(Conflict):
    """A version-conditioned commit lost a race: reload and retry, or give up."""

    def __init__(
        self,
        message: str = "The resource was modified concurrently; retry the request",
        detail: dict[str, Any] | None = None,
    ):
        super().__init__(message, detail)


class PreconditionFailed(WorkflowError):
    """The caller's revision (``If-Match``) is not the resource's current one."""

    default_message = "Precondition Failed"


class PayloadTooLarge(WorkflowError):
    """The request body is larger than the service accepts."""

    default_message = "Request Entity Too Large"


class UnsupportedMediaType(WorkflowError):
    """The request body is in a format the resource does not read."""

    default_message = "Unsupported Media Type"


class NotSupported(WorkflowError):
    """The operation exists in CREST but this resource does not implement it."""

    default_message = "Not Implemented"


class ServiceUnavailable(WorkflowError):
    """A dependency (the data store, the queue) is down or throttling: retry later."""

    default_message = "Service Unavailable"


class InternalError(WorkflowError):
    """A fault of the service itself (a bug, or a request a dependency refused as malformed)."""


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
