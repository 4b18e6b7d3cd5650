"""Commands: the one thing a request asks the engine to do, as frozen data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Command",
    "StartProcess",
    "CompleteTask",
    "Trigger",
    "DeleteInstance",
    "SetVariables",
    "UpdateTask",
    "FinishAction",
    "UPDATABLE_TASK_FIELDS",
]

#: the ``TaskRecord`` fields ``UpdateTask`` may change (claim sets ``assignee`` and
#: ``claim_time``; ``PUT taskinstance`` the others)
UPDATABLE_TASK_FIELDS = frozenset(
    {"assignee", "owner", "name", "description", "category", "due_date", "priority", "claim_time"}
)


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
class UpdateTask(Command):
    """Change fields of an open user task (``UPDATABLE_TASK_FIELDS`` names, values as stored).

    The task record is replaced with ``revision + 1``; history gets the updated task; an
    ``assignment`` task listener runs when the assignee changes to someone (as in Flowable).
    """

    task_id: str
    changes: Mapping[str, Any] = field(default_factory=dict)
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


# --- events, timers and jobs ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FireTimer(Command):
    """Run a timer job: ``job_id`` is the timer subscription's id (``JobRequested.job_id``)."""

    job_id: str
    instance_id: str


@dataclass(frozen=True, slots=True)
class DeliverMessage(Command):
    """Deliver a message within one instance: to its single subscription of that name, or
    to the one on ``execution_id``. None: 404; several without ``execution_id``: 409."""

    message_name: str
    instance_id: str | None = None
    execution_id: str | None = None
    variables: Mapping[str, Any] = field(default_factory=dict)
    #: only this subscription (an event-registry event correlated to it)
    subscription_id: str | None = None


@dataclass(frozen=True, slots=True)
class DeliverSignal(Command):
    """Deliver a signal to every subscription of that name in one instance (or the one on
    ``execution_id``); broadcasting to other instances is the service's job. The count is
    in the :class:`~.effects.EventDelivered` effect."""

    signal_name: str
    instance_id: str
    variables: Mapping[str, Any] = field(default_factory=dict)
    execution_id: str | None = None


@dataclass(frozen=True, slots=True)
class RunAsyncJob(Command):
    """Run an async continuation job (``kind`` ``async-continuation`` or ``async-after``)."""

    job_id: str
    instance_id: str
    execution_id: str
    activity_id: str | None = None
    kind: str = "async-continuation"


@dataclass(frozen=True, slots=True)
class FinishAction(Command):
    """The outcome of an action task's job (HTTP, mail, external worker task): set
    ``variables`` from the task's execution, then leave the task, or, with ``error_code``,
    throw that BPMN error from it. Refused (``UnknownTarget``) when the execution no longer
    waits for ``job_id``: a duplicate or late outcome has no effect."""

    job_id: str
    instance_id: str
    execution_id: str
    variables: Mapping[str, Any] = field(default_factory=dict)
    error_code: str | None = None


@dataclass(frozen=True, slots=True)
class StartByEvent(Command):
    """Start an instance at a process-level message, signal or timer start event (the
    service picks it from ``events.start_event_subscriptions``)."""

    definition_id: str
    activity_id: str
    variables: Mapping[str, Any] = field(default_factory=dict)
    business_key: str | None = None
    initiator: str | None = None
    instance_id: str | None = None


__all__ += ["FireTimer", "DeliverMessage", "DeliverSignal", "RunAsyncJob", "StartByEvent"]


# --- migration --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActivityMigration:
    """One ``fromActivityIdMap`` entry: where the executions of an activity go, and the
    variables set on each of them there (``localVariables``)."""

    to_activity_id: str
    local_variables: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MigrateInstance(Command):
    """Move a running instance to the definition ``definition_id`` (see :mod:`.migration`):
    ``variables`` become instance variables, ``mappings`` is ``{from activity id:
    ActivityMigration}``. An invalid migration raises ``MigrationInvalid`` (nothing changes)."""

    instance_id: str
    definition_id: str
    variables: Mapping[str, Any] = field(default_factory=dict)
    mappings: Mapping[str, ActivityMigration] = field(default_factory=dict)


__all__ += ["ActivityMigration", "MigrateInstance"]
