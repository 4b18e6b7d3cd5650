"""Creating and starting process instances (by the start command and by call activities)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from chalicelib.engine.elements import StartEvent
from chalicelib.engine.model import ProcessDefinitionModel
from chalicelib.engine.runtime import events, flow, history
from chalicelib.engine.runtime.context import InstanceContext, Runtime
from chalicelib.engine.runtime.effects import InstanceStarted
from chalicelib.engine.runtime.errors import UnsupportedElement
from chalicelib.engine.runtime.records import ExecutionRecord, InstanceRecord
from chalicelib.engine.runtime.state import InstanceState
from chalicelib.engine.runtime.variables import set_variable_local

__all__ = ["new_instance", "start_instance", "start_at", "create_data_objects"]


def new_instance(
    rt: Runtime,
    model: ProcessDefinitionModel,
    definition_id: str,
    *,
    instance_id: str | None = None,
    business_key: str | None = None,
    start_user_id: str | None = None,
    name: str | None = None,
    super_instance_id: str | None = None,
    super_execution_id: str | None = None,
    root_instance_id: str | None = None,
) -> InstanceContext:
    """A fresh instance (header + root execution), registered with the session."""
    instance_id = instance_id or rt.new_id()
    start = model.initial_start_event
    header = InstanceRecord(
        id=instance_id,
        definition_id=definition_id,
        definition_key=model.key,
        name=name,
        business_key=business_key,
        start_user_id=start_user_id,
        start_time=rt.now_iso(),
        start_activity_id=start.id if start else None,
        super_instance_id=super_instance_id,
        super_execution_id=super_execution_id,
        root_instance_id=root_instance_id or instance_id,
    )
    state = InstanceState(header)
    state.put(
        ExecutionRecord(
            id=instance_id, instance_id=instance_id, is_scope=True, start_time=rt.now_iso()
        )
    )
    return rt.session.register(state, model, definition_id, created=True)


def start_instance(
    rt: Runtime, ic: InstanceContext, variables: Mapping[str, Any], initiator: str | None = None
) -> None:
    """Set the start variables on the instance and send the first token from the none start
    event (``flowable:initiator`` names the variable that receives the initiator)."""
    start = ic.model.initial_start_event
    if start is None:
        raise UnsupportedElement(ic.model.key, "the process has no none start event")
    create_data_objects(rt, ic, ic.id, None)
    for name, value in variables.items():
        set_variable_local(rt, ic, ic.id, name, value)
    if start.initiator:
        set_variable_local(rt, ic, ic.id, start.initiator, initiator)
    history.process_started(rt, ic)
    events.open_scope(rt, ic, ic.id, None)
    header = ic.state.header
    rt.emit(InstanceStarted(ic.id, ic.definition_id, header.business_key, header.super_instance_id))
    token = flow.create_execution(rt, ic, parent_id=ic.id, activity_id=start.id)
    rt.plan(flow.enter, ic.id, token.id)


def start_at(
    rt: Runtime,
    model: ProcessDefinitionModel,
    definition_id: str,
    activity_id: str,
    variables: Mapping[str, Any],
    *,
    business_key: str | None = None,
    initiator: str | None = None,
    instance_id: str | None = None,
) -> InstanceContext:
    """Start an instance at a process-level start event (message, signal or timer start)."""
    start = model.elements.get(activity_id)
    if not isinstance(start, StartEvent) or start.parent_id is not None:
        raise UnsupportedElement(activity_id, "not a process-level start event")
    ic = new_instance(
        rt,
        model,
        definition_id,
        instance_id=instance_id,
        business_key=business_key,
        start_user_id=initiator,
    )
    ic.state.put(replace(ic.state.header, start_activity_id=start.id))
    create_data_objects(rt, ic, ic.id, None)
    for name, value in variables.items():
        set_variable_local(rt, ic, ic.id, name, value)
    if start.initiator:
        set_variable_local(rt, ic, ic.id, start.initiator, initiator)
    history.process_started(rt, ic)
    header = ic.state.header
    rt.emit(InstanceStarted(ic.id, definition_id, header.business_key, None))
    events.open_scope(rt, ic, ic.id, None)
    token = flow.create_execution(rt, ic, parent_id=ic.id, activity_id=start.id)
    rt.plan(flow.enter, ic.id, token.id)
    return ic


def create_data_objects(
    rt: Runtime, ic: InstanceContext, scope_id: str, scope_node_id: str | None
) -> None:
    """A scope starts (the instance: ``scope_node_id`` None, or a sub-process): its named
    ``<dataObject>``s become local variables of the scope execution, with their typed values
    (Flowable's ``processDataObjects``; start variables of the same name then override)."""
    for data in ic.model.data_objects.get(scope_node_id, ()):
        if data.name:
            set_variable_local(rt, ic, scope_id, data.name, data.value)
