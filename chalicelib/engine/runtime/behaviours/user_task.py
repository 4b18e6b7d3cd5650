"""User tasks: create the task record (expressions resolved), wait, complete."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from chalicelib.clock import format_iso, parse_iso
from chalicelib.engine.elements import UserTask
from chalicelib.engine.parts import FormProperty
from chalicelib.engine.runtime import flow, history, listeners
from chalicelib.engine.runtime.context import InstanceContext, Runtime
from chalicelib.engine.runtime.effects import TaskCompleted, TaskCreated
from chalicelib.engine.runtime.records import ExecutionRecord, TaskRecord
from chalicelib.engine.runtime.variables import eval_text, set_variable
from chalicelib.engine.timers import parse_time_duration
from chalicelib.errors import ProcessFailure

__all__ = ["execute", "complete", "task_view", "DEFAULT_PRIORITY"]

DEFAULT_PRIORITY = 50


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _names(
    rt: Runtime, ic: InstanceContext, execution_id: str, items: tuple[str, ...], node_id: str
) -> tuple[str, ...]:
    """Candidate users/groups: each entry may be an expression giving a list or a
    comma-separated string."""
    out: list[str] = []
    for item in items:
        value = eval_text(rt, ic, execution_id, item, activity_id=node_id)
        values = value if isinstance(value, (list, tuple)) else str(value or "").split(",")
        out.extend(str(v).strip() for v in values if v is not None and str(v).strip())
    return tuple(dict.fromkeys(out))


def _priority(value: Any, node_id: str) -> int:
    if value is None or value == "":
        return DEFAULT_PRIORITY
    try:
        return int(str(value).strip()) if not isinstance(value, (int, float)) else int(value)
    except ValueError:
        raise ProcessFailure(
            "expression", f"Priority does not resolve to a number: {value!r}", node_id
        ) from None


def _due_date(rt: Runtime, value: Any, node_id: str) -> str | None:
    """A date-time (ISO string or datetime), a date, or an ISO duration from now."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return format_iso(value if value.tzinfo else value.replace(tzinfo=UTC))
    text = str(value).strip()
    try:
        if text.startswith(("P", "-P", "+P")):
            return format_iso(rt.now() + parse_time_duration(text))
        return format_iso(parse_iso(text))
    except ValueError:
        raise ProcessFailure(
            "expression", f"Due date {text!r} is neither an ISO-8601 date nor a duration", node_id
        ) from None


def _form_property(prop: FormProperty) -> dict[str, Any]:
    return {
        "id": prop.id,
        "name": prop.name,
        "type": prop.type,
        "expression": prop.expression,
        "variable": prop.variable,
        "default": prop.default,
        "datePattern": prop.date_pattern,
        "readable": prop.readable,
        "writable": prop.writable,
        "required": prop.required,
        "values": [{"id": v.id, "name": v.name} for v in prop.values],
    }


def task_view(task: TaskRecord) -> dict[str, Any]:
    """The task as listeners see it (``task.assignee``, ``task.name``...)."""
    return {
        "id": task.id,
        "name": task.name,
        "description": task.description,
        "assignee": task.assignee,
        "owner": task.owner,
        "priority": task.priority,
        "dueDate": task.due_date,
        "category": task.category,
        "formKey": task.form_key,
        "taskDefinitionKey": task.task_definition_key,
        "executionId": task.execution_id,
        "processInstanceId": task.instance_id,
        "processDefinitionId": task.definition_id,
        "candidateUsers": list(task.candidate_users),
        "candidateGroups": list(task.candidate_groups),
        "createTime": task.create_time,
    }


def execute(rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, node: UserTask) -> None:
    """Create the task (a wait state); ``assignment`` then ``create`` listeners run."""

    def ev(text: str | None) -> Any:
        return eval_text(rt, ic, execution.id, text, activity_id=node.id)

    task = TaskRecord(
        id=rt.new_child_id(ic.id),
        instance_id=ic.id,
        execution_id=execution.id,
        definition_id=ic.definition_id,
        task_definition_key=node.id,
        name=_text(ev(node.name)),
        description=_text(ev(node.documentation)),
        assignee=_text(ev(node.assignee)),
        owner=_text(ev(node.owner)),
        candidate_users=_names(rt, ic, execution.id, node.candidate_users, node.id),
        candidate_groups=_names(rt, ic, execution.id, node.candidate_groups, node.id),
        priority=_priority(ev(node.priority), node.id),
        due_date=_due_date(rt, ev(node.due_date), node.id),
        category=_text(ev(node.category)),
        form_key=_text(ev(node.form_key)),
        create_time=rt.now_iso(),
        form_properties=tuple(_form_property(p) for p in node.form_properties),
        tenant_id=ic.state.header.tenant_id,
        activity_instance_id=execution.activity_instance_id,
    )
    ic.state.put(task)
    history.task_created(rt, ic, task)
    if task.assignee:
        listeners.task_listeners(
            rt, ic, execution.id, node.id, node.task_listeners, "assignment", task_view(task)
        )
    listeners.task_listeners(
        rt, ic, execution.id, node.id, node.task_listeners, "create", task_view(task)
    )
    rt.emit(TaskCreated(ic.id, task.id, task.to_dict()))


def complete(
    rt: Runtime,
    ic: InstanceContext,
    task: TaskRecord,
    variables: Mapping[str, Any],
    user_id: str | None,
) -> None:
    """Complete a task: variables set from its execution (so in the instance scope unless a
    scope holds the name), ``complete`` listeners, history (with ``taskLocalVariables``),
    then the token leaves the user task."""
    execution = ic.execution(task.execution_id)
    node = ic.node(task.task_definition_key)
    for name, value in variables.items():
        set_variable(rt, ic, task.execution_id, name, value)
    listeners.task_listeners(
        rt,
        ic,
        task.execution_id,
        node.id,
        getattr(node, "task_listeners", ()),
        "complete",
        task_view(task),
    )
    ic.state.remove(task)
    history.task_ended(rt, ic, task, completed_by=user_id, local_variables=dict(variables))
    rt.emit(TaskCompleted(ic.id, task.id, user_id))
    if execution is not None:
        flow.leave(rt, ic, ic.execution(execution.id) or execution, node)
