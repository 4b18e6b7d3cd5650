"""Runtime errors that are not process failures (those are ``errors.ProcessFailure``)."""

from __future__ import annotations

from chalicelib.errors import BadRequest, Conflict, NotFound

__all__ = [
    "UnsupportedElement",
    "StepLimitExceeded",
    "NotWaiting",
    "UnknownTarget",
    "DefinitionNotFound",
]


class UnsupportedElement(BadRequest):
    """A token reached an element the engine does not execute (yet); validation and deploy
    should have refused it, so this is a safety net naming the element."""

    def __init__(self, activity_id: str | None, what: str):
        self.activity_id = activity_id
        super().__init__(
            f"Element '{activity_id}' cannot be executed: {what}", {"activityId": activity_id}
        )


class StepLimitExceeded(BadRequest):
    """One command ran more agenda steps than allowed (a loop without a wait state)."""

    def __init__(self, limit: int):
        super().__init__(
            f"The process ran more than {limit} steps without reaching a wait "
            f"state (an endless loop?); nothing was changed"
        )


class NotWaiting(Conflict):
    """A trigger or completion aimed at something that is not waiting for it."""


class UnknownTarget(NotFound):
    """No such task, execution or instance (or it already ended)."""


class DefinitionNotFound(NotFound):
    """A call activity names a process definition key nobody deployed."""
