"""Exclusive, parallel and inclusive gateways (``bpmn-semantics.md`` §1.2, §5.3).

- Exclusive: the first outgoing flow in document order (the default flow aside) whose
  condition holds - a flow without condition holds - else the default flow, else
  ``ProcessFailure("no-outgoing-flow")``.
- Parallel: conditions ignored. A join waits until as many executions of the same scope
  have arrived as it has incoming flows (counted in O(1) through the state's
  ``(parent, activity)`` index), then one goes on along every outgoing flow.
- Inclusive: split on every flow whose condition holds (unconditional ones hold), the default
  only when none does. A join (several incoming flows) fires when no other token of the same
  scope can still reach it; reachability over the model graph is computed once per
  ``(model, node)`` and cached. Waiting joins are re-checked when a token of the scope ends.
"""

from __future__ import annotations

from collections.abc import Sequence

from chalicelib.engine.elements import ExclusiveGateway, FlowNode, InclusiveGateway, ParallelGateway
from chalicelib.engine.model import ProcessDefinitionModel, SequenceFlow
from chalicelib.engine.runtime import flow, history, listeners
from chalicelib.engine.runtime.context import InstanceContext, Runtime
from chalicelib.engine.runtime.records import ExecutionRecord
from chalicelib.engine.runtime.variables import eval_condition
from chalicelib.errors import ProcessFailure

__all__ = ["exclusive", "parallel", "inclusive", "recheck_inclusive_joins", "reachable_from"]


def _holds(
    rt: Runtime,
    ic: InstanceContext,
    execution: ExecutionRecord,
    node: FlowNode,
    flow_: SequenceFlow,
) -> bool:
    return flow_.condition is None or eval_condition(
        rt, ic, execution.id, flow_.condition, activity_id=node.id
    )


def exclusive(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, node: ExclusiveGateway
) -> None:
    """Take exactly one flow."""
    flows = ic.model.outgoing(node.id)
    chosen = next(
        (f for f in flows if f.id != node.default_flow and _holds(rt, ic, execution, node, f)), None
    )
    if chosen is None and node.default_flow:
        chosen = next((f for f in flows if f.id == node.default_flow), None)
    if chosen is None:
        raise ProcessFailure(
            "no-outgoing-flow",
            f"No outgoing sequence flow of the exclusive "
            f"gateway '{node.id}' could be selected for continuing the "
            f"process",
            node.id,
        )
    _leave(rt, ic, execution, node, [chosen])


def _leave(
    rt: Runtime,
    ic: InstanceContext,
    execution: ExecutionRecord,
    node: FlowNode,
    flows: Sequence[SequenceFlow],
) -> None:
    listeners.execution_listeners(rt, ic, execution, node, node.execution_listeners, "end")
    current = ic.execution(execution.id)
    if current is None:
        return
    current = history.activity_ended(rt, ic, current)
    flow.take(rt, ic, current, flows)


def _join(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, node: FlowNode
) -> ExecutionRecord:
    """Merge every execution waiting at the gateway into ``execution``."""
    for other in ic.state.executions_at(execution.parent_id, node.id):
        if other.id != execution.id and other.job_id is None:  # parked (async): not arrived
            history.activity_ended(rt, ic, other)
            ic.state.remove(other)
    concurrent = ic.state.has_children(execution.parent_id) and any(  # type: ignore[arg-type]
        c.id != execution.id and not c.is_event_scope
        for c in ic.state.children(execution.parent_id)
    )
    return flow.update(ic, execution, is_active=True, is_concurrent=concurrent)


def _arrived(ic: InstanceContext, parent_id: str | None, node: FlowNode) -> int:
    """Tokens arrived at a join; with ``flowable:async`` those parked before it do not count."""
    if not node.async_before:
        return ic.state.count_at(parent_id, node.id)
    return sum(1 for e in ic.state.executions_at(parent_id, node.id) if e.job_id is None)


