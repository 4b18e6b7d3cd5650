"""Tasks that act on the world: Flowable's HTTP task, mail task and external worker task.

The engine does no I/O. Entering one of these tasks evaluates its ``flowable:field`` values (a
``flowable:string`` as written, a ``flowable:expression`` evaluated) and parks the execution on
an *action job* written in the same commit: handler ``http-task``, ``mail-task`` or
``external-worker``, with the evaluated fields in its payload. The job's runner (the service's
``service/actions/``) does the I/O outside any transaction, then runs :class:`FinishAction`:
the outcome's variables are set and the task is left, or the outcome's BPMN error is thrown
from the task. An execution waits for exactly one job id, so a duplicate or late outcome is
refused (``UnknownTarget``) and has no effect; a task cancelled meanwhile (an interrupting
boundary event, a deleted instance) cancels its job (``flow.cancel_execution``).

An external worker task also waits for ``execution?_action=trigger`` (Flowable's external
worker completion): :func:`trigger_action` cancels the job and applies the
``externalWorkerOutParameter`` mappings to the trigger's variables.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from chalicelib.engine.elements import (
    ACTION_HANDLERS,
    EXTERNAL_WORKER,
    FlowNode,
    SendTask,
    ServiceTask,
    is_action_task,
)
from chalicelib.engine.parts import CallMapping
from chalicelib.engine.runtime import errors_events, flow, subscriptions
from chalicelib.engine.runtime.commands import FinishAction
from chalicelib.engine.runtime.context import InstanceContext, Runtime, SessionPort
from chalicelib.engine.runtime.effects import JobCancelled, JobKind, JobRequested
from chalicelib.engine.runtime.errors import UnknownTarget
from chalicelib.engine.runtime.records import (
    ExecutionRecord,
    SubscriptionType,
    evolve,
)
from chalicelib.engine.runtime.variables import (
    MISSING,
    eval_text,
    get_variable,
    set_variable,
    visible_variables,
)

__all__ = [
    "ACTION_HANDLERS",
    "EXTERNAL_WORKER",
    "is_action_task",
    "action_task",
    "trigger_action",
    "skipped",
    "HANDLERS",
]


def skipped(rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, node: FlowNode) -> bool:
    """Flowable's skip expression: true while ``_FLOWABLE_SKIP_EXPRESSION_ENABLED`` is true."""
    expression = getattr(node, "skip_expression", None)
    return bool(
        expression
        and get_variable(ic, execution.id, "_FLOWABLE_SKIP_EXPRESSION_ENABLED") is True
        and eval_text(rt, ic, execution.id, expression, activity_id=node.id) is True
    )


#: a mail task's fields naming a variable whose value is the body template (Flowable's
#: ``textVar`` and ``htmlVar``) -> the field the evaluated template replaces
MAIL_TEMPLATE_VARIABLES = {"textVar": "text", "htmlVar": "html"}


