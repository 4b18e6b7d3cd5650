"""Handlers of the event, timer and async-job commands (registered into the session's table).

Each handler is ``handler(session, rt, command) -> target instance id`` like the ones in
:mod:`.session`; the session runs the agenda afterwards and rolls everything back on error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.engine.runtime import events, flow, instances
from chalicelib.engine.runtime.commands import (
    DeliverMessage,
    DeliverSignal,
    FireTimer,
    RunAsyncJob,
    StartByEvent,
)
from chalicelib.engine.runtime.context import InstanceContext, Runtime, SessionPort
from chalicelib.engine.runtime.effects import JobKind
from chalicelib.engine.runtime.errors import UnknownTarget
from chalicelib.engine.runtime.records import SubscriptionType

__all__ = ["HANDLERS", "run_job"]


def _running(rt: Runtime, instance_id: str) -> InstanceContext:
    context = rt.instance(instance_id)
    if context.state.header.status.is_ended:
        raise UnknownTarget(f"Process instance {instance_id} has already ended")
    return context


def _fire_timer(session: SessionPort, rt: Runtime, command: FireTimer) -> str:
    context = _running(rt, command.instance_id)
    subscription = context.state.subscriptions.get(command.job_id)
    if subscription is None or subscription.type is not SubscriptionType.TIMER:
        raise UnknownTarget(
            f"Timer job {command.job_id} no longer exists in process instance {command.instance_id}"
        )
    events.fire(rt, context, subscription)
    return context.id


def _deliver_message(session: SessionPort, rt: Runtime, command: DeliverMessage) -> str:
    instance_id = command.instance_id
    if instance_id is None:
        if command.execution_id is None:
            raise UnknownTarget("A message needs a process instance or an execution to go to")
        instance_id = session.find_instance_of_execution(command.execution_id)
    context = _running(rt, instance_id)
    events.deliver_message(
        rt,
        context,
        command.message_name,
        dict(command.variables),
        command.execution_id,
        subscription_id=command.subscription_id,
    )
    return context.id


def _deliver_signal(session: SessionPort, rt: Runtime, command: DeliverSignal) -> str:
    context = _running(rt, command.instance_id)
    if command.execution_id is not None and context.execution(command.execution_id) is None:
        raise UnknownTarget(f"Execution {command.execution_id} not found")
    events.deliver_signal(
        rt, context, command.signal_name, dict(command.variables), command.execution_id
    )
    return context.id


def _run_async_job(session: SessionPort, rt: Runtime, command: RunAsyncJob) -> str:
    context = _running(rt, command.instance_id)
    run_job(rt, context, command.job_id, command.execution_id, command.activity_id, command.kind)
    return context.id


def _start_by_event(session: SessionPort, rt: Runtime, command: StartByEvent) -> str:
    model = session.definition(command.definition_id)
    context = instances.start_at(
        rt,
        model,
        command.definition_id,
        command.activity_id,
        dict(command.variables),
        business_key=command.business_key,
        initiator=command.initiator,
        instance_id=command.instance_id,
    )
    return context.id


def run_job(
    rt: Runtime,
    ic: InstanceContext,
    job_id: str,
    execution_id: str,
    activity_id: str | None,
    kind: str,
) -> None:
    """Run an async job (see :mod:`.jobs`): enter the activity (continuation) or take its
    outgoing flows (async after)."""
    execution = ic.execution(execution_id)
    if (
        execution is None
        or execution.job_id != job_id
        or (activity_id is not None and execution.activity_id != activity_id)
    ):
        raise UnknownTarget(
            f"Job {job_id} is not waiting to run (its execution moved on or it ran already)"
        )
    execution = flow.update(ic, execution, job_id=None)
    if kind == JobKind.ASYNC_CONTINUATION.value:
        rt.plan(flow.enter, ic.id, execution.id, True)
    elif kind == JobKind.ASYNC_AFTER.value:
        flow.resume_leave(rt, ic, execution)
    else:
        raise UnknownTarget(f"Job kind '{kind}' is not an async continuation")


HANDLERS: dict[type, Callable[[SessionPort, Runtime, Any], str]] = {
    FireTimer: _fire_timer,
    DeliverMessage: _deliver_message,
    DeliverSignal: _deliver_signal,
    RunAsyncJob: _run_async_job,
    StartByEvent: _start_by_event,
}
