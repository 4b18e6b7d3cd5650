"""BPMN errors and escalations: find the catching event, then run it.

Search (Flowable's propagation): from the throwing node, look at the boundary events of the
activity itself (when an activity throws: a call activity whose called instance threw), then
at the event sub-processes of the enclosing scope, then at the boundary events of that scope
(a sub-process), and so on up to the process level; then on through the call activity into
the calling instance. At each level an exact code match wins over a catch-all (an event
definition without a code). An uncaught error fails the command
(``ProcessFailure("bpmn-error")``); an uncaught escalation is only reported.

Error boundary events always interrupt; escalation boundaries and event sub-processes follow
``cancelActivity``/``isInterrupting``. An escalation that reaches a *calling* instance starts
the catching event sub-process without interrupting (the thrower's instance goes on, as the
corpus test ``testCatchChildProcessThrowEventInEventSubprocess`` expects).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from chalicelib.engine.elements import (
    BoundaryEvent,
    ErrorDefinition,
    EscalationDefinition,
    StartEvent,
    SubProcess,
)
from chalicelib.engine.model import ProcessDefinitionModel
from chalicelib.engine.runtime import flow, history, subscriptions
from chalicelib.engine.runtime.context import InstanceContext, Runtime
from chalicelib.engine.runtime.effects import EscalationUncaught, JobCancelled
from chalicelib.engine.runtime.records import ExecutionRecord
from chalicelib.errors import ProcessFailure

__all__ = ["throw_error", "throw_escalation", "Catch"]

_DEFINITION: dict[str, type[ErrorDefinition | EscalationDefinition]] = {
    "error": ErrorDefinition,
    "escalation": EscalationDefinition,
}


@dataclass(frozen=True, slots=True)
class Catch:
    """Where a throw is caught: a boundary event on ``anchor`` (an activity id), or an event
    sub-process start in scope ``anchor`` (None: the process level)."""

    event: BoundaryEvent | StartEvent
    on_boundary: bool
    anchor: str | None


def _code(definition: object, kind: str) -> str | None:
    return getattr(definition, "error_code" if kind == "error" else "escalation_code")


def _match(
    candidates: Iterable[BoundaryEvent | StartEvent], kind: str, code: str | None
) -> BoundaryEvent | StartEvent | None:
    catch_all = None
    for event in candidates:
        for definition in event.event_definitions:
            if not isinstance(definition, _DEFINITION[kind]):
                continue
            wanted = _code(definition, kind)
            if wanted is None:
                catch_all = catch_all or event
            elif wanted == code:
                return event
    return catch_all


def find_catch(
    model: ProcessDefinitionModel,
    node_id: str,
    kind: str,
    code: str | None,
    *,
    include_own_boundaries: bool,
) -> Catch | None:
    """The catching event for a throw at ``node_id`` within one process model."""
    current = node_id
    check_boundaries = include_own_boundaries
    while True:
        if check_boundaries:
            found = _match(model.boundary_events(current), kind, code)
            if found is not None:
                return Catch(found, True, current)
        check_boundaries = True
        scope_id = model.elements[current].parent_id
        starts = [
            start
            for node in model.children(scope_id)
            if isinstance(node, SubProcess) and node.triggered_by_event and node.id != current
            for start in model.start_events(node.id)
        ]
        found = _match(starts, kind, code)
        if found is not None:
            return Catch(found, False, scope_id)
        if scope_id is None:
            return None
        current = scope_id


def _execution_for(
    ic: InstanceContext, execution: ExecutionRecord, catch: Catch
) -> ExecutionRecord | None:
    """The execution that carries the catch's anchor, found up from the thrower."""
    if not catch.on_boundary and catch.anchor is None:
        return ic.execution(ic.id)
    current: ExecutionRecord | None = execution
    while current is not None:
        if current.activity_id == catch.anchor and (catch.on_boundary or current.is_scope):
            if catch.on_boundary:  # a multi-instance activity: the boundary is on its root
                parent = ic.execution(current.parent_id)
                while parent is not None and parent.activity_id == catch.anchor:
                    current, parent = parent, ic.execution(parent.parent_id)
            return current
        current = ic.execution(current.parent_id)
    return None


