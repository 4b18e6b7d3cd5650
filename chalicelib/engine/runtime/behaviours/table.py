"""Every behaviour by name, and the element-class dispatch table built from the registry.

The element registry (:mod:`chalicelib.engine.registry`) names each executable kind's
behaviour; :func:`dispatch_table` joins the two (the session does it once) into the table the
runtime reads (:class:`~chalicelib.engine.runtime.hooks.Hooks`).
"""

from __future__ import annotations

from collections.abc import Iterable

from chalicelib.engine.registry import ElementKind
from chalicelib.engine.runtime.behaviours import (
    action_tasks,
    catch_events,
    events,
    gateways,
    scopes,
    tasks,
    user_task,
)
from chalicelib.engine.runtime.hooks import Behaviour

__all__ = ["BEHAVIOURS", "dispatch_table"]

#: Behaviour name (the registry's ``behaviour`` column) -> behaviour.
BEHAVIOURS: dict[str, Behaviour] = {
    "start_event": Behaviour(events.start_event),
    "end_event": Behaviour(events.end_event),
    "intermediate_throw_event": Behaviour(catch_events.intermediate_throw_event),
    "intermediate_catch_event": Behaviour(catch_events.intermediate_catch_event),
    "event_based_gateway": Behaviour(catch_events.event_based_gateway),
    "boundary_event": Behaviour(events.boundary_event),
    "pass_through": Behaviour(tasks.pass_through),
    "script_task": Behaviour(tasks.script_task),
    "service_task": Behaviour(tasks.service_task, tasks.trigger_wait_state),
    "send_task": Behaviour(action_tasks.action_task, action_tasks.trigger_action),
    "receive_task": Behaviour(catch_events.receive_task, tasks.trigger_wait_state),
    "user_task": Behaviour(user_task.execute),
    "exclusive_gateway": Behaviour(gateways.exclusive),
    "parallel_gateway": Behaviour(gateways.parallel),
    "inclusive_gateway": Behaviour(gateways.inclusive),
    "sub_process": Behaviour(scopes.sub_process),
    "call_activity": Behaviour(scopes.call_activity),
}


def dispatch_table(kinds: Iterable[ElementKind]) -> dict[type, Behaviour]:
    """Element class -> behaviour for every executable kind (``KeyError`` naming the kind
    when its behaviour has no entry in :data:`BEHAVIOURS`). Kinds without a behaviour are
    left out: the runtime refuses them (``UnsupportedElement``)."""
    table: dict[type, Behaviour] = {}
    for kind in kinds:
        if kind.behaviour is None:
            continue
        behaviour = BEHAVIOURS.get(kind.behaviour)
        if behaviour is None:
            raise KeyError(f"{kind.tag}: no behaviour named {kind.behaviour!r}")
        table[kind.element] = behaviour
    return table
