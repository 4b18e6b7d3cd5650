"""Commands: the one thing a request asks the engine to do, as frozen data."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

__all__ = ["Command", "StartProcess", "CompleteTask", "Trigger", "DeleteInstance",
           "SetVariables"]


@dataclass(frozen=True, slots=True)
class Command:
    """Base of every command."""


@dataclass(frozen=True, slots=True)
class StartProcess(Command):
    """Start an instance of ``definition_id`` (its model comes with the call).

    ``initiator`` is the authenticated user: it becomes ``start_user_id`` and, when the start
    event declares ``flowable:initiator="name"``, the variable ``name``. ``instance_id`` may be
    given (idempotent retries); otherwise a new time-ordered id is made.
    """

    definition_id: str
    variables: Mapping[str, Any] = field(default_factory=dict)
    business_key: str | None = None
    initiator: str | None = None
    instance_id: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class CompleteTask(Command):
    """Complete a user task; ``variables`` go to the process-instance scope (DECISIONS.md)."""

    task_id: str
    variables: Mapping[str, Any] = field(default_factory=dict)
    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class Trigger(Command):
    """Release an execution waiting in a receive task or a triggerable service task."""

    execution_id: str
    variables: Mapping[str, Any] = field(default_factory=dict)
    instance_id: str | None = None


@dataclass(frozen=True, slots=True)
class DeleteInstance(Command):
    """Cancel a running instance (and the instances it called); history keeps the reason."""

    instance_id: str
    delete_reason: str | None = None


@dataclass(frozen=True, slots=True)
class SetVariables(Command):
    """Set variables on the instance (or, with ``execution_id``, from that execution;
    ``local`` writes them on that execution itself)."""

    instance_id: str
    variables: Mapping[str, Any] = field(default_factory=dict)
    execution_id: str | None = None
    local: bool = False
