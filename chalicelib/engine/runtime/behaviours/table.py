"""Every behaviour by element class: the dispatch table the session gives the runtime."""

from __future__ import annotations

from chalicelib.engine import elements as el
from chalicelib.engine.runtime.behaviours import (
    catch_events,
    events,
    gateways,
    scopes,
    tasks,
    user_task,
)
from chalicelib.engine.runtime.hooks import Behaviour

__all__ = ["BEHAVIOURS"]

#: Element class -> behaviour. Kinds absent here are refused at run time (``UnsupportedElement``).
BEHAVIOURS: dict[type, Behaviour] = {
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
