"""Moving tokens: enter an activity, leave it, take sequence flows, end executions and scopes.

The execution tree follows Flowable v6 (``bpmn-semantics.md`` §1.4): the root execution is the
instance and never sits on an activity; the first token is a child of it; a parallel split
makes concurrent siblings; a token entering a sub-process becomes that sub-process's *scope*
execution and the inner token is its child; a multi-instance activity has a root execution
with one child per instance; boundary events get event-scope children of the activity's
execution.

``enter`` is an agenda operation (planned, never called recursively). ``leave``, ``take`` and
``finish_token`` are called by behaviours and plan the next ``enter``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from chalicelib.engine.elements import Activity, FlowNode, StartEvent, SubProcess
from chalicelib.engine.model import SequenceFlow
from chalicelib.engine.parts import MultiInstance
from chalicelib.engine.runtime import history, jobs, listeners, subscriptions
from chalicelib.engine.runtime.context import InstanceContext, Runtime
from chalicelib.engine.runtime.effects import InstanceEnded, JobCancelled, JobKind, TaskDeleted
from chalicelib.engine.runtime.records import (
    ExecutionRecord,
    InstanceStatus,
    TaskRecord,
    evolve,
)
from chalicelib.engine.runtime.variables import delete_scope_variables, eval_condition
from chalicelib.errors import ProcessFailure

__all__ = [
    "create_execution",
    "update",
    "is_mi_instance",
    "enter",
    "leave",
    "take_outgoing",
    "park_leave",
    "resume_leave",
    "leave_multi_instance",
    "take",
    "finish_token",
    "scope_may_complete",
    "cancel_execution",
    "cancel_children",
    "cancel_task",
    "end_instance",
    "delete_scope_variables",
    "remove_event_scope_children",
    "close_event_sub_process_starts",
]


def create_execution(
    rt: Runtime,
    ic: InstanceContext,
    *,
    parent_id: str | None,
    activity_id: str | None,
    **flags: Any,
) -> ExecutionRecord:
    """A new child execution (put into the state); its id names the instance
    (``ids.instance_of``), so an execution id alone locates its instance. ``flags`` are
    other :class:`ExecutionRecord` fields (``is_concurrent=True``, ...)."""
    record = ExecutionRecord(
        id=rt.new_child_id(ic.id),
        instance_id=ic.id,
        parent_id=parent_id,
        activity_id=activity_id,
        start_time=rt.now_iso(),
        **flags,
    )
    ic.state.put(record)
    return record


def update(ic: InstanceContext, execution: ExecutionRecord, **changes: object) -> ExecutionRecord:
    """Replace an execution with some fields changed."""
    return ic.state.put(evolve(execution, **changes))


def is_mi_instance(ic: InstanceContext, execution: ExecutionRecord) -> bool:
    """True for a child of a multi-instance root at the same activity."""
    parent = ic.execution(execution.parent_id)
    return parent is not None and parent.is_mi_root and parent.activity_id == execution.activity_id


# --- entering and leaving activities ----------------------------------------------------------


def enter(rt: Runtime, instance_id: str, execution_id: str, resumed: bool = False) -> None:
    """Agenda operation: run the behaviour of the node the execution has arrived at.

    An activity with ``flowable:async`` parks the execution before it (a job, see
    :mod:`.jobs`) unless ``resumed`` (the job is running now)."""
    ic = rt.instance(instance_id)
    execution = ic.execution(execution_id)
    if execution is None:  # cancelled meanwhile (boundary event, terminate, completion)
        return
    node = ic.node(execution.activity_id)
    loop = getattr(node, "loop", None)
    if isinstance(loop, MultiInstance) and not is_mi_instance(ic, execution):
        rt.hooks.start_multi_instance(rt, ic, execution, node)
        return
    if node.async_before and not resumed:
        jobs.park(rt, ic, execution, node, JobKind.ASYNC_CONTINUATION)
        return
    execution = history.activity_started(rt, ic, execution, node)
    if node.execution_listeners:
        listeners.execution_listeners(rt, ic, execution, node, node.execution_listeners, "start")
        execution = ic.execution(execution_id)
        if execution is None:
            return
    if not isinstance(loop, MultiInstance):
        create_boundary_executions(rt, ic, execution, node)
    rt.behaviour(node).execute(rt, ic, execution, node)


def create_boundary_executions(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, node: FlowNode
) -> None:
    """One event-scope child per boundary event of ``node`` (Flowable counts them); message,
    signal and timer boundaries subscribe on it."""
    boundaries = ic.model.boundary_events(node.id)
    if not boundaries:  # most activities: no loop
        return
    subscribe_boundary = rt.hooks.subscribe_boundary
    for boundary in boundaries:
        if boundary.event_definitions:
            listener = create_execution(
                rt,
                ic,
                parent_id=execution.id,
                activity_id=boundary.id,
                is_event_scope=True,
                is_active=False,
            )
            subscribe_boundary(rt, ic, listener, boundary)


def remove_event_scope_children(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord
) -> None:
    """Drop the boundary-event listeners of an execution (its activity is over)."""
    for child in ic.state.children(execution.id):
        if child.is_event_scope:
            cancel_execution(rt, ic, child, None)


def leave(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, node: FlowNode | None = None
) -> None:
    """The activity is done: end listeners, history, then the outgoing flows (or the
    multi-instance bookkeeping when this is one instance of a multi-instance activity).

    With ``flowable:asyncLeave`` the activity parks first (:func:`park_leave`): its end
    listeners and history end run in the leave job (:func:`resume_leave`), as in Flowable."""
    node = node or ic.node(execution.activity_id)
    if node.async_after and not is_mi_instance(ic, execution):
        park_leave(rt, ic, execution, node)
        return
    if node.execution_listeners:
        listeners.execution_listeners(rt, ic, execution, node, node.execution_listeners, "end")
    current = ic.execution(execution.id)
    if current is None:
        return
    current = history.activity_ended(rt, ic, current)
    remove_event_scope_children(rt, ic, current)
    if is_mi_instance(ic, current):
        rt.hooks.multi_instance_completed(rt, ic, current, node)
        return
    if current.is_scope and current.id != ic.id:
        delete_scope_variables(ic, current.id)
        current = update(ic, current, is_scope=False)
    take_outgoing(rt, ic, current, node)


def park_leave(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, node: FlowNode
) -> None:
    """``flowable:asyncLeave``: the activity's boundary listeners go and the execution waits
    for its leave job (Flowable's ``TakeOutgoingSequenceFlowsOperation`` schedules it before
    the activity ends). A sub-process scope is closed now (history, local variables), as
    Flowable's scope end precedes its outgoing flows; a multi-instance root has completed."""
    current = execution
    remove_event_scope_children(rt, ic, current)
    if current.is_scope and current.id != ic.id:
        current = history.activity_ended(rt, ic, current)
        delete_scope_variables(ic, current.id)
        current = update(ic, current, is_scope=False)
    jobs.park(rt, ic, current, node, JobKind.ASYNC_AFTER)


