"""Catching messages, signals and timers: what happens when a subscription fires.

Where subscriptions live (``bpmn-semantics.md`` §1.1, §1.4):

- an intermediate catch event or a receive task with a message: on the waiting execution;
- a boundary event: on the boundary's event-scope child of the activity's execution (made
  when the activity starts, removed with it, see :func:`subscribe_boundary`);
- an event-based gateway: on the gateway's execution, one per following catch event, with
  ``configuration["gateway"]`` (the first to fire wins, the others are dropped);
- an event sub-process start: on an event-scope *listener* child of the enclosing scope
  execution (the instance, or the sub-process), made when the scope starts
  (:func:`open_scope`) and removed when it ends.

:func:`fire` runs a fired subscription; :func:`deliver_message` / :func:`deliver_signal`
correlate within one instance. :func:`start_event_subscriptions` describes the
definition-level (start event) subscriptions for the deploy step
(:func:`~.instances.start_at` starts an instance at one of those start events).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.engine.elements import (
    BoundaryEvent,
    EventRegistryDefinition,
    FlowNode,
    MessageDefinition,
    SignalDefinition,
    StartEvent,
    SubProcess,
    TimerDefinition,
)
from chalicelib.engine.model import ProcessDefinitionModel
from chalicelib.engine.runtime import flow, history, listeners, subscriptions
from chalicelib.engine.runtime.context import InstanceContext, Runtime
from chalicelib.engine.runtime.effects import EventDelivered, SignalThrown
from chalicelib.engine.runtime.errors import UnknownTarget
from chalicelib.engine.runtime.errors_events import Catch, _run_catch
from chalicelib.engine.runtime.records import (
    ExecutionRecord,
    SubscriptionRecord,
    SubscriptionType,
)
from chalicelib.engine.runtime.variables import set_variable
from chalicelib.errors import Conflict

__all__ = [
    "subscribe_boundary",
    "open_scope",
    "fire",
    "deliver_message",
    "deliver_signal",
    "throw_signal",
    "start_event_subscriptions",
    "enter_fired",
]


# --- creating subscriptions --------------------------------------------------------------------


def subscribe_boundary(
    rt: Runtime, ic: InstanceContext, listener: ExecutionRecord, boundary: BoundaryEvent
) -> None:
    """Subscribe a boundary event's listener execution to its message, signal or timer."""
    definition = subscriptions.catch_definition(boundary)
    if definition is not None:
        subscriptions.subscribe(rt, ic, listener.id, boundary, definition)


def open_scope(rt: Runtime, ic: InstanceContext, scope_id: str, scope_node_id: str | None) -> None:
    """A scope started (the instance: ``scope_node_id`` None, or a sub-process): one listener
    execution with its subscription per message/signal/timer event sub-process start."""
    for node in ic.model.children(scope_node_id):
        if not (isinstance(node, SubProcess) and node.triggered_by_event):
            continue
        for start in ic.model.start_events(node.id):
            definition = subscriptions.catch_definition(start)
            if definition is None:
                continue  # error / escalation starts are found by the throw, not subscribed
            listener = flow.create_execution(
                rt,
                ic,
                parent_id=scope_id,
                activity_id=start.id,
                is_event_scope=True,
                is_active=False,
            )
            subscriptions.subscribe(rt, ic, listener.id, start, definition)


# --- firing -----------------------------------------------------------------------------------


def fire(
    rt: Runtime,
    ic: InstanceContext,
    subscription: SubscriptionRecord,
    variables: Mapping[str, Any] | None = None,
) -> str:
    """Run a subscription that fired; ``variables`` are set from its execution first.
    Returns the id of the execution that received the event."""
    execution = ic.execution(subscription.execution_id)
    if execution is None:
        raise UnknownTarget(f"Execution {subscription.execution_id} not found")
    for name, value in (variables or {}).items():
        set_variable(rt, ic, execution.id, name, value)
    node = ic.node(subscription.activity_id)
    if subscription.configuration.get("gateway"):
        _fire_gateway(rt, ic, execution, subscription, node)
    elif isinstance(node, BoundaryEvent):
        _fire_boundary(rt, ic, execution, subscription, node)
    elif isinstance(node, StartEvent):
        _fire_event_sub_process(rt, ic, execution, subscription, node)
    else:  # intermediate catch event, receive task with a message
        subscriptions.consume(rt, ic, subscription, keep=False)
        subscriptions.drop_all(rt, ic, execution.id, f"event ({node.id})")
        flow.leave(rt, ic, ic.execution(execution.id) or execution, node)
    return execution.id


