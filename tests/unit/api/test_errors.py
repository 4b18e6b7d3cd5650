"""The API edge's error mapping: every domain error keeps the status it always had, and the
CREST error envelope ``{code, reason, message[, detail]}``."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import chalicelib
from chalicelib.api.errors import REASONS, STATUS_CODES, error_envelope, reason_for, status_of
from chalicelib.errors import (
    BadRequest,
    ConcurrencyError,
    Forbidden,
    InternalError,
    NotFound,
    ProcessFailure,
    ServiceUnavailable,
    Unauthorized,
    WorkflowError,
)
from chalicelib.storage.intent import TooLarge
from chalicelib.storage.ports import InvalidPageToken, StorageError

#: Every domain error class of chalicelib (by name, so that a module may move) and the HTTP
#: status it answers with. A new error class must be added here.
EXPECTED: dict[str, int] = {
    "WorkflowError": 500,
    "BadRequest": 400,
    "Unauthorized": 401,
    "Forbidden": 403,
    "NotFound": 404,
    "Conflict": 409,
    "ConcurrencyError": 409,
    "PreconditionFailed": 412,
    "PayloadTooLarge": 413,
    "UnsupportedMediaType": 415,
    "NotSupported": 501,
    "ServiceUnavailable": 503,
    "InternalError": 500,
    "ProcessFailure": 400,
    # crest, auth, settings
    "QueryFilterError": 400,
    "ProcessAccessError": 500,
    "UsersFileError": 500,
    "SettingsError": 500,
    # engine
    "BpmnSyntaxError": 400,
    "UnsupportedElement": 400,
    "StepLimitExceeded": 400,
    "NotWaiting": 409,
    "UnknownTarget": 404,
    "DefinitionNotFound": 404,
    "MigrationInvalid": 400,
    # service
    "InvalidDeployment": 400,
    # storage and messaging adapters
    "StorageError": 400,
    "TransactionTooLarge": 400,
    "DuplicateWrite": 400,
    "InvalidItem": 400,
    "KeyTooLarge": 400,
    "LimitExceeded": 400,
    "InvalidPageToken": 400,
    "TooLarge": 400,
    "MessageTooLarge": 500,
    # a failed action job (HTTP, mail, external worker): recorded on the job, never a response
    "ActionFailed": 500,
    "WorkerFailed": 500,
}


def _all_error_classes() -> set[type[WorkflowError]]:
    for module in pkgutil.walk_packages(chalicelib.__path__, "chalicelib."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    found: set[type[WorkflowError]] = set()
    pending: list[type[WorkflowError]] = [WorkflowError]
    while pending:
        cls = pending.pop()
        if cls.__module__.startswith("chalicelib.") and cls not in found:
            found.add(cls)
            pending.extend(cls.__subclasses__())
    return found


def test_every_domain_error_maps_to_its_status():
    classes = _all_error_classes()
    names = {cls.__name__ for cls in classes}
    assert names == set(EXPECTED), (sorted(names - set(EXPECTED)), sorted(set(EXPECTED) - names))
    for cls in classes:
        error = cls.__new__(cls)  # the status depends on the class alone
        assert status_of(error) == EXPECTED[cls.__name__], cls


def test_domain_errors_carry_no_status():
    for cls in _all_error_classes():
        assert not hasattr(cls, "code"), cls
        assert not hasattr(cls, "to_envelope"), cls


def test_status_is_resolved_along_the_mro():
    class Custom(ConcurrencyError):
        pass

    class Mixed(ValueError, NotFound):
        pass

    assert status_of(Custom()) == 409
    assert status_of(Mixed("x")) == 404
    assert status_of(InvalidPageToken("bad")) == 400
    assert status_of(KeyError("x")) == 500
    assert StorageError not in BadRequest.__mro__ and issubclass(StorageError, ValueError)
    assert all(issubclass(cls, BaseException) for cls in STATUS_CODES)


def test_every_status_has_a_reason():
    assert {status for status in STATUS_CODES.values()} <= set(REASONS)
    assert reason_for(418) == "Resource Exception"


def test_error_envelopes():
    assert error_envelope(BadRequest("Unknown action")) == {
        "code": 400,
        "reason": "Bad Request",
        "message": "Unknown action",
    }
    failure = ProcessFailure("expression", "Unknown property used in expression", "gw1")
    assert error_envelope(failure)["detail"] == {"type": "expression", "activityId": "gw1"}
    secret = error_envelope(KeyError("table-name-leak"))
    assert secret == {
        "code": 500,
        "reason": "Internal Server Error",
        "message": "Internal Server Error",
    }


@pytest.mark.parametrize(
    "error, body",
    [
        (NotFound(), {"code": 404, "reason": "Not Found", "message": "Not Found"}),
        (
            InternalError(),
            {"code": 500, "reason": "Internal Server Error", "message": "Internal Server Error"},
        ),
        (Unauthorized(), {"code": 401, "reason": "Unauthorized", "message": "Access Denied"}),
        (Forbidden(), {"code": 403, "reason": "Forbidden", "message": "Access denied"}),
        (
            ServiceUnavailable(detail={"queue": "jobs"}),
            {
                "code": 503,
                "reason": "Service Unavailable",
                "message": "Service Unavailable",
                "detail": {"queue": "jobs"},
            },
        ),
        (
            ConcurrencyError(),
            {
                "code": 409,
                "reason": "Conflict",
                "message": "The resource was modified concurrently; retry the request",
            },
        ),
    ],
)
def test_default_messages_are_the_reason_phrase(error, body):
    assert error_envelope(error) == body
    assert str(error) == body["message"]


@pytest.mark.parametrize(
    "error, body",
    [
        (
            ConcurrencyError(detail={"write": 0, "reason": "ConditionalCheckFailed"}),
            {
                "code": 409,
                "reason": "Conflict",
                "message": "The resource was modified concurrently; retry the request",
            },
        ),
        (
            InvalidPageToken("Invalid paging token"),
            {
                "code": 400,
                "reason": "Bad Request",
                "message": "The value of _pagedResultsCookie is not a valid cookie",
            },
        ),
        (
            TooLarge("one transaction takes at most 100", {"limit": 100, "items": 130}),
            {
                "code": 400,
                "reason": "Bad Request",
                "message": "This request makes 130 changes that must be saved together; "
                "at most 100 can be",
                "detail": {"limit": 100, "changes": 130},
            },
        ),
        (
            StorageError("Two writes on one item in a transaction: runtime 'a' 'b'"),
            {
                "code": 400,
                "reason": "Bad Request",
                "message": "The request cannot be saved as it is",
            },
        ),
    ],
)
def test_storage_words_never_reach_the_envelope(error, body):
    assert error_envelope(error) == body
