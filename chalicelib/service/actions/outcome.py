"""What an action job's I/O produced: variables to set and maybe a BPMN error to throw."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...errors import WorkflowError

__all__ = ["ActionOutcome", "ActionFailed"]


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    """``variables`` are set from the task's execution (where they are defined, else on the
    instance); ``error_code`` (a BPMN error code such as ``HTTP400``) is thrown from the task
    after that, else the task is left along its outgoing flows."""

    variables: dict[str, Any] = field(default_factory=dict)
    error_code: str | None = None


class ActionFailed(WorkflowError):
    """The action failed (a ``failStatusCodes`` status, an unreachable endpoint, a refused
    address): the job fails, is retried, then dead-lettered. The message is what an operator
    reads in the job's ``exceptionMessage``: it names no secret."""
