"""Multi-instance activities, parallel and sequential (``bpmn-semantics.md`` §1.2).

The arriving execution becomes the *MI root* (``is_mi_root``, a scope) holding the local
variables ``nrOfInstances``, ``nrOfActiveInstances`` and ``nrOfCompletedInstances``; each
instance is a child execution at the same activity holding ``loopCounter`` (and the
``elementVariable`` / ``elementIndexVariable``). Parallel creates every instance at once;
sequential runs one instance at a time and *reuses* its execution, so a sequential loop of
500 keeps a constant number of records. Each completion is O(1): counters are read from the
root's variables, never counted by scanning. When ``completionCondition`` holds, the remaining
instances are cancelled. With 0 instances the activity is skipped.
"""

from __future__ import annotations

import re
from typing import Any

from chalicelib.engine.elements import Activity
from chalicelib.engine.expressions import has_expression
from chalicelib.engine.parts import MultiInstance
from chalicelib.engine.runtime import flow, history
from chalicelib.engine.runtime.context import InstanceContext, Runtime
from chalicelib.engine.runtime.records import ExecutionRecord
from chalicelib.engine.runtime.variables import (
    MISSING,
    delete_scope_variables,
    eval_condition,
    eval_text,
    get_variable,
    set_variable_local,
)
from chalicelib.errors import ProcessFailure

__all__ = [
    "start",
    "instance_completed",
    "NR_OF_INSTANCES",
    "NR_OF_ACTIVE_INSTANCES",
    "NR_OF_COMPLETED_INSTANCES",
    "LOOP_COUNTER",
]

NR_OF_INSTANCES = "nrOfInstances"
NR_OF_ACTIVE_INSTANCES = "nrOfActiveInstances"
NR_OF_COMPLETED_INSTANCES = "nrOfCompletedInstances"
LOOP_COUNTER = "loopCounter"


def _collection(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, node: Activity, mi: MultiInstance
) -> list[Any] | None:
    text = mi.collection or mi.loop_data_input_ref
    if not text:
        return None
    if has_expression(text):
        value = eval_text(rt, ic, execution.id, text, activity_id=node.id)
    else:
        value = get_variable(ic, execution.id, text)
        if value is MISSING:
            raise ProcessFailure(
                "expression",
                f"Variable '{text}' (the multi-instance collection) is not defined",
                node.id,
            )
    if isinstance(value, dict):
        return list(value.values())
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise ProcessFailure(
            "expression", f"The multi-instance collection {text} is not a list", node.id
        )
    return list(value)


def _cardinality(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, node: Activity, mi: MultiInstance
) -> int:
    value = eval_text(rt, ic, execution.id, mi.loop_cardinality, activity_id=node.id)
    try:
        return int(str(value).strip()) if not isinstance(value, (int, float)) else int(value)
    except ValueError:
        raise ProcessFailure(
            "expression",
            f"loopCardinality {mi.loop_cardinality!r} does not resolve to a number",
            node.id,
        ) from None


def start(rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, node: Activity) -> None:
    """Turn the arriving execution into the MI root and create the (first) instance(s)."""
    mi: MultiInstance = node.loop  # type: ignore[assignment]
    items = _collection(rt, ic, execution, node, mi)
    if items is not None:
        count = len(items)
    elif mi.loop_cardinality:
        count = _cardinality(rt, ic, execution, node, mi)
    else:
        raise ProcessFailure(
            "expression", "multi-instance needs loopCardinality or a collection", node.id
        )
    if count <= 0:
        flow.take_outgoing(rt, ic, execution, node)
        return
    root = flow.update(ic, execution, is_mi_root=True, is_scope=True, is_active=False)
    set_variable_local(rt, ic, root.id, NR_OF_INSTANCES, count)
    set_variable_local(rt, ic, root.id, NR_OF_COMPLETED_INSTANCES, 0)
    set_variable_local(rt, ic, root.id, NR_OF_ACTIVE_INSTANCES, 1 if mi.is_sequential else count)
    flow.create_boundary_executions(rt, ic, root, node)
    for index in range(1 if mi.is_sequential else count):
        instance = flow.create_execution(
            rt,
            ic,
            parent_id=root.id,
            activity_id=node.id,
            is_concurrent=not mi.is_sequential,
            loop_counter=index,
        )
        _instance_variables(rt, ic, instance, mi, index, items)
        rt.plan(flow.enter, ic.id, instance.id)


