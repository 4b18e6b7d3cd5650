"""The BPMN executor: ``execute(definition, state, command, clock) -> (new_state, effects)``.

Pure (standard library and the engine package only). Layout, by concern:

- :mod:`.records` / :mod:`.state`: the instance state as small records that map one-to-one to
  storage items, with indexes, a change set, an undo journal and ``to_records``/``from_records``.
- :mod:`.commands` / :mod:`.effects`: what comes in, what comes out besides state.
- :mod:`.session`: :class:`Session` (several instances per command: call activities) and
  :func:`execute`.
- :mod:`.context` (agenda), :mod:`.flow` (moving tokens), :mod:`.variables`, :mod:`.history`,
  :mod:`.listeners`, :mod:`.subscriptions`, :mod:`.jobs`, :mod:`.errors_events`,
  :mod:`.events`, :mod:`.instances`, :mod:`.behaviours` (one module per family of element
  kinds, gateways and multi-instance included). Imports go one way, lowest first;
  :mod:`.hooks` documents the layers and how :mod:`.flow` calls behaviours without importing
  them.

The in-memory world that tests and benchmarks run commands in (instances stored as JSON
items) is ``tests/support/world.py``: test code, so it does not ship.

Names are loaded on first use (PEP 562): importing a record type does not load the executor,
so the HTTP handler module stays cheap to import.
"""

from __future__ import annotations

from chalicelib.lazy import lazy_exports

_MODULE_OF = {
    "ChangeSet": "state",
    "ActivityMigration": "commands",
    "Command": "commands",
    "CommandResult": "session",
    "CompleteTask": "commands",
    "DefinitionNotFound": "errors",
    "DeleteInstance": "commands",
    "DeliverMessage": "commands",
    "DeliverSignal": "commands",
    "Effect": "effects",
    "EscalationUncaught": "effects",
    "EventDelivered": "effects",
    "ExecutionRecord": "records",
    "FireTimer": "commands",
    "HistoryKind": "effects",
    "HistoryLevel": "effects",
    "HistoryRecord": "effects",
    "InstanceEnded": "effects",
    "InstanceRecord": "records",
    "InstanceStarted": "effects",
    "InstanceState": "state",
    "InstanceStatus": "records",
    "JobCancelled": "effects",
    "JobKind": "effects",
    "JobRequested": "effects",
    "MigrateInstance": "commands",
    "MigrationInvalid": "migration",
    "NotWaiting": "errors",
    "RecordKind": "records",
    "RunAsyncJob": "commands",
    "SCHEMA_VERSION": "state",
    "ScriptLog": "effects",
    "Session": "session",
    "SetVariables": "commands",
    "SignalThrown": "effects",
    "StartByEvent": "commands",
    "StartProcess": "commands",
    "StepLimitExceeded": "errors",
    "SubscriptionRecord": "records",
    "SubscriptionType": "records",
    "TaskAssigned": "effects",
    "TaskCompleted": "effects",
    "TaskCreated": "effects",
    "TaskDeleted": "effects",
    "TaskRecord": "records",
    "Trigger": "commands",
    "UPDATABLE_TASK_FIELDS": "commands",
    "UnknownTarget": "errors",
    "UnsupportedElement": "errors",
    "UpdateTask": "commands",
    "VariableRecord": "records",
    "dumps": "state",
    "execute": "session",
    "loads": "state",
    "plan_migration": "migration",
    "record_from_dict": "records",
    "start_event_subscriptions": "events",
    "validate_migration": "migration",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, globals(), _MODULE_OF)