def resume_leave(rt: Runtime, ic: InstanceContext, execution: ExecutionRecord) -> None:
    """The leave job runs: the activity's end listeners and history end (not for a
    multi-instance root: its instances had theirs), then its outgoing flows."""
    node = ic.node(execution.activity_id)
    if not isinstance(getattr(node, "loop", None), MultiInstance):
        if node.execution_listeners:
            listeners.execution_listeners(rt, ic, execution, node, node.execution_listeners, "end")
        current = ic.execution(execution.id)
        if current is None:
            return
        execution = history.activity_ended(rt, ic, current)
    take_outgoing(rt, ic, execution, node)


def leave_multi_instance(
    rt: Runtime, ic: InstanceContext, root: ExecutionRecord, node: FlowNode
) -> None:
    """A multi-instance activity has completed: its root takes the outgoing flows, or waits
    for its leave job (``asyncLeave`` is for the whole activity, not each instance)."""
    if node.async_after:
        jobs.park(rt, ic, root, node, JobKind.ASYNC_AFTER)
        return
    take_outgoing(rt, ic, root, node)


def take_outgoing(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, node: FlowNode
) -> None:
    """Flows leaving an activity or event: an implicit inclusive split (conditions that hold
    plus unconditional flows; the default flow only when nothing else is taken)."""
    flows = ic.model.outgoing(node.id)
    if not flows:
        finish_token(rt, ic, execution)
        return
    default = getattr(node, "default_flow", None)
    chosen = [
        flow
        for flow in flows
        if flow.id != default
        and (
            flow.condition is None
            or eval_condition(rt, ic, execution.id, flow.condition, activity_id=node.id)
        )
    ]
    if not chosen and default:
        chosen = [flow for flow in flows if flow.id == default]
    if not chosen:
        raise ProcessFailure(
            "no-outgoing-flow",
            f"No outgoing sequence flow for the element "
            f"with id '{node.id}' could be selected for continuing the "
            f"process",
            node.id,
        )
    take(rt, ic, execution, chosen)