def parallel(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, node: ParallelGateway
) -> None:
    """Fork and/or join."""
    incoming = len(ic.model.incoming(node.id))
    if incoming > 1:
        execution = flow.update(ic, execution, is_active=False)
        if _arrived(ic, execution.parent_id, node) < incoming:
            return
        execution = _join(rt, ic, execution, node)
    _leave(rt, ic, execution, node, ic.model.outgoing(node.id))


def _inclusive_split(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, node: InclusiveGateway
) -> None:
    flows = ic.model.outgoing(node.id)
    chosen = [f for f in flows if f.id != node.default_flow and _holds(rt, ic, execution, node, f)]
    if not chosen and node.default_flow:
        chosen = [f for f in flows if f.id == node.default_flow]
    if not chosen and flows:
        raise ProcessFailure(
            "no-outgoing-flow",
            f"No outgoing sequence flow of the inclusive "
            f"gateway '{node.id}' could be selected for continuing the "
            f"process",
            node.id,
        )
    _leave(rt, ic, execution, node, chosen)


def inclusive(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, node: InclusiveGateway
) -> None:
    """Split, or wait at the join until no other token of the scope can reach it."""
    if len(ic.model.incoming(node.id)) > 1:
        execution = flow.update(ic, execution, is_active=False)
        if not _join_may_fire(ic, execution.parent_id, node.id):
            return
        execution = _join(rt, ic, execution, node)
    _inclusive_split(rt, ic, execution, node)


def _join_may_fire(ic: InstanceContext, parent_id: str | None, gateway_id: str) -> bool:
    for other in ic.state.children(parent_id):
        if other.is_event_scope or other.activity_id == gateway_id or other.activity_id is None:
            continue
        if gateway_id in reachable_from(ic.model, other.activity_id):
            return False
    return True


def recheck_inclusive_joins(rt: Runtime, ic: InstanceContext, scope_id: str) -> None:
    """A token of ``scope_id`` vanished: an inclusive join waiting on it may fire now."""
    if not _has_inclusive_join(ic.model):
        return
    for waiting in ic.state.children(scope_id):
        node = ic.model.elements.get(waiting.activity_id or "")
        if (
            isinstance(node, InclusiveGateway)
            and not waiting.is_active
            and len(ic.model.incoming(node.id)) > 1
            and _join_may_fire(ic, scope_id, node.id)
        ):
            rt.plan(_fire_join, ic.id, waiting.id)
            return


def _fire_join(rt: Runtime, instance_id: str, execution_id: str) -> None:
    ic = rt.instance(instance_id)
    execution = ic.execution(execution_id)
    if execution is None or execution.is_active:
        return
    node = ic.node(execution.activity_id)
    if not _join_may_fire(ic, execution.parent_id, node.id):
        return
    _inclusive_split(rt, ic, _join(rt, ic, execution, node), node)  # type: ignore[arg-type]


# --- reachability (cached per model) ----------------------------------------------------------

_CACHE: dict[int, tuple[ProcessDefinitionModel, dict[str, frozenset[str]], bool]] = {}
_CACHE_LIMIT = 512


def _entry(
    model: ProcessDefinitionModel,
) -> tuple[ProcessDefinitionModel, dict[str, frozenset[str]], bool]:
    entry = _CACHE.get(id(model))
    if entry is None or entry[0] is not model:
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        has_join = any(
            isinstance(n, InclusiveGateway) and len(model.incoming(n.id)) > 1
            for n in model.elements.values()
        )
        entry = (model, {}, has_join)
        _CACHE[id(model)] = entry
    return entry


def _has_inclusive_join(model: ProcessDefinitionModel) -> bool:
    return _entry(model)[2]


def reachable_from(model: ProcessDefinitionModel, node_id: str) -> frozenset[str]:
    """Nodes reachable from ``node_id`` along sequence flows (boundary events included)."""
    cache = _entry(model)[1]
    found = cache.get(node_id)
    if found is None:
        seen: set[str] = set()
        stack = [node_id]
        while stack:
            current = stack.pop()
            nexts = [f.target_ref for f in model.outgoing(current) if f.target_ref]
            nexts += [b.id for b in model.boundary_events(current)]
            for target in nexts:
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
        found = cache[node_id] = frozenset(seen)
    return found