def _instance_variables(
    rt: Runtime,
    ic: InstanceContext,
    instance: ExecutionRecord,
    mi: MultiInstance,
    index: int,
    items: list[Any] | None,
) -> None:
    set_variable_local(rt, ic, instance.id, LOOP_COUNTER, index)
    element = mi.element_variable or mi.input_data_item
    if element and items is not None:
        set_variable_local(rt, ic, instance.id, element, items[index])
    if mi.element_index_variable:
        set_variable_local(rt, ic, instance.id, mi.element_index_variable, index)


_PLAIN_READ = re.compile(r"\$\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}")


def _collection_is_expression(mi: MultiInstance) -> bool:
    """True when resolving the collection runs an expression that could see the counters
    (``${items}``, a plain read of another variable, cannot)."""
    text = mi.collection or mi.loop_data_input_ref
    if not text or not has_expression(text):
        return False
    plain = _PLAIN_READ.fullmatch(text.strip())
    return plain is None or plain.group(1) == NR_OF_ACTIVE_INSTANCES


def _local(ic: InstanceContext, scope_id: str, name: str) -> Any:
    record = ic.state.local_variables(scope_id).get(name)
    return record.value if record is not None else 0


def instance_completed(
    rt: Runtime, ic: InstanceContext, instance: ExecutionRecord, node: Activity
) -> None:
    """One instance is done: update the counters, check the completion condition, then
    start the next (sequential), wait for the others (parallel) or leave the activity."""
    mi: MultiInstance = node.loop  # type: ignore[assignment]
    root = ic.execution(instance.parent_id)
    assert root is not None  # an MI instance always has its root
    completed = _local(ic, root.id, NR_OF_COMPLETED_INSTANCES) + 1
    was_active = _local(ic, root.id, NR_OF_ACTIVE_INSTANCES)
    active = was_active - 1
    total = _local(ic, root.id, NR_OF_INSTANCES)
    set_variable_local(rt, ic, root.id, NR_OF_COMPLETED_INSTANCES, completed)
    # A sequential loop going on sets nrOfActiveInstances to active (0), then back to 1 for
    # the next instance. When no user expression runs in between (no completion condition,
    # no collection expression) and no detail rows are kept, nobody can see the 0: the
    # record is left alone and only its history is written once (the same final item).
    unseen = (
        mi.is_sequential
        and completed < total
        and was_active == 1
        and not mi.completion_condition
        and not ic.keeps_details
        and not _collection_is_expression(mi)
    )
    if not unseen:
        set_variable_local(rt, ic, root.id, NR_OF_ACTIVE_INSTANCES, active)
    condition = mi.completion_condition
    done = bool(condition and eval_condition(rt, ic, instance.id, condition, activity_id=node.id))
    if mi.is_sequential and not done and completed < total:
        index = (instance.loop_counter or 0) + 1
        delete_scope_variables(ic, instance.id)
        instance = flow.update(ic, instance, loop_counter=index, is_scope=False, is_active=True)
        # like Flowable, the collection is resolved again for each sequential instance (a
        # variable read: nothing is copied)
        items = _collection(rt, ic, instance, node, mi)
        if items is not None and index >= len(items):
            raise ProcessFailure(
                "expression",
                f"The multi-instance collection of '{node.id}' shrank below {index + 1} items",
                node.id,
            )
        _instance_variables(rt, ic, instance, mi, index, items)
        if unseen:
            history.variable_set(rt, ic, root.id, NR_OF_ACTIVE_INSTANCES, 1)
        else:
            set_variable_local(rt, ic, root.id, NR_OF_ACTIVE_INSTANCES, 1)
        rt.plan(flow.enter, ic.id, instance.id)
        return
    flow.cancel_execution(rt, ic, instance, None)
    if not done and active > 0:
        return
    reason = "MI_END" if done else None
    flow.cancel_children(rt, ic, root.id, reason)
    delete_scope_variables(ic, root.id)
    root = flow.update(
        ic,
        ic.state.executions[root.id],  # the root outlives its instances
        is_mi_root=False,
        is_scope=False,
        is_active=True,
    )
    flow.leave_multi_instance(rt, ic, root, node)
