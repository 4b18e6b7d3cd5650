"""Message, signal and timer subscriptions as records, and the jobs of timers as effects.

A waiting execution listens through :class:`~.records.SubscriptionRecord` items:

- message: ``event_name`` = the message name; signal: the signal name (``configuration``
  carries its ``scope``);
- timer: ``configuration`` is the timer configuration of :mod:`.timers_rt` (with ``due``).
  The subscription's id is also the id of its job (``rt.new_child_id``, so it names the
  instance): creating one emits :class:`~.effects.JobRequested` (kind ``timer``), removing one
  that did not fire emits :class:`~.effects.JobCancelled`.

Everything that removes subscriptions goes through :func:`drop` so that no timer job is left
behind for a subscription that no longer exists.
"""

from __future__ import annotations

from typing import Any

from chalicelib.engine.elements import (
    EventRegistryDefinition,
    FlowNode,
    MessageDefinition,
    ReceiveTask,
    SignalDefinition,
    TimerDefinition,
)
from chalicelib.engine.runtime import timers_rt
from chalicelib.engine.runtime.context import InstanceContext, Runtime
from chalicelib.engine.runtime.effects import JobCancelled, JobKind, JobRequested
from chalicelib.engine.runtime.records import SubscriptionRecord, SubscriptionType
from chalicelib.engine.runtime.variables import eval_text
from chalicelib.errors import ProcessFailure

__all__ = [
    "CatchDefinition",
    "catch_definition",
    "subscribe",
    "drop",
    "drop_all",
    "consume",
    "renew_timer",
    "is_cycle",
]

CatchDefinition = MessageDefinition | SignalDefinition | TimerDefinition

_TYPES = {
    MessageDefinition: SubscriptionType.MESSAGE,
    SignalDefinition: SubscriptionType.SIGNAL,
    TimerDefinition: SubscriptionType.TIMER,
}


def catch_definition(node: FlowNode) -> CatchDefinition | None:
    """The message, signal or timer a node waits for (a receive task: its message)."""
    if isinstance(node, ReceiveTask):
        if node.event_registry is not None:
            return node.event_registry
        if node.message_ref:
            name = getattr(node, "message_name", None) or node.message_ref
            return MessageDefinition(message_ref=node.message_ref, message_name=name)
        return None
    for definition in getattr(node, "event_definitions", ()):
        if isinstance(definition, (MessageDefinition, SignalDefinition, TimerDefinition)):
            return definition
    return None


def subscribe(
    rt: Runtime,
    ic: InstanceContext,
    execution_id: str,
    node: FlowNode,
    definition: CatchDefinition,
    *,
    extra: dict[str, Any] | None = None,
) -> SubscriptionRecord | None:
    """Create the subscription of ``execution_id`` for ``node``'s event (a timer also
    requests its job). Returns None for a timer cycle that will never fire again."""
    kind = SubscriptionType.MESSAGE
    for cls, subscription_type in _TYPES.items():
        if isinstance(definition, cls):
            kind = subscription_type
    configuration: dict[str, Any] = dict(extra or {})
    if isinstance(definition, EventRegistryDefinition):
        configuration["eventType"] = definition.event_type
        configuration["correlation"] = {
            name: eval_text(rt, ic, execution_id, value, activity_id=node.id)
            for name, value in definition.correlation
        }
        configuration["outParameters"] = [list(p) for p in definition.out_parameters]
    name: str | None = None
    if isinstance(definition, MessageDefinition):
        name = definition.message_name or definition.message_ref
    elif isinstance(definition, SignalDefinition):
        name = definition.signal_name or definition.signal_ref
        configuration["scope"] = definition.scope
    else:
        timer = _timer_configuration(rt, ic, execution_id, node, definition)
        if timer is None:
            return None
        configuration.update(timer)
    return _create(rt, ic, kind, execution_id, node.id, name, configuration)


