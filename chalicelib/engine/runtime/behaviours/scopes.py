"""Embedded sub-processes and call activities."""

from __future__ import annotations

from typing import Any

from chalicelib.engine.elements import CallActivity, SubProcess
from chalicelib.engine.parts import CallMapping
from chalicelib.engine.runtime import events, flow, instances
from chalicelib.engine.runtime.context import InstanceContext, Runtime
from chalicelib.engine.runtime.errors import UnsupportedElement
from chalicelib.engine.runtime.records import ExecutionRecord
from chalicelib.engine.runtime.variables import (
    MISSING,
    eval_text,
    get_variable,
    set_variable,
    visible_variables,
)

__all__ = ["sub_process", "call_activity", "out_values", "called_instance_completed"]


def sub_process(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, node: SubProcess
) -> None:
    """The arriving execution becomes the sub-process scope (its local variables live on
    it); a child token starts at the sub-process's none start event."""
    if node.triggered_by_event:
        raise UnsupportedElement(node.id, "an event sub-process cannot be entered by a flow")
    starts = [s for s in ic.model.start_events(node.id) if not s.event_definitions]
    if not starts:
        raise UnsupportedElement(node.id, "the sub-process has no none start event")
    scope = flow.update(ic, execution, is_scope=True)
    instances.create_data_objects(rt, ic, scope.id, node.id)
    events.open_scope(rt, ic, scope.id, node.id)
    token = flow.create_execution(rt, ic, parent_id=scope.id, activity_id=starts[0].id)
    rt.plan(flow.enter, ic.id, token.id)


def _mapped_value(
    rt: Runtime,
    ic: InstanceContext,
    execution_id: str | None,
    mapping: CallMapping,
    activity_id: str,
) -> Any:
    if mapping.source_expression:
        return eval_text(rt, ic, execution_id, mapping.source_expression, activity_id=activity_id)
    value = get_variable(ic, execution_id, mapping.source or "")
    return None if value is MISSING else value


def _target(
    rt: Runtime, ic: InstanceContext, execution_id: str, mapping: CallMapping, activity_id: str
) -> str | None:
    if mapping.target:
        return mapping.target
    if mapping.target_expression:
        return str(
            eval_text(rt, ic, execution_id, mapping.target_expression, activity_id=activity_id)
        )
    return None


def call_activity(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, node: CallActivity
) -> None:
    """Start the called process (latest version of the key) with the in mappings; it runs
    to its first wait state in this same command. The call activity waits for it."""
    key = eval_text(rt, ic, execution.id, node.called_element, activity_id=node.id)
    if not key:
        raise UnsupportedElement(node.id, "the call activity names no calledElement")
    definition_id, model = rt.session.resolve_key(str(key))
    variables: dict[str, Any] = {}
    if node.inherit_variables:
        variables.update(visible_variables(ic, execution.id))
    for mapping in node.in_mappings:
        target = _target(rt, ic, execution.id, mapping, node.id)
        if target:
            variables[target] = _mapped_value(rt, ic, execution.id, mapping, node.id)
    header = ic.state.header
    if node.business_key:
        business_key = eval_text(rt, ic, execution.id, node.business_key, activity_id=node.id)
    else:
        business_key = header.business_key if node.inherit_business_key else None
    called = instances.new_instance(
        rt,
        model,
        definition_id,
        business_key=None if business_key is None else str(business_key),
        super_instance_id=ic.id,
        super_execution_id=execution.id,
        root_instance_id=header.root_instance_id or ic.id,
        name=eval_text(rt, ic, execution.id, node.process_instance_name, activity_id=node.id),
    )
    flow.update(ic, execution, sub_instance_id=called.id)
    instances.start_instance(rt, called, variables)


def out_values(rt: Runtime, called: InstanceContext) -> dict[str, Any]:
    """Evaluate the calling activity's out mappings in the called instance, before it is
    cleaned up."""
    header = called.state.header
    parent = rt.instance(header.super_instance_id)  # type: ignore[arg-type]
    execution = parent.execution(header.super_execution_id)
    if execution is None:
        return {}
    node = parent.node(execution.activity_id)
    values: dict[str, Any] = {}
    for mapping in getattr(node, "out_mappings", ()):
        target = _target(rt, parent, execution.id, mapping, node.id)
        if target:
            values[target] = _mapped_value(rt, called, called.id, mapping, node.id)
    return values


def called_instance_completed(
    rt: Runtime, instance_id: str, execution_id: str, values: dict[str, Any]
) -> None:
    """Agenda operation: the called instance ended; apply out mappings and go on."""
    ic = rt.instance(instance_id)
    execution = ic.execution(execution_id)
    if execution is None:
        return
    execution = flow.update(ic, execution, sub_instance_id=None)
    for name, value in values.items():
        set_variable(rt, ic, execution.id, name, value)
    flow.leave(rt, ic, execution)
