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

__all__ = ["start_event", "end_event", "intermediate_throw_event", "boundary_event", "terminate"]


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
    """None end: the token ends. Terminate, error and escalation ends as in Flowable."""
    definition = node.event_definitions[0] if node.event_definitions else None
    if definition is None:
        flow.finish_token(rt, ic, execution)
    elif isinstance(definition, TerminateDefinition):
        terminate(rt, ic, execution, node, definition.terminate_all)
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
    terminate_all: bool,
) -> None:
    """End the enclosing scope: the whole instance at process level (or with terminateAll),
    only the sub-process (or the one multi-instance instance) inside one."""
    reason = f"terminate end event ({node.id})"
    scope_id = execution.parent_id
    history.activity_ended(rt, ic, execution)
    ic.state.remove(ic.execution(execution.id))  # type: ignore[arg-type]
    if terminate_all or scope_id == ic.id or scope_id is None:
        flow.cancel_children(rt, ic, ic.id, reason)
        flow.end_instance(rt, ic, end_activity_id=node.id)
        return
    flow.cancel_children(rt, ic, scope_id, reason)
    flow.scope_may_complete(rt, ic, scope_id, node.id)