def _propagate(
    rt: Runtime,
    ic: InstanceContext,
    execution: ExecutionRecord,
    node_id: str,
    kind: str,
    code: str | None,
    include_self: bool = False,
) -> tuple[InstanceContext, ExecutionRecord, Catch, bool] | None:
    """Search this instance, then the calling ones. Returns where it is caught."""
    crossed = False
    while True:
        catch = find_catch(ic.model, node_id, kind, code, include_own_boundaries=include_self)
        if catch is not None:
            target = _execution_for(ic, execution, catch)
            if target is not None:
                return ic, target, catch, crossed
        header = ic.state.header
        if not header.super_execution_id:
            return None
        ic = rt.instance(header.super_instance_id)  # type: ignore[arg-type]
        execution = ic.execution(header.super_execution_id)  # type: ignore[assignment]
        if execution is None:
            return None
        node_id, include_self, crossed = execution.activity_id, True, True  # type: ignore[assignment]


def throw_error(
    rt: Runtime,
    ic: InstanceContext,
    execution: ExecutionRecord,
    node_id: str,
    code: str | None,
    *,
    from_activity: bool = False,
) -> None:
    """Throw a BPMN error from ``node_id``; raises ``ProcessFailure`` when nobody catches it.
    ``from_activity``: the activity itself failed with it (an HTTP task's ``HTTP404``), so its
    own boundary events catch it first; else it is an end or throw event's."""
    found = _propagate(rt, ic, execution, node_id, "error", code, from_activity)
    if found is None:
        raise ProcessFailure(
            "bpmn-error",
            f"No catching boundary event found for error with errorCode "
            f"'{code}', neither in same process nor in parent process",
            node_id,
            code,
        )
    catch_ic, target, catch, _ = found
    _run_catch(rt, catch_ic, target, catch, interrupting=True)


def throw_escalation(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, node_id: str, code: str | None
) -> None:
    """Throw an escalation; uncaught it is only reported (:class:`EscalationUncaught`)."""
    found = _propagate(rt, ic, execution, node_id, "escalation", code)
    if found is None:
        rt.emit(EscalationUncaught(ic.id, node_id, code))
        return
    catch_ic, target, catch, crossed = found
    if catch.on_boundary:
        interrupting = catch.event.cancel_activity  # type: ignore[union-attr]
    else:
        interrupting = catch.event.is_interrupting and not crossed  # type: ignore[union-attr]
    _run_catch(rt, catch_ic, target, catch, interrupting=interrupting)


def _run_catch(
    rt: Runtime, ic: InstanceContext, target: ExecutionRecord, catch: Catch, *, interrupting: bool
) -> None:
    event = catch.event
    if catch.on_boundary:
        if interrupting:
            token = _interrupt(rt, ic, target, f"boundary event ({event.id})")
            token = flow.update(
                ic,
                token,
                activity_id=event.id,
                is_active=True,
                is_scope=False,
                is_mi_root=False,
                loop_counter=None,
                sub_instance_id=None,
            )
        else:
            token = flow.create_execution(
                rt, ic, parent_id=target.parent_id, activity_id=event.id, is_concurrent=True
            )
        rt.plan(flow.enter, ic.id, token.id)
        return
    if interrupting:
        reason = f"event subprocess ({event.parent_id})"
        for child in ic.state.children(target.id):
            if not child.is_event_scope:
                flow.cancel_execution(rt, ic, child, reason)
    sub_process = ic.node(event.parent_id)
    scope = flow.create_execution(
        rt, ic, parent_id=target.id, activity_id=sub_process.id, is_scope=True
    )
    history.activity_started(rt, ic, scope, sub_process)
    token = flow.create_execution(rt, ic, parent_id=scope.id, activity_id=event.id)
    rt.plan(flow.enter, ic.id, token.id)


def _interrupt(
    rt: Runtime, ic: InstanceContext, target: ExecutionRecord, reason: str
) -> ExecutionRecord:
    """Cancel everything below ``target`` and close its activity; keep the execution."""
    flow.cancel_children(rt, ic, target.id, reason)
    state = ic.state
    for task in state.tasks_of(target.id):
        flow.cancel_task(rt, ic, task, reason)
    for subscription in state.subscriptions_of(target.id):
        subscriptions.drop(rt, ic, subscription, reason)
    if target.sub_instance_id:
        flow.end_instance(
            rt, rt.instance(target.sub_instance_id), delete_reason=reason, notify_parent=False
        )
    current = ic.execution(target.id) or target
    if current.job_id:  # an action task's job (HTTP, mail, external worker) is void now
        rt.emit(JobCancelled(ic.id, current.job_id, reason))
        current = flow.update(ic, current, job_id=None)
    current = history.activity_ended(rt, ic, current, reason)
    flow.delete_scope_variables(ic, current.id)
    return current