def _fire_boundary(
    rt: Runtime,
    ic: InstanceContext,
    listener: ExecutionRecord,
    subscription: SubscriptionRecord,
    node: BoundaryEvent,
) -> None:
    target = ic.execution(listener.parent_id)
    if target is None:
        raise UnknownTarget(f"The activity of boundary event {node.id} is not active")
    subscriptions.consume(rt, ic, subscription, keep=not node.cancel_activity)
    _run_catch(
        rt, ic, target, Catch(node, True, target.activity_id), interrupting=node.cancel_activity
    )


def _fire_event_sub_process(
    rt: Runtime,
    ic: InstanceContext,
    listener: ExecutionRecord,
    subscription: SubscriptionRecord,
    start: StartEvent,
) -> None:
    scope = ic.execution(listener.parent_id)
    if scope is None:
        raise UnknownTarget(f"The scope of event sub-process start {start.id} is not active")
    sub_process = ic.node(start.parent_id)
    if start.is_interrupting:
        subscriptions.consume(rt, ic, subscription, keep=False)
        flow.cancel_children(rt, ic, scope.id, f"event subprocess ({sub_process.id})")
    else:
        subscriptions.consume(rt, ic, subscription, keep=True)
    esp = flow.create_execution(
        rt, ic, parent_id=scope.id, activity_id=sub_process.id, is_scope=True
    )
    history.activity_started(rt, ic, esp, sub_process)
    open_scope(rt, ic, esp.id, sub_process.id)
    token = flow.create_execution(rt, ic, parent_id=esp.id, activity_id=start.id)
    rt.plan(flow.enter, ic.id, token.id)


def _fire_gateway(
    rt: Runtime,
    ic: InstanceContext,
    execution: ExecutionRecord,
    subscription: SubscriptionRecord,
    target: FlowNode,
) -> None:
    """First event wins: the other subscriptions go, the token takes the flow to the event
    that fired and passes through it."""
    gateway = ic.node(subscription.configuration["gateway"])
    subscriptions.consume(rt, ic, subscription, keep=False)
    subscriptions.drop_all(rt, ic, execution.id, f"event-based gateway ({target.id})")
    listeners.execution_listeners(rt, ic, execution, gateway, gateway.execution_listeners, "end")
    current = ic.execution(execution.id)
    if current is None:
        return
    current = history.activity_ended(rt, ic, current)
    chosen = ic.model.flows[subscription.configuration["flow"]]
    listeners.execution_listeners(rt, ic, current, chosen, chosen.execution_listeners, "take")
    history.flow_taken(rt, ic, current, chosen)
    current = ic.execution(current.id)
    if current is None:
        return
    flow.update(ic, current, activity_id=target.id, is_active=True)
    rt.plan(enter_fired, ic.id, current.id)


def enter_fired(rt: Runtime, instance_id: str, execution_id: str) -> None:
    """Agenda operation: enter an event whose trigger already happened and leave it."""
    ic = rt.instance(instance_id)
    execution = ic.execution(execution_id)
    if execution is None:
        return
    node = ic.node(execution.activity_id)
    execution = history.activity_started(rt, ic, execution, node)
    listeners.execution_listeners(rt, ic, execution, node, node.execution_listeners, "start")
    current = ic.execution(execution_id)
    if current is not None:
        flow.leave(rt, ic, current, node)


# --- delivery ---------------------------------------------------------------------------------


def _matching(
    ic: InstanceContext, kind: SubscriptionType, name: str, execution_id: str | None
) -> list[SubscriptionRecord]:
    return [
        s
        for s in ic.state.subscriptions.values()
        if s.type is kind
        and s.event_name == name
        and (execution_id is None or s.execution_id == execution_id)
    ]