def take(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, flows: Sequence[SequenceFlow]
) -> None:
    """Move the execution along the first flow and concurrent siblings along the others."""
    if not flows:
        finish_token(rt, ic, execution)
        return
    tokens = [execution]
    if len(flows) > 1:
        tokens[0] = update(ic, execution, is_concurrent=True)
        tokens += [
            create_execution(
                rt,
                ic,
                parent_id=execution.parent_id,
                activity_id=execution.activity_id,
                is_concurrent=True,
            )
            for _ in flows[1:]
        ]
    for token, flow in zip(tokens, flows):
        if flow.execution_listeners:
            listeners.execution_listeners(rt, ic, token, flow, flow.execution_listeners, "take")
        history.flow_taken(rt, ic, token, flow)
        token = ic.execution(token.id)  # type: ignore[assignment]
        if token is None:
            continue
        update(ic, token, activity_id=flow.target_ref, is_active=True)
        rt.plan(enter, ic.id, token.id)


# --- ending executions, scopes and instances --------------------------------------------------


def finish_token(rt: Runtime, ic: InstanceContext, execution: ExecutionRecord) -> None:
    """A token is done (end event, or no outgoing flow); its scope may complete."""
    current = ic.execution(execution.id)
    if current is None:
        return
    current = history.activity_ended(rt, ic, current)
    remove_event_scope_children(rt, ic, current)
    delete_scope_variables(ic, current.id)
    ic.state.remove(current)
    close_event_sub_process_starts(rt, ic, current.parent_id)
    scope_may_complete(rt, ic, current.parent_id, current.activity_id)


def close_event_sub_process_starts(rt: Runtime, ic: InstanceContext, scope_id: str | None) -> None:
    """The scope's normal flow has ended (no token left outside running event sub-processes):
    its event sub-processes stop listening. Their start listeners go, with their message,
    signal and timer subscriptions and timer jobs (Flowable's ``EndExecutionOperation``); an
    event sub-process already running goes on, and the scope ends with it."""
    if scope_id is None:
        return
    starts = []
    for child in ic.state.children(scope_id):
        node = ic.model.elements.get(child.activity_id) if child.activity_id else None
        if child.is_event_scope:
            if isinstance(node, StartEvent):
                starts.append(child)
        elif not (isinstance(node, SubProcess) and node.triggered_by_event):
            return  # the normal flow goes on
    for listener in starts:
        cancel_execution(rt, ic, listener, None)


