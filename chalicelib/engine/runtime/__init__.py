"""The BPMN executor: ``execute(definition, state, command, clock) -> (new_state, effects)``.

Pure (standard library and the engine package only). Layout, by concern:

- :mod:`.records` / :mod:`.state`: the instance state as small records that map one-to-one to
  storage items, with indexes, a change set, an undo journal and ``to_records``/``from_records``.
- :mod:`.commands` / :mod:`.effects`: what comes in, what comes out besides state.
- :mod:`.session`: :class:`Session` (several instances per command: call activities) and
  :func:`execute`.
- :mod:`.context` (agenda), :mod:`.flow` (moving tokens), :mod:`.variables`, :mod:`.history`,
  :mod:`.listeners`, :mod:`.gateways`, :mod:`.multi_instance`, :mod:`.errors_events`,
  :mod:`.instances`, :mod:`.behaviours` (the element-class -> behaviour table).
- :mod:`.memory`: an in-memory world storing instances as JSON items (tests, benchmarks);
  :mod:`.workloads`: the benchmark workloads.
"""
from chalicelib.engine.runtime.commands import (
    UPDATABLE_TASK_FIELDS, Command, CompleteTask, DeleteInstance, SetVariables, StartProcess,
    Trigger, UpdateTask,
)
from chalicelib.engine.runtime.effects import (
    Effect, EscalationUncaught, HistoryKind, HistoryLevel, HistoryRecord, InstanceEnded,
    InstanceStarted, JobRequested, ScriptLog, TaskCompleted, TaskCreated, TaskDeleted,
)
from chalicelib.engine.runtime.errors import (
    DefinitionNotFound, NotWaiting, StepLimitExceeded, UnknownTarget, UnsupportedElement,
)
from chalicelib.engine.runtime.records import (
    ExecutionRecord, InstanceRecord, InstanceStatus, RecordKind, SubscriptionRecord,
    SubscriptionType, TaskRecord, VariableRecord, record_from_dict,
)
from chalicelib.engine.runtime.session import CommandResult, Session, execute
from chalicelib.engine.runtime.state import SCHEMA_VERSION, ChangeSet, InstanceState, dumps, loads

__all__ = [
    "execute", "Session", "CommandResult",
    "Command", "StartProcess", "CompleteTask", "Trigger", "DeleteInstance", "SetVariables",
    "UpdateTask", "UPDATABLE_TASK_FIELDS",
    "Effect", "InstanceStarted", "InstanceEnded", "TaskCreated", "TaskCompleted", "TaskDeleted",
    "HistoryRecord", "HistoryKind", "HistoryLevel", "JobRequested", "ScriptLog",
    "EscalationUncaught",
    "InstanceState", "ChangeSet", "SCHEMA_VERSION", "dumps", "loads",
    "RecordKind", "InstanceStatus", "SubscriptionType", "InstanceRecord", "ExecutionRecord",
    "VariableRecord", "TaskRecord", "SubscriptionRecord", "record_from_dict",
    "UnsupportedElement", "StepLimitExceeded", "NotWaiting", "UnknownTarget",
    "DefinitionNotFound",
]

# Events, timers and async jobs.
from chalicelib.engine.runtime.commands import (  # noqa: E402
    DeliverMessage, DeliverSignal, FireTimer, RunAsyncJob, StartByEvent,
)
from chalicelib.engine.runtime.effects import (  # noqa: E402
    EventDelivered, JobCancelled, JobKind, SignalThrown,
)
from chalicelib.engine.runtime.events import start_event_subscriptions  # noqa: E402

__all__ += [
    "FireTimer", "DeliverMessage", "DeliverSignal", "RunAsyncJob", "StartByEvent",
    "JobKind", "JobCancelled", "SignalThrown", "EventDelivered", "start_event_subscriptions",
]
