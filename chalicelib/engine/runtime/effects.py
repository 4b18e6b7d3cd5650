"""Effects: what a command did besides changing instance state, as plain frozen data.

The service layer carries them out after (or inside) the commit: history items are written in
the same transaction, jobs become job items, log lines go to the logger. The engine never does
any of it itself (Chalice's planner/executor split).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = [
    "HistoryLevel",
    "HistoryKind",
    "Effect",
    "InstanceStarted",
    "InstanceEnded",
    "TaskCreated",
    "TaskCompleted",
    "TaskDeleted",
    "HistoryRecord",
    "JobRequested",
    "ScriptLog",
    "EscalationUncaught",
    "JobKind",
    "JobCancelled",
    "SignalThrown",
    "EventDelivered",
]


class HistoryLevel(int, enum.Enum):
    """Flowable's history levels, in order (``bpmn-semantics.md`` §1.7); audit is the default."""

    NONE = 0
    INSTANCE = 1
    TASK = 2
    ACTIVITY = 3
    AUDIT = 4
    FULL = 5

    @classmethod
    def parse(cls, value: str | HistoryLevel | None) -> HistoryLevel:
        """``"audit"`` (any case) or a member; None gives the default, AUDIT."""
        if value is None:
            return cls.AUDIT
        if isinstance(value, HistoryLevel):
            return value
        return cls[str(value).strip().upper()]

    @property
    def keeps_instances(self) -> bool:
        """Historic process instances are written."""
        return self >= HistoryLevel.INSTANCE

    @property
    def keeps_tasks(self) -> bool:
        """Historic task instances: at ``task`` and from ``audit`` on (not at ``activity``)."""
        return self == HistoryLevel.TASK or self >= HistoryLevel.AUDIT

    @property
    def keeps_activities(self) -> bool:
        """Historic activity instances (and sequence flows taken)."""
        return self >= HistoryLevel.ACTIVITY

    @property
    def keeps_variables(self) -> bool:
        """Historic variable instances (latest value)."""
        return self >= HistoryLevel.ACTIVITY

    @property
    def keeps_details(self) -> bool:
        """A detail row per variable update."""
        return self >= HistoryLevel.FULL


class HistoryKind(str, enum.Enum):
    """Which history item a :class:`HistoryRecord` creates or updates."""

    PROCESS_INSTANCE = "processInstance"
    ACTIVITY_INSTANCE = "activityInstance"
    TASK_INSTANCE = "taskInstance"
    VARIABLE_INSTANCE = "variableInstance"
    VARIABLE_DETAIL = "variableDetail"


def _frozen(data: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(data or {}))


@dataclass(frozen=True, slots=True)
class Effect:
    """Base of every effect; ``instance_id`` names the instance it belongs to."""

    instance_id: str


@dataclass(frozen=True, slots=True)
class InstanceStarted(Effect):
    """A process instance was started (also a called one)."""

    definition_id: str
    business_key: str | None = None
    super_instance_id: str | None = None


@dataclass(frozen=True, slots=True)
class InstanceEnded(Effect):
    """A process instance ended; ``delete_reason`` is set when it was deleted/cancelled."""

    delete_reason: str | None = None
    end_activity_id: str | None = None


@dataclass(frozen=True, slots=True)
class TaskCreated(Effect):
    """A user task was created; ``task`` is the task record's dict."""

    task_id: str
    task: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TaskCompleted(Effect):
    """A user task was completed (by the complete command)."""

    task_id: str
    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class TaskAssigned(Effect):
    """An open user task got a new assignee (claim, or a changed ``assignee``)."""

    task_id: str
    assignee: str


@dataclass(frozen=True, slots=True)
class TaskDeleted(Effect):
    """A user task was removed without completion (boundary event, MI completion, delete)."""

    task_id: str
    delete_reason: str | None = None


@dataclass(frozen=True, slots=True)
class HistoryRecord(Effect):
    """The whole of one history item ``(kind, id)`` as it now is.

    Every record carries every field of the item (a later record for the same item replaces
    the earlier one), so storage writes it with a plain put and never reads history back.
    Which records exist depends on the :class:`HistoryLevel`.
    """

    kind: HistoryKind
    id: str
    fields: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", _frozen(self.fields))

    @classmethod
    def owned(
        cls,
        instance_id: str,
        kind: HistoryKind,
        id: str,  # noqa: A002
        fields: dict[str, Any],
    ) -> HistoryRecord:
        """A record over ``fields`` without copying it: the caller hands the dict over and
        never touches it again (the history module builds a fresh dict per record)."""
        record = _new(cls)
        _SET_INSTANCE_ID(record, instance_id)  # the slots' own setters: no attribute lookup
        _SET_KIND(record, kind)
        _SET_ID(record, id)
        _SET_FIELDS(record, MappingProxyType(fields))
        return record


_new = object.__new__
_SET_INSTANCE_ID = Effect.__dict__["instance_id"].__set__
_SET_KIND, _SET_ID, _SET_FIELDS = (
    HistoryRecord.__dict__[name].__set__ for name in ("kind", "id", "fields")
)


class JobKind(str, enum.Enum):
    """What a requested job does when it runs (Flowable's handler types)."""

    TIMER = "timer"  # run FireTimer
    ASYNC_CONTINUATION = "async-continuation"  # run RunAsyncJob: enter the activity
    ASYNC_AFTER = "async-after"  # run RunAsyncJob: end listeners, then the outgoing flows
    ACTION = "action"  # an HTTP, mail or external worker task's I/O, then FinishAction


@dataclass(frozen=True, slots=True)
class JobRequested(Effect):
    """Asynchronous work to schedule: a job item written in the commit transaction.

    ``kind`` is a :class:`JobKind` value; ``job_id`` names the job (and its instance, see
    :func:`chalicelib.ids.instance_of`); ``due`` is the ISO time a timer fires (None: now).
    ``payload`` is JSON-able: ``exclusive`` (bool), ``handler`` (Flowable's handler type) and,
    for timers, ``subscription_id`` (= ``job_id``), ``repeat``/``timer`` details.
    """

    kind: str
    execution_id: str
    activity_id: str | None = None
    due: str | None = None
    job_id: str | None = None
    payload: dict = field(default_factory=dict)

    def job_item(self) -> dict[str, Any]:
        """A JSON-able description of the job (what storage writes)."""
        return {
            "jobId": self.job_id,
            "kind": self.kind,
            "processInstanceId": self.instance_id,
            "executionId": self.execution_id,
            "activityId": self.activity_id,
            "due": self.due,
            "payload": dict(self.payload),
        }


@dataclass(frozen=True, slots=True)
class JobCancelled(Effect):
    """A job requested earlier is void (its timer subscription was removed): delete it."""

    job_id: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class SignalThrown(Effect):
    """A global signal was thrown by ``activity_id``. The engine already delivered it to the
    subscriptions of this instance; the service delivers it to every *other* instance
    (``DeliverSignal``) and starts the definitions with that signal start event."""

    signal_name: str
    activity_id: str | None = None
    variables: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EventDelivered(Effect):
    """A message or signal (``kind``) reached ``execution_ids`` of this instance."""

    kind: str
    name: str
    execution_ids: tuple[str, ...] = ()

    @property
    def count(self) -> int:
        """How many subscriptions received it."""
        return len(self.execution_ids)


@dataclass(frozen=True, slots=True)
class ScriptLog(Effect):
    """Console output of a script task."""

    activity_id: str
    lines: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EscalationUncaught(Effect):
    """An escalation nobody caught (not an error in BPMN: the process goes on)."""

    activity_id: str
    escalation_code: str | None = None
