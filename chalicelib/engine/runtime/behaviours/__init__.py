"""Behaviour of each element kind, dispatched by a table keyed on the element class.

A :class:`Behaviour` has ``execute(rt, ic, execution, node)`` (a token arrived) and, for wait
states, ``trigger(rt, ic, execution, node, variables)`` (the trigger command released it).
No inheritance between behaviours: each is a pair of plain functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.engine import elements as el
from chalicelib.engine.runtime.errors import UnsupportedElement

__all__ = ["Behaviour", "BEHAVIOURS", "behaviour_for"]


@dataclass(frozen=True, slots=True)
class Behaviour:
    """What happens when a token arrives at a node, and when a waiting one is triggered."""

    execute: Callable[..., None]
    trigger: Callable[..., None] | None = None


def _table() -> dict[type, Behaviour]:
    from chalicelib.engine.runtime import gateways
    from chalicelib.engine.runtime.behaviours import catch_events, events, scopes, tasks, user_task

    return {
        el.StartEvent: Behaviour(events.start_event),
        el.EndEvent: Behaviour(events.end_event),
        el.IntermediateThrowEvent: Behaviour(catch_events.intermediate_throw_event),
        el.IntermediateCatchEvent: Behaviour(catch_events.intermediate_catch_event),
        el.EventBasedGateway: Behaviour(catch_events.event_based_gateway),
        el.BoundaryEvent: Behaviour(events.boundary_event),
        el.Task: Behaviour(tasks.pass_through),
        el.ManualTask: Behaviour(tasks.pass_through),
        el.ScriptTask: Behaviour(tasks.script_task),
        el.ServiceTask: Behaviour(tasks.service_task, tasks.trigger_wait_state),
        el.ReceiveTask: Behaviour(catch_events.receive_task, tasks.trigger_wait_state),
        el.UserTask: Behaviour(user_task.execute),
        el.ExclusiveGateway: Behaviour(gateways.exclusive),
        el.ParallelGateway: Behaviour(gateways.parallel),
        el.InclusiveGateway: Behaviour(gateways.inclusive),
        el.SubProcess: Behaviour(scopes.sub_process),
        el.CallActivity: Behaviour(scopes.call_activity),
    }


BEHAVIOURS: dict[type, Behaviour] = {}


def behaviour_for(node: Any) -> Behaviour:
    """The behaviour of a node's class; :class:`UnsupportedElement` when there is none."""
    if not BEHAVIOURS:
        BEHAVIOURS.update(_table())
    behaviour = BEHAVIOURS.get(type(node))
    if behaviour is None:
        raise UnsupportedElement(
            getattr(node, "id", None), f"{type(node).__name__} is not executed by this engine yet"
        )
    return behaviour