def _field_values(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, node: ServiceTask | SendTask
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for item in node.fields:
        if item.expression is not None:
            values[item.name] = eval_text(
                rt, ic, execution.id, item.expression, activity_id=node.id
            )
        else:
            values[item.name] = item.string_value
    if node.type == "mail":
        _mail_templates(rt, ic, execution, node, values)
    return values


def _mail_templates(
    rt: Runtime,
    ic: InstanceContext,
    execution: ExecutionRecord,
    node: FlowNode,
    values: dict[str, Any],
) -> None:
    """Flowable's ``textVar``/``htmlVar``: the named variable's value is a template, evaluated
    now, and it wins over ``text``/``html`` (the runner sees the mail's final body)."""
    for name_field, body_field in MAIL_TEMPLATE_VARIABLES.items():
        name = values.get(name_field)
        if name is None or str(name).strip() == "":
            continue
        template = get_variable(ic, execution.id, str(name).strip())
        if template is MISSING or template is None:
            values[body_field] = None
        else:
            values[body_field] = eval_text(rt, ic, execution.id, str(template), activity_id=node.id)


def _mapped(
    rt: Runtime,
    ic: InstanceContext,
    execution_id: str,
    mapping: CallMapping,
    activity_id: str,
    extras: Mapping[str, Any] | None = None,
) -> Any:
    if mapping.source_expression:
        return eval_text(
            rt, ic, execution_id, mapping.source_expression, activity_id=activity_id, extras=extras
        )
    source = mapping.source or ""
    if extras is not None:
        return extras.get(source)
    value = get_variable(ic, execution_id, source)
    return None if value is MISSING else value


def _worker_variables(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, node: ServiceTask
) -> dict[str, Any]:
    """What the worker gets: the in-parameters, else every visible variable (none with
    ``doNotIncludeVariables``), as Flowable's acquire returns them."""
    if node.worker_in_parameters:
        return {
            m.target or m.source or "": _mapped(rt, ic, execution.id, m, node.id)
            for m in node.worker_in_parameters
        }
    if node.do_not_include_variables:
        return {}
    return dict(visible_variables(ic, execution.id))


def action_task(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, node: ServiceTask | SendTask
) -> None:
    """Park the execution on the task's action job (see the module doc)."""
    if skipped(rt, ic, execution, node):
        flow.leave(rt, ic, execution, node)
        return
    kind = node.type or ""
    payload: dict[str, Any] = {
        "handler": ACTION_HANDLERS[kind],
        "exclusive": bool(node.exclusive),
        "fields": _field_values(rt, ic, execution, node),
    }
    if kind == EXTERNAL_WORKER and isinstance(node, ServiceTask):
        payload["topic"] = eval_text(rt, ic, execution.id, node.topic, activity_id=node.id)
        payload["variables"] = _worker_variables(rt, ic, execution, node)
        subscriptions.wait_for_trigger(rt, ic, execution.id, node.id)
    job_id = rt.new_child_id(ic.id)
    ic.state.put(evolve(execution, job_id=job_id))
    rt.emit(
        JobRequested(
            ic.id,
            JobKind.ACTION.value,
            execution.id,
            node.id,
            job_id=job_id,
            payload=payload,
        )
    )


def _outputs(
    rt: Runtime,
    ic: InstanceContext,
    execution: ExecutionRecord,
    node: FlowNode,
    variables: Mapping[str, Any],
) -> dict[str, Any]:
    """An external worker's results through its out-parameters (all of them without any)."""
    mappings = getattr(node, "worker_out_parameters", ())
    if not mappings:
        return dict(variables)
    return {
        m.target or m.source or "": _mapped(rt, ic, execution.id, m, node.id, extras=variables)
        for m in mappings
    }


def _stop_waiting(ic: InstanceContext, execution: ExecutionRecord) -> ExecutionRecord:
    for subscription in ic.state.subscriptions_of(execution.id):
        if subscription.type is SubscriptionType.TRIGGER:
            ic.state.remove(subscription)
    return flow.update(ic, execution, job_id=None)


def trigger_action(
    rt: Runtime,
    ic: InstanceContext,
    execution: ExecutionRecord,
    node: FlowNode,
    variables: Mapping[str, Any],
) -> None:
    """``execution?_action=trigger`` on an external worker task: its job is void."""
    if execution.job_id:
        rt.emit(JobCancelled(ic.id, execution.job_id, "completed by trigger"))
    execution = _stop_waiting(ic, execution)
    for name, value in _outputs(rt, ic, execution, node, variables).items():
        set_variable(rt, ic, execution.id, name, value)
    flow.leave(rt, ic, execution, node)


def finish_action(session: SessionPort, rt: Runtime, command: FinishAction) -> str:
    """Apply an action job's outcome (see :class:`FinishAction`)."""
    ic = rt.instance(command.instance_id)
    execution = ic.execution(command.execution_id)
    if execution is None or execution.job_id != command.job_id:
        raise UnknownTarget(
            f"Job {command.job_id} is not waiting for its outcome "
            "(its task moved on or the outcome was applied already)"
        )
    node = ic.node(execution.activity_id)
    execution = _stop_waiting(ic, execution)
    for name, value in _outputs(rt, ic, execution, node, command.variables).items():
        set_variable(rt, ic, execution.id, name, value)
    if command.error_code is not None:
        errors_events.throw_error(
            rt, ic, execution, node.id, command.error_code, from_activity=True
        )
    else:
        flow.leave(rt, ic, execution, node)
    return ic.id


#: the command this module handles (merged into the session's table)
HANDLERS: dict[type, Callable[[SessionPort, Runtime, Any], str]] = {FinishAction: finish_action}
