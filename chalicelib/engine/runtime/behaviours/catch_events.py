"""Wait states that listen for events: intermediate catch events, receive tasks with a
message, event-based gateways; and intermediate throw events that throw a signal."""

from __future__ import annotations

from chalicelib.engine.elements import (
    EventBasedGateway,
    IntermediateCatchEvent,
    IntermediateThrowEvent,
    ReceiveTask,
    SignalDefinition,
)
from chalicelib.engine.runtime import events, flow, subscriptions
from chalicelib.engine.runtime.behaviours import events as basic_events
from chalicelib.engine.runtime.behaviours import tasks
from chalicelib.engine.runtime.context import InstanceContext, Runtime
from chalicelib.engine.runtime.errors import UnsupportedElement
from chalicelib.engine.runtime.records import ExecutionRecord

__all__ = [
    "intermediate_catch_event",
    "receive_task",
    "event_based_gateway",
    "intermediate_throw_event",
]


def intermediate_catch_event(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, node: IntermediateCatchEvent
) -> None:
    """Wait for the message, signal or timer (a timer cycle already over: go on)."""
    definition = subscriptions.catch_definition(node)
    if definition is None:
        raise UnsupportedElement(
            node.id, "intermediate catch events need a message, signal or timer definition"
        )
    if subscriptions.subscribe(rt, ic, execution.id, node, definition) is None:
        flow.leave(rt, ic, execution, node)


def receive_task(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, node: ReceiveTask
) -> None:
    """With ``messageRef``: wait for that message; without: wait for a trigger."""
    definition = subscriptions.catch_definition(node)
    if definition is None:
        tasks.receive_task(rt, ic, execution, node)
    else:
        subscriptions.subscribe(rt, ic, execution.id, node, definition)


def event_based_gateway(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, node: EventBasedGateway
) -> None:
    """Subscribe the gateway's execution to every following event; the first one wins."""
    subscribed = 0
    for sequence_flow in ic.model.outgoing(node.id):
        target = ic.node(sequence_flow.target_ref)
        definition = subscriptions.catch_definition(target)
        if definition is None:
            raise UnsupportedElement(
                node.id,
                f"'{target.id}' after an event-based gateway waits for no message, signal or timer",
            )
        if (
            subscriptions.subscribe(
                rt,
                ic,
                execution.id,
                target,
                definition,
                extra={"gateway": node.id, "flow": sequence_flow.id},
            )
            is not None
        ):
            subscribed += 1
    if not subscribed:
        raise UnsupportedElement(node.id, "the event-based gateway has no event to wait for")


def intermediate_throw_event(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, node: IntermediateThrowEvent
) -> None:
    """A signal throw delivers its signal, then the token goes on; others as before."""
    definition = node.event_definitions[0] if node.event_definitions else None
    if not isinstance(definition, SignalDefinition):
        basic_events.intermediate_throw_event(rt, ic, execution, node)
        return
    events.throw_signal(rt, ic, execution, node, definition)
    current = ic.execution(execution.id)
    if current is not None:
        flow.leave(rt, ic, current, node)