def _create(
    rt: Runtime,
    ic: InstanceContext,
    kind: SubscriptionType,
    execution_id: str,
    activity_id: str,
    name: str | None,
    configuration: dict[str, Any],
) -> SubscriptionRecord:
    is_timer = kind is SubscriptionType.TIMER
    record = SubscriptionRecord(
        id=rt.new_child_id(ic.id) if is_timer else rt.new_id(),
        instance_id=ic.id,
        type=kind,
        execution_id=execution_id,
        activity_id=activity_id,
        event_name=name,
        created=rt.now_iso(),
        configuration=configuration,
    )
    ic.state.put(record)
    if is_timer:
        node = ic.model.elements.get(activity_id)
        rt.emit(
            JobRequested(
                ic.id,
                JobKind.TIMER.value,
                execution_id,
                activity_id,
                configuration["due"],
                job_id=record.id,
                payload={
                    "handler": "trigger-timer",
                    "subscription_id": record.id,
                    "exclusive": bool(getattr(node, "exclusive", True)),
                    "timer": configuration.get("timer"),
                    "repeat": configuration.get("repeat"),
                    "remaining": configuration.get("remaining"),
                },
            )
        )
    return record


def _timer_configuration(
    rt: Runtime, ic: InstanceContext, execution_id: str, node: FlowNode, definition: TimerDefinition
) -> dict[str, Any] | None:
    def resolve(text: str) -> Any:
        return eval_text(rt, ic, execution_id, text, activity_id=node.id)

    try:
        return timers_rt.first_configuration(definition, rt.now(), resolve)
    except ValueError as exc:
        raise ProcessFailure(
            "expression", f"Invalid timer of '{node.id}': {exc}", node.id
        ) from None


def wait_for_trigger(rt: Runtime, ic: InstanceContext, execution_id: str, activity_id: str) -> None:
    """The execution waits for the trigger command (receive task, triggerable service task,
    external worker task): a ``TRIGGER`` subscription on it."""
    ic.state.put(
        SubscriptionRecord(
            id=rt.new_id(),
            instance_id=ic.id,
            type=SubscriptionType.TRIGGER,
            execution_id=execution_id,
            activity_id=activity_id,
            event_name=None,
            created=rt.now_iso(),
        )
    )


def is_cycle(subscription: SubscriptionRecord) -> bool:
    """True for a timer with a cycle (it may fire again)."""
    return (
        subscription.type is SubscriptionType.TIMER
        and subscription.configuration.get("timer") == timers_rt.TimerKind.CYCLE.value
    )


def drop(
    rt: Runtime, ic: InstanceContext, subscription: SubscriptionRecord, reason: str | None = None
) -> None:
    """Remove a subscription that did not fire (its timer job is cancelled)."""
    if subscription.id not in ic.state.subscriptions:
        return
    ic.state.remove(subscription)
    if subscription.type is SubscriptionType.TIMER:
        rt.emit(JobCancelled(ic.id, subscription.id, reason))


def drop_all(
    rt: Runtime,
    ic: InstanceContext,
    execution_id: str,
    reason: str | None = None,
    *,
    types: tuple[SubscriptionType, ...] | None = None,
) -> None:
    """Remove the subscriptions of an execution (optionally only some types)."""
    for subscription in ic.state.subscriptions_of(execution_id):
        if types is None or subscription.type in types:
            drop(rt, ic, subscription, reason)


def consume(
    rt: Runtime, ic: InstanceContext, subscription: SubscriptionRecord, *, keep: bool
) -> None:
    """The subscription fired. ``keep`` (non-interrupting boundary or event sub-process):
    messages and signals stay subscribed, a timer cycle requests its next job. Otherwise it
    is removed; the fired timer's own job is done, so no cancellation is emitted."""
    if subscription.type is SubscriptionType.TIMER:
        ic.state.remove(subscription)
        if keep:
            renew_timer(rt, ic, subscription)
    elif not keep:
        ic.state.remove(subscription)


def renew_timer(
    rt: Runtime, ic: InstanceContext, fired: SubscriptionRecord
) -> SubscriptionRecord | None:
    """The next timer of a cycle (a new subscription and job), or None when it ran out."""
    following = timers_rt.next_configuration(dict(fired.configuration))
    if following is None:
        return None
    configuration = {k: v for k, v in fired.configuration.items() if k not in following} | following
    return _create(
        rt,
        ic,
        SubscriptionType.TIMER,
        fired.execution_id,
        fired.activity_id,
        fired.event_name,
        configuration,
    )