def deliver_message(
    rt: Runtime,
    ic: InstanceContext,
    name: str,
    variables: Mapping[str, Any] | None = None,
    execution_id: str | None = None,
    *,
    subscription_id: str | None = None,
) -> str:
    """Deliver a message to the one subscription of that name in the instance (or on the
    given execution, or ``subscription_id``). None: :class:`UnknownTarget`; several: 409
    :class:`Conflict`."""
    found = _matching(ic, SubscriptionType.MESSAGE, name, execution_id)
    if subscription_id is not None:
        found = [s for s in found if s.id == subscription_id]
    if not found:
        where = f"execution {execution_id}" if execution_id else f"process instance {ic.id}"
        raise UnknownTarget(f"No subscription to a message event with name '{name}' in {where}")
    if len(found) > 1 and execution_id is None:
        raise Conflict(
            f"{len(found)} executions of process instance {ic.id} wait for message "
            f"'{name}': name the executionId",
            {"count": len(found)},
        )
    receiver = fire(rt, ic, found[0], variables)
    rt.emit(EventDelivered(ic.id, "message", name, (receiver,)))
    return receiver


def deliver_signal(
    rt: Runtime,
    ic: InstanceContext,
    name: str,
    variables: Mapping[str, Any] | None = None,
    execution_id: str | None = None,
) -> list[str]:
    """Deliver a signal to every subscription of that name in the instance (or on the given
    execution); returns the receiving execution ids (possibly none)."""
    receivers: list[str] = []
    for subscription in _matching(ic, SubscriptionType.SIGNAL, name, execution_id):
        if (
            subscription.id in ic.state.subscriptions
            and ic.execution(subscription.execution_id) is not None
        ):
            receivers.append(fire(rt, ic, subscription, variables))
    rt.emit(EventDelivered(ic.id, "signal", name, tuple(receivers)))
    return receivers


def throw_signal(
    rt: Runtime,
    ic: InstanceContext,
    execution: ExecutionRecord,
    node: FlowNode,
    definition: SignalDefinition,
) -> None:
    """An intermediate signal throw: delivered synchronously within this instance; a global
    signal is also reported as :class:`SignalThrown` for the other instances."""
    name = definition.signal_name or definition.signal_ref or ""
    deliver_signal(rt, ic, name)
    if definition.scope != "processInstance":
        rt.emit(SignalThrown(ic.id, name, node.id, {}))


# --- definition level: start events -----------------------------------------------------------


def start_event_subscriptions(model: ProcessDefinitionModel) -> list[dict[str, Any]]:
    """The definition-level subscriptions of the process's start events, for the deploy step.

    One dict per message, signal or timer start event: ``{"type": "message"|"signal"|"timer",
    "activity_id", "event_name"}`` plus ``"scope"`` for signals and ``"timer":
    {"timeDate"|"timeDuration"|"timeCycle": text, "endDate": text|None}`` for timers (compute
    the first due time with :func:`~.timers_rt.first_configuration`).
    """
    out: list[dict[str, Any]] = []
    for start in model.start_events(None):
        for definition in start.event_definitions[:1]:
            entry: dict[str, Any] = {"activity_id": start.id}
            if isinstance(definition, EventRegistryDefinition):
                continue  # registered by the event registry (service.definitions.event_registry)
            if isinstance(definition, MessageDefinition):
                entry |= {
                    "type": SubscriptionType.MESSAGE.value,
                    "event_name": definition.message_name or definition.message_ref,
                }
            elif isinstance(definition, SignalDefinition):
                entry |= {
                    "type": SubscriptionType.SIGNAL.value,
                    "event_name": definition.signal_name or definition.signal_ref,
                    "scope": definition.scope,
                }
            elif isinstance(definition, TimerDefinition):
                timer: dict[str, str | None] = {
                    key: value
                    for key, value in (
                        ("timeDate", definition.time_date),
                        ("timeDuration", definition.time_duration),
                        ("timeCycle", definition.time_cycle),
                    )
                    if value
                }
                timer["endDate"] = definition.end_date
                entry |= {"type": SubscriptionType.TIMER.value, "event_name": None, "timer": timer}
            else:
                continue
            out.append(entry)
    return out
