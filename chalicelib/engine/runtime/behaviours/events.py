"""Start, end, intermediate throw and boundary events."""

from __future__ import annotations

from chalicelib.engine.elements import (
    BoundaryEvent,
    EndEvent,
    ErrorDefinition,
    EscalationDefinition,
    IntermediateThrowEvent,
    StartEvent,
    TerminateDefinition,
)
from chalicelib.engine.runtime import errors_events, flow, history
from chalicelib.engine.runtime.context import InstanceContext, Runtime
from chalicelib.engine.runtime.errors import UnsupportedElement
from chalicelib.engine.runtime.records import ExecutionRecord

__all__ = [
    "TERMINATE_END_EVENT",
    "start_event",
    "end_event",
    "intermediate_throw_event",
    "boundary_event",
    "terminate",
]

#: Flowable's ``DeleteReason.TERMINATE_END_EVENT``
TERMINATE_END_EVENT = "terminate end event"


def start_event(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, node: StartEvent
) -> None:
    """A start event (of the process, a sub-process or an event sub-process): go on."""
    flow.leave(rt, ic, execution, node)


def boundary_event(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, node: BoundaryEvent
) -> None:
    """A boundary event that fired: take its outgoing flows."""
    flow.leave(rt, ic, execution, node)


def end_event(rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, node: EndEvent) -> None:
    """None end: the token ends (its end listeners run, as Flowable's). Terminate, error and
    escalation ends as in Flowable."""
    definition = node.event_definitions[0] if node.event_definitions else None
    if definition is None:  # Flowable takes the (no) outgoing flows: end listeners, asyncLeave
        flow.leave(rt, ic, execution, node)
    elif isinstance(definition, TerminateDefinition):
        terminate(rt, ic, execution, node, definition)
    elif isinstance(definition, ErrorDefinition):
        errors_events.throw_error(rt, ic, execution, node.id, definition.error_code)
    elif isinstance(definition, EscalationDefinition):
        errors_events.throw_escalation(rt, ic, execution, node.id, definition.escalation_code)
        flow.finish_token(rt, ic, execution)  # no-op when an interrupting catch removed it
    else:
        raise UnsupportedElement(
            node.id, f"{type(definition).__name__} end events are not executed"
        )


def intermediate_throw_event(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, node: IntermediateThrowEvent
) -> None:
    """None throw passes through; an escalation throw propagates, then the token goes on."""
    definition = node.event_definitions[0] if node.event_definitions else None
    if definition is None:
        flow.leave(rt, ic, execution, node)
    elif isinstance(definition, EscalationDefinition):
        errors_events.throw_escalation(rt, ic, execution, node.id, definition.escalation_code)
        current = ic.execution(execution.id)
        if current is not None:
            flow.leave(rt, ic, current, node)
    else:
        raise UnsupportedElement(
            node.id, f"{type(definition).__name__} throw events are not executed yet"
        )


def terminate(
    rt: Runtime,
    ic: InstanceContext,
    execution: ExecutionRecord,
    node: EndEvent,
    definition: TerminateDefinition,
) -> None:
    """Flowable's ``TerminateEndEventActivityBehavior``. The token ends here; then

    - ``terminateAll``: the root process instance ends (called instances included);
    - ``terminateMultiInstance`` inside a multi-instance: the whole multi-instance activity
      (every instance) ends and the process continues after it;
    - otherwise the enclosing scope: the instance at process level (a called instance's
      caller then continues), the sub-process (one instance of a multi-instance sub-process:
      it counts as completed), whose token then leaves it.

    History keeps Flowable's delete reason, ``terminate end event (<end event id>)``, on the
    ended process instance, the end event and every activity it cuts short (a called
    instance ended this way: ``terminate end event``)."""
    reason = f"{TERMINATE_END_EVENT} ({node.id})"
    scope_id = execution.parent_id
    history.activity_ended(rt, ic, execution, reason)
    ic.state.remove(ic.execution(execution.id))  # type: ignore[arg-type]
    if definition.terminate_all:
        _terminate_root(rt, ic, node, reason)
        return
    if definition.terminate_multi_instance:
        root = _first_mi_root(ic, scope_id)
        if root is not None:
            _terminate_multi_instance(rt, ic, root)
            return
    if scope_id == ic.id or scope_id is None:
        called = ic.state.header.super_execution_id is not None
        flow.cancel_children(rt, ic, ic.id, reason)
        flow.end_instance(
            rt,
            ic,
            end_activity_id=node.id,
            delete_reason=TERMINATE_END_EVENT if called else reason,
            completed=True,
        )
        return
    flow.cancel_children(rt, ic, scope_id, reason)
    scope = ic.execution(scope_id)
    if scope is not None:  # the sub-process's own history ends with the reason too
        history.activity_ended(rt, ic, scope, reason)
    flow.scope_may_complete(rt, ic, scope_id, node.id)


def _terminate_root(rt: Runtime, ic: InstanceContext, node: EndEvent, reason: str) -> None:
    """``terminateAll``: end the root process instance (the caller of the callers)."""
    root_id = ic.state.header.root_instance_id or ic.id
    root = ic if root_id == ic.id else rt.instance(root_id)
    flow.cancel_children(rt, root, root.id, reason)
    flow.end_instance(
        rt, root, end_activity_id=node.id, delete_reason=reason, completed=True, notify_parent=False
    )


def _first_mi_root(ic: InstanceContext, execution_id: str | None) -> ExecutionRecord | None:
    """The nearest multi-instance root above ``execution_id`` in this instance, if any."""
    current = ic.execution(execution_id)
    while current is not None and current.id != ic.id:
        if current.is_mi_root:
            return current
        current = ic.execution(current.parent_id)
    return None


def _terminate_multi_instance(rt: Runtime, ic: InstanceContext, root: ExecutionRecord) -> None:
    """End every instance of the multi-instance activity and leave it (its outgoing flows, or
    its leave job with ``asyncLeave``)."""
    activity = ic.node(root.activity_id)
    flow.cancel_children(rt, ic, root.id, f"{TERMINATE_END_EVENT} ({activity.id})")
    flow.delete_scope_variables(ic, root.id)
    root = flow.update(
        ic, ic.state.executions[root.id], is_mi_root=False, is_scope=False, is_active=True
    )
    flow.leave_multi_instance(rt, ic, root, activity)