def scope_may_complete(
    rt: Runtime, ic: InstanceContext, scope_id: str | None, last_activity_id: str | None
) -> None:
    """When a scope has no token left: end the instance, leave the sub-process, or close the
    event sub-process. Otherwise re-check waiting inclusive joins (a token just vanished)."""
    scope = ic.execution(scope_id)
    if scope is None:
        return
    if ic.state.has_children(scope.id):
        rt.hooks.recheck_inclusive_joins(rt, ic, scope.id)
        return
    if scope.id == ic.id:
        end_instance(rt, ic, end_activity_id=last_activity_id)
        return
    node = ic.node(scope.activity_id)
    if isinstance(node, SubProcess) and node.triggered_by_event:
        finish_token(rt, ic, scope)
        return
    if isinstance(node, (SubProcess, Activity)) and scope.is_scope and not scope.is_mi_root:
        leave(rt, ic, scope, node)


def cancel_children(
    rt: Runtime,
    ic: InstanceContext,
    execution_id: str,
    reason: str | None,
    *,
    keep: str | None = None,
) -> None:
    """Cancel every child of an execution (and their subtrees), except ``keep``."""
    for child in ic.state.children(execution_id):
        if child.id != keep:
            cancel_execution(rt, ic, child, reason)


def cancel_execution(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, reason: str | None
) -> None:
    """Remove an execution and its subtree: tasks deleted, subscriptions dropped, history
    closed with ``reason``, called instances deleted, variables dropped."""
    cancel_children(rt, ic, execution.id, reason)
    state = ic.state
    for task in state.tasks_of(execution.id):
        cancel_task(rt, ic, task, reason)
    for subscription in state.subscriptions_of(execution.id):
        subscriptions.drop(rt, ic, subscription, reason)
    if execution.job_id:
        rt.emit(JobCancelled(ic.id, execution.job_id, reason))
    if execution.sub_instance_id:
        called = rt.instance(execution.sub_instance_id)
        end_instance(
            rt, called, delete_reason=reason or "call activity cancelled", notify_parent=False
        )
    history.activity_ended(rt, ic, execution, reason)
    delete_scope_variables(ic, execution.id)
    state.remove(execution)


def cancel_task(rt: Runtime, ic: InstanceContext, task: TaskRecord, reason: str | None) -> None:
    """Delete an open user task without completing it (history keeps ``reason``)."""
    ic.state.remove(task)
    history.task_ended(rt, ic, task, delete_reason=reason)
    rt.emit(TaskDeleted(ic.id, task.id, reason))


def end_instance(
    rt: Runtime,
    ic: InstanceContext,
    *,
    end_activity_id: str | None = None,
    delete_reason: str | None = None,
    notify_parent: bool = True,
    completed: bool | None = None,
) -> None:
    """End the instance: cancel what is left, close its header and history, and (for a called
    instance that completed) let the calling activity continue. ``completed`` defaults to
    "no ``delete_reason``"; a terminate end event completes with a reason."""
    header = ic.state.header
    if header.status.is_ended:
        return
    if completed is None:
        completed = delete_reason is None
    out_values = None
    if completed and header.super_execution_id and notify_parent:
        out_values = rt.hooks.call_out_values(rt, ic)
    cancel_children(rt, ic, ic.id, delete_reason)
    delete_scope_variables(ic, ic.id)
    root = ic.execution(ic.id)
    if root is not None:
        ic.state.remove(root)
    header = ic.state.put(
        replace(
            header,
            status=InstanceStatus.COMPLETED if completed else InstanceStatus.DELETED,
            end_time=rt.now_iso(),
            end_activity_id=end_activity_id,
            delete_reason=delete_reason,
        )
    )
    history.process_ended(rt, ic)
    rt.emit(InstanceEnded(ic.id, delete_reason, end_activity_id))
    if out_values is not None:
        rt.plan(
            rt.hooks.called_instance_completed,
            header.super_instance_id,
            header.super_execution_id,
            out_values,
        )
