"""Plain, manual, script, service and receive tasks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.engine.elements import Activity, ReceiveTask, ScriptTask, ServiceTask
from chalicelib.engine.expressions.evaluate import evaluate
from chalicelib.engine.runtime import flow, subscriptions
from chalicelib.engine.runtime.behaviours import action_tasks
from chalicelib.engine.runtime.context import InstanceContext, Runtime
from chalicelib.engine.runtime.effects import JobKind, JobRequested, ScriptLog
from chalicelib.engine.runtime.errors import UnsupportedElement
from chalicelib.engine.runtime.records import (
    ExecutionRecord,
    SubscriptionType,
)
from chalicelib.engine.runtime.variables import (
    ExecutionScope,
    eval_text,
    get_variable,
    remove_variable,
    set_variable,
    set_variable_local,
    visible_variables,
)
from chalicelib.limits import SETTING_NAMES, LimitExceeded, check_count

__all__ = [
    "pass_through",
    "script_task",
    "service_task",
    "receive_task",
    "trigger_wait_state",
    "JAVASCRIPT",
    "JUEL",
]

JAVASCRIPT = frozenset(
    {"javascript", "js", "ecmascript", "text/javascript", "application/javascript"}
)
JUEL = frozenset({"juel"})


def pass_through(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, node: Activity
) -> None:
    """``task`` and ``manualTask``: nothing to do."""
    flow.leave(rt, ic, execution, node)


def script_task(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, node: ScriptTask
) -> None:
    """JavaScript in the sandbox, or ``juel`` through the evaluator; then leave."""
    language = (node.script_format or "").strip().lower()
    source = node.script or ""
    if language in JUEL:
        result = evaluate(
            source.strip(),
            ExecutionScope(rt, ic, execution.id),  # type: ignore[arg-type]
            activity_id=node.id,
        )
    elif language in JAVASCRIPT:
        result = _run_javascript(rt, ic, execution, node, source)
    else:
        raise UnsupportedElement(
            node.id,
            f"scriptFormat '{node.script_format}' is not supported (JavaScript and juel are)",
        )
    if node.result_variable:
        set_variable(rt, ic, execution.id, node.result_variable, result)
    flow.leave(rt, ic, execution, node)


def _run_javascript(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, node: ScriptTask, source: str
) -> Any:
    from chalicelib.engine.scripting import DEFAULT_TIME_LIMIT_S, run_script

    try:
        outcome = run_script(
            source,
            visible_variables(ic, execution.id),
            activity_id=node.id,
            process_instance_id=ic.id,
            execution_id=execution.id,
            business_key=ic.state.header.business_key,
            time_limit_s=rt.script_time_limit_s or DEFAULT_TIME_LIMIT_S,
            auto_store=node.auto_store_variables,
            pool=rt.script_pool(),
            need_result=bool(node.result_variable),
        )
    except RecursionError:  # what the script set is nested too deep even to be read back
        raise LimitExceeded(
            SETTING_NAMES["json_depth"],
            rt.limits.json_depth,
            node.id,
            f"Script task '{node.id}' set a value nested deeper than {rt.limits.json_depth} levels",
        ) from None
    check_count(
        len(outcome.changed) + len(outcome.changed_local) + len(outcome.removed),
        rt.limits,
        node.id,
        f"Script task '{node.id}'",
    )
    for name in outcome.removed:
        remove_variable(rt, ic, execution.id, name)
    for name, value in outcome.changed.items():
        set_variable(rt, ic, execution.id, name, value)
    for name, value in outcome.changed_local.items():
        set_variable_local(rt, ic, execution.id, name, value)
    if outcome.console:
        rt.emit(ScriptLog(ic.id, node.id, tuple(outcome.console)))
    return outcome.result


def service_task(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, node: ServiceTask
) -> None:
    """``flowable:expression`` / ``delegateExpression`` through the evaluator, the value
    stored in ``resultVariable``; a triggerable service task then waits for a trigger."""
    if node.type == "send-event" and node.event_type:
        _send_event(rt, ic, execution, node)
        return
    if action_tasks.is_action_task(node):
        action_tasks.action_task(rt, ic, execution, node)
        return
    if node.class_name or node.type:
        raise UnsupportedElement(
            node.id,
            "Java classes and service task types are not "
            "executed (only expression and delegateExpression)",
        )
    text = node.expression or node.delegate_expression
    if text is None:
        raise UnsupportedElement(
            node.id, "a service task needs flowable:expression or flowable:delegateExpression"
        )
    result = eval_text(rt, ic, execution.id, text, activity_id=node.id)
    if node.result_variable and node.expression:
        if node.use_local_scope_for_result_variable:
            set_variable_local(rt, ic, execution.id, node.result_variable, result)
        else:
            set_variable(rt, ic, execution.id, node.result_variable, result)
    if node.triggerable:
        subscriptions.wait_for_trigger(rt, ic, execution.id, node.id)
        return
    flow.leave(rt, ic, execution, node)


def receive_task(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, node: ReceiveTask
) -> None:
    """A wait state released by the trigger command."""
    subscriptions.wait_for_trigger(rt, ic, execution.id, node.id)


def trigger_wait_state(
    rt: Runtime,
    ic: InstanceContext,
    execution: ExecutionRecord,
    node: Activity,
    variables: Mapping[str, Any],
) -> None:
    """The trigger command: variables are set from the execution (Flowable's
    ``trigger(executionId, vars)``), the subscription dropped, and the task left (an external
    worker task also drops its job: ``action_tasks.trigger_action``)."""
    if action_tasks.is_action_task(node):
        action_tasks.trigger_action(rt, ic, execution, node, variables)
        return
    for subscription in ic.state.subscriptions_of(execution.id):
        if subscription.type is SubscriptionType.TRIGGER:
            ic.state.remove(subscription)
    for name, value in variables.items():
        set_variable(rt, ic, execution.id, name, value)
    flow.leave(rt, ic, execution, node)


#: the job handler type of a send event task's outbox job (``service/events/outbound.py``)
SEND_EVENT_HANDLER = "send-event"


def _send_event(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, node: ServiceTask
) -> None:
    """Send event task: the payload from ``eventInParameter`` (a ``${}`` source is evaluated,
    else it names a variable) goes into an outbox job written with this command's commit;
    the job publishes it. The task does not wait. A ``skipExpression`` that is true while the
    variable ``_FLOWABLE_SKIP_EXPRESSION_ENABLED`` is true sends nothing (Flowable)."""
    if action_tasks.skipped(rt, ic, execution, node):
        flow.leave(rt, ic, execution, node)
        return
    payload: dict[str, Any] = {}
    for source, target in node.event_in_parameters:
        if "${" in source or "#{" in source:
            value = eval_text(rt, ic, execution.id, source, activity_id=node.id)
        else:
            value = get_variable(ic, execution.id, source)
        payload[target or source] = value
    rt.emit(
        JobRequested(
            ic.id,
            JobKind.ASYNC_CONTINUATION.value,
            execution.id,
            node.id,
            job_id=rt.new_child_id(ic.id),
            payload={
                "handler": SEND_EVENT_HANDLER,
                "exclusive": False,
                "eventType": node.event_type,
                "channelKeys": list(node.channel_keys),
                "payload": payload,
            },
        )
    )
    if node.trigger_event is not None:  # send and receive: wait for the reply event
        subscriptions.subscribe(rt, ic, execution.id, node, node.trigger_event)
        return
    if node.triggerable:
        subscriptions.wait_for_trigger(rt, ic, execution.id, node.id)
        return
    flow.leave(rt, ic, execution, node)
