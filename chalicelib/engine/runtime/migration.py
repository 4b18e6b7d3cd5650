"""Process instance migration: a subset of Flowable's ``ProcessInstanceMigrationManagerImpl``.

``processinstance/{id}?_action=validateMigration`` asks :func:`validate_migration`;
``?_action=migrate`` runs :class:`~.commands.MigrateInstance` (one command, one commit).

**Which executions count.** Every execution of the instance that stands on an activity, active
or not (user tasks, receive tasks, catch events, event-based gateways, executions waiting at a
join, executions parked before an async activity, sub-process scope executions), except the
root and the event-scope listeners (boundary events, event sub-process starts): those belong to
their activity or scope and follow it.

**Validation** (all messages are collected, Flowable's wording where it has one):

- an activity is *explicitly mapped* when ``fromActivityIdMap`` names it; its ``toActivityId``
  must exist in the target definition ("Invalid mapping for '<from>' to '<to>', cannot be found
  in the process definition with id '<target>'"; checked for every entry, running or not), in
  the same scope (same parent sub-process id, or both at the process level), and must be an
  activity a token can enter (not a boundary event, a start event, an event sub-process, nor a
  multi-instance activity);
- otherwise it is *auto-mapped* and must exist with the same id in the target definition
  ("Process instance (id:'<id>') has a running Activity (id:'<activity>') that is not mapped
  for migration"), in the same scope, with the same element type; a waiting event-based gateway
  also needs the same outgoing flows and events. A mapping to the activity's own id is an
  auto-mapping with ``localVariables``;
- a sub-process scope execution is always auto-mapped (it cannot be moved): the sub-process
  must exist in the target, as the same kind of sub-process, in the same scope.

**Refused** (a validation message, nothing changes): a call activity whose called instance
runs (the sub-instance would keep the old definition), any running multi-instance activity
(source or target), moving a sub-process.

**Migrating** (everything in the command; a failure changes nothing):

- the header, the open tasks (``revision`` + 1), the historic process instance and the open
  historic tasks get the target definition id; the executions of auto-mapped activities, their
  tasks, subscriptions and timer jobs are kept;
- an auto-mapped activity whose boundary events differ in the target loses its boundary
  listeners (their timer jobs cancelled) and gets the target's; likewise the event sub-process
  start listeners of a scope (the instance, a sub-process) whose event sub-processes differ,
  and the subscription of a waiting catch event / receive task whose event differs (its wait
  is set up again as the target defines it). Identical ones are left alone (timers keep their
  due dates);
- an explicitly mapped activity with another id is cancelled (its task deleted and its
  historic activity closed with the delete reason "Change activity to <to>", its boundary
  listeners, subscriptions and job removed); the same execution then enters the target
  activity, whose behaviour runs (a new task, say), with ``localVariables`` set on it first;
- ``variables`` are set on the instance before anything is entered.

The service updates what the engine does not hold: the stored job items of kept timers and
async continuations, and the finished historic tasks and activities (``service/instances/migrate.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Any

from chalicelib.engine.elements import (
    BoundaryEvent,
    EventBasedGateway,
    FlowNode,
    IntermediateCatchEvent,
    ReceiveTask,
    StartEvent,
    SubProcess,
)
from chalicelib.engine.model import ProcessDefinitionModel
from chalicelib.engine.parts import MultiInstance
from chalicelib.engine.runtime import events, flow, history, subscriptions
from chalicelib.engine.runtime.commands import ActivityMigration, MigrateInstance
from chalicelib.engine.runtime.context import InstanceContext, Runtime, SessionPort
from chalicelib.engine.runtime.effects import JobCancelled
from chalicelib.engine.runtime.errors import UnknownTarget
from chalicelib.engine.runtime.records import ExecutionRecord, evolve
from chalicelib.engine.runtime.state import InstanceState
from chalicelib.engine.runtime.variables import set_variable_local
from chalicelib.errors import BadRequest

__all__ = ["MigrationInvalid", "MigrationPlan", "plan_migration", "validate_migration", "HANDLERS"]


class MigrationInvalid(BadRequest):
    """The migration is not valid; ``detail.validationMessages`` lists why (400)."""

    def __init__(self, instance_id: str, messages: list[str]):
        self.messages = list(messages)
        super().__init__(
            f"Process instance {instance_id} cannot be migrated: " + "; ".join(self.messages),
            {"validationMessages": self.messages},
        )


@dataclass(frozen=True, slots=True)
class MigrationPlan:
    """What a migration does: executions kept (auto-mapped), executions moved
    ``(execution id, from activity, to activity)``, and the validation messages."""

    keep: tuple[str, ...]
    move: tuple[tuple[str, str, str], ...]
    messages: tuple[str, ...]

    @property
    def valid(self) -> bool:
        """True when there is no validation message."""
        return not self.messages


# --- validation -------------------------------------------------------------------------------


def _signature(value: Any) -> Any:
    """A comparable form of model parts, without source positions (``line``/``column``)."""
    if is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__,) + tuple(
            (item.name, _signature(getattr(value, item.name)))
            for item in fields(value)
            if item.name not in ("line", "column")
        )
    if isinstance(value, (tuple, list)):
        return tuple(_signature(each) for each in value)
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), repr(_signature(v))) for k, v in value.items()))
    return value


def _is_multi_instance(node: FlowNode | None) -> bool:
    return isinstance(getattr(node, "loop", None), MultiInstance)


def _scope_name(scope_id: str | None) -> str:
    return f"'{scope_id}'" if scope_id else "the process level"


def _gateway_signature(model: ProcessDefinitionModel, gateway_id: str) -> Any:
    return tuple(
        (
            f.id,
            f.target_ref,
            _signature(subscriptions.catch_definition(model.node(f.target_ref))),
        )
        for f in model.outgoing(gateway_id)
    )


def _target_problem(node: FlowNode) -> str | None:
    """Why a token cannot be moved onto ``node`` (None: it can)."""
    if isinstance(node, (BoundaryEvent, StartEvent)):
        return f"a {history.activity_type(node)} cannot be the target of a migration"
    if isinstance(node, SubProcess) and node.triggered_by_event:
        return "an event sub-process cannot be the target of a migration"
    if _is_multi_instance(node):
        return "migrating into a multi-instance activity is not supported"
    return None


def plan_migration(
    state: InstanceState,
    source: ProcessDefinitionModel,
    target: ProcessDefinitionModel,
    target_id: str,
    mappings: Mapping[str, ActivityMigration],
) -> MigrationPlan:
    """Classify every execution of ``state`` (see the module doc): kept, moved, or a
    validation message. Pure: reads only."""
    iid = state.id
    messages: list[str] = []
    keep: list[str] = []
    move: list[tuple[str, str, str]] = []

    def refuse(message: str) -> None:
        if message not in messages:
            messages.append(message)

    for from_id, wanted in mappings.items():
        if wanted.to_activity_id not in target.elements:
            refuse(
                f"Invalid mapping for '{from_id}' to '{wanted.to_activity_id}', cannot be "
                f"found in the process definition with id '{target_id}'"
            )
    for execution in state.executions.values():
        if execution.id == iid or execution.is_event_scope or not execution.activity_id:
            continue
        activity = execution.activity_id
        node = source.elements.get(activity)
        mapping = mappings.get(activity)
        running = f"Process instance (id:'{iid}') has a running Activity (id:'{activity}')"
        if node is None:
            refuse(f"{running} that its own process definition does not define")
        elif execution.sub_instance_id:
            refuse(
                f"{running} with a called process instance (id:'{execution.sub_instance_id}'"
                f"): migrating call activities that run is not supported"
            )
        elif execution.is_mi_root or _is_multi_instance(node):
            refuse(f"{running} that is a multi-instance activity: migrating it is not supported")
        elif mapping is None or mapping.to_activity_id == activity:
            message = _auto_map_problem(
                source, target, target_id, node, running, explicit=mapping is not None
            )
            if message:
                refuse(message)
            else:
                keep.append(execution.id)
        elif isinstance(node, SubProcess):
            refuse(
                f"Invalid mapping for '{activity}' to '{mapping.to_activity_id}': moving a "
                f"running sub-process is not supported"
            )
        else:
            to_node = target.elements.get(mapping.to_activity_id)
            if to_node is None:
                continue  # reported with the mappings
            problem = _target_problem(to_node)
            if problem is None and to_node.parent_id != node.parent_id:
                problem = (
                    f"it is not in the same scope (from {_scope_name(node.parent_id)} "
                    f"to {_scope_name(to_node.parent_id)})"
                )
            if problem:
                refuse(f"Invalid mapping for '{activity}' to '{mapping.to_activity_id}': {problem}")
            else:
                move.append((execution.id, activity, mapping.to_activity_id))
    return MigrationPlan(tuple(keep), tuple(move), tuple(messages))


def _auto_map_problem(
    source: ProcessDefinitionModel,
    target: ProcessDefinitionModel,
    target_id: str,
    node: FlowNode,
    running: str,
    *,
    explicit: bool,
) -> str | None:
    """Why an activity cannot keep its id in the target (None: it can)."""
    to_node = target.elements.get(node.id)
    if to_node is None:
        if explicit:
            return None  # the mapping itself is reported as not found
        return f"{running} that is not mapped for migration"
    if to_node.parent_id != node.parent_id:
        return (
            f"{running} that is in {_scope_name(to_node.parent_id)} in the process "
            f"definition with id '{target_id}', not in {_scope_name(node.parent_id)}"
        )
    if type(to_node) is not type(node) or (
        isinstance(node, SubProcess)
        and isinstance(to_node, SubProcess)
        and node.triggered_by_event != to_node.triggered_by_event
    ):
        return (
            f"{running} that is a {history.activity_type(node)} but a "
            f"{history.activity_type(to_node)} in the process definition with id "
            f"'{target_id}': map it to another activity"
        )
    if _is_multi_instance(to_node):
        return (
            f"{running} that is a multi-instance activity in the process definition with "
            f"id '{target_id}': migrating into it is not supported"
        )
    if isinstance(node, EventBasedGateway) and _gateway_signature(
        source, node.id
    ) != _gateway_signature(target, node.id):
        return (
            f"{running} that is an event-based gateway whose events differ in the process "
            f"definition with id '{target_id}': map it to another activity"
        )
    return None


def validate_migration(
    state: InstanceState,
    source: ProcessDefinitionModel,
    target: ProcessDefinitionModel,
    target_id: str,
    mappings: Mapping[str, ActivityMigration],
) -> list[str]:
    """The validation messages of a migration (empty: it is valid)."""
    return list(plan_migration(state, source, target, target_id, mappings).messages)


# --- migration --------------------------------------------------------------------------------


def _boundaries(model: ProcessDefinitionModel, activity_id: str | None) -> Any:
    return _signature(model.boundary_events(activity_id)) if activity_id else ()


def _event_sub_processes(model: ProcessDefinitionModel, scope_node_id: str | None) -> Any:
    return tuple(
        (node.id, _signature(model.start_events(node.id)))
        for node in model.children(scope_node_id)
        if isinstance(node, SubProcess) and node.triggered_by_event
    )


def _listeners(ic: InstanceContext, execution_id: str, kind: type) -> list[ExecutionRecord]:
    """Event-scope children of an execution whose (source) node is a ``kind``."""
    return [
        child
        for child in ic.state.children(execution_id)
        if child.is_event_scope
        and child.activity_id is not None
        and isinstance(ic.model.elements.get(child.activity_id), kind)
    ]


def _cancel_activity(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, reason: str
) -> None:
    """End what the execution does at its activity; the execution itself stays."""
    flow.cancel_children(rt, ic, execution.id, reason)
    for task in ic.state.tasks_of(execution.id):
        flow.cancel_task(rt, ic, task, reason)
    subscriptions.drop_all(rt, ic, execution.id, reason)
    if execution.job_id:
        rt.emit(JobCancelled(ic.id, execution.job_id, reason))
    current = history.activity_ended(rt, ic, ic.state.executions[execution.id], reason)
    flow.update(ic, current, job_id=None)


def _migrate(session: SessionPort, rt: Runtime, command: MigrateInstance) -> str:
    ic = rt.instance(command.instance_id)
    state = ic.state
    if state.header.status.is_ended:
        raise UnknownTarget(f"Process instance {command.instance_id} has already ended")
    target = session.definition(command.definition_id)
    source = ic.model
    plan = plan_migration(state, source, target, command.definition_id, command.mappings)
    if not plan.valid:
        raise MigrationInvalid(ic.id, list(plan.messages))
    kept = [state.executions[execution_id] for execution_id in plan.keep]

    # 1. leave the source definition (node names for history still come from it)
    for execution_id, _, to_id in plan.move:
        _cancel_activity(rt, ic, state.executions[execution_id], f"Change activity to {to_id}")
    reason = f"Migrated to {command.definition_id}"
    new_boundaries = [
        e for e in kept if _boundaries(source, e.activity_id) != _boundaries(target, e.activity_id)
    ]
    for execution in new_boundaries:
        for listener in _listeners(ic, execution.id, BoundaryEvent):
            flow.cancel_execution(rt, ic, listener, reason)
    scopes: list[tuple[str, str | None]] = [(ic.id, None)] + [
        (e.id, e.activity_id) for e in kept if isinstance(source.node(e.activity_id), SubProcess)
    ]
    new_scopes = [
        (scope_id, node_id)
        for scope_id, node_id in scopes
        if _event_sub_processes(source, node_id) != _event_sub_processes(target, node_id)
    ]
    for scope_id, _ in new_scopes:
        for listener in _listeners(ic, scope_id, StartEvent):
            flow.cancel_execution(rt, ic, listener, reason)
    new_waits = [
        e
        for e in kept
        if isinstance(source.node(e.activity_id), (IntermediateCatchEvent, ReceiveTask))
        and _signature(subscriptions.catch_definition(source.node(e.activity_id)))
        != _signature(subscriptions.catch_definition(target.node(e.activity_id)))
    ]
    for execution in new_waits:
        for subscription in state.subscriptions_of(execution.id):
            subscriptions.drop(rt, ic, subscription, reason)

    # 2. switch the definition (the context is this command's: a failure discards it)
    ic.switch_definition(target, command.definition_id, rt.history)
    state.put(replace(state.header, definition_id=command.definition_id, definition_key=target.key))
    history.process_started(rt, ic)  # the whole historic process record, new definition id
    for task in list(state.tasks.values()):
        updated = evolve(task, definition_id=command.definition_id, revision=task.revision + 1)
        state.put(updated)
        history.task_updated(rt, ic, updated)

    # 3. variables, then the target's listeners and waits, then the moved activities
    for name, value in command.variables.items():
        set_variable_local(rt, ic, ic.id, name, value)
    for execution in kept:
        mapping = command.mappings.get(execution.activity_id) if execution.activity_id else None
        for name, value in (mapping.local_variables if mapping else {}).items():
            set_variable_local(rt, ic, execution.id, name, value)
    for scope_id, node_id in new_scopes:
        events.open_scope(rt, ic, scope_id, node_id)
    for execution in new_boundaries:
        flow.create_boundary_executions(
            rt, ic, state.executions[execution.id], target.node(execution.activity_id)
        )
    for execution in new_waits:
        node = target.node(execution.activity_id)
        rt.behaviour(node).execute(rt, ic, state.executions[execution.id], node)
    for execution_id, from_id, to_id in plan.move:
        current = flow.update(ic, state.executions[execution_id], activity_id=to_id, is_active=True)
        for name, value in command.mappings[from_id].local_variables.items():
            set_variable_local(rt, ic, current.id, name, value)
        rt.plan(flow.enter, ic.id, current.id)
    return ic.id


HANDLERS: dict[type, Any] = {MigrateInstance: _migrate}
