"""Task instances: read, update (PUT), claim, complete, delete; the historic task read.

Every change goes through the instance unit of work (``unit_of_work.run_command``): one Query of
the task's instance, the engine command (``UpdateTask`` or ``CompleteTask``), one
TransactWriteItems conditioned on the instance version; a lost race is retried from fresh
state, then 409. The caller is checked against the task *inside* the attempt (``authorize``
gets the task's assignee and candidates), so the check and the write see the same state.

A task's ``_rev`` is its ``revision`` counter (1 when created, +1 per update or claim); the
task id carries its instance id (``TaskRef``), so a task is found without any index.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, NoReturn

from ...clock import format_iso, parse_iso
from ...crest.responses import not_supported_on_instance
from ...engine.runtime import CompleteTask, InstanceState, TaskRecord, UpdateTask
from ...errors import BadRequest, Conflict, NotFound, PreconditionFailed
from ...ids import instance_of
from ..container import Services
from ..instances.shapes import HIDDEN_VARIABLES
from ..repositories import history
from ..unit_of_work import UnitOfWork, load_instance, run_command
from .shapes import (
    TASK_FIELDS,
    candidates_of,
    form_values,
    history_task_shape,
    task_rev,
    task_shape,
)

__all__ = [
    "TaskAction",
    "TaskRef",
    "UPDATABLE_FIELDS",
    "READ_ONLY_FIELDS",
    "Authorize",
    "subject_of",
    "read_task",
    "parse_update",
    "update_task",
    "refuse_create",
    "claim_task",
    "complete_task",
    "delete_task",
    "read_history_task",
]

Authorize = Callable[[Mapping[str, Any]], None]


class TaskAction(str, Enum):
    """The ``_action`` values of ``taskinstance/{id}``."""

    CLAIM = "claim"
    COMPLETE = "complete"


#: PUT body field -> ``TaskRecord`` field (api-reference.md §3.4, DECISIONS.md)
UPDATABLE_FIELDS = {
    "assignee": "assignee",
    "description": "description",
    "name": "name",
    "owner": "owner",
    "category": "category",
    "dueDate": "due_date",
    "priority": "priority",
}
#: the task's own read-only fields (its read shape: the §8 item plus what the read adds): a
#: client sends the whole task it read back with its changes (the IDM admin UI's "assign task"
#: dialog does), so these are ignored (DECISIONS.md); any other field is a 400 naming it
READ_ONLY_FIELDS = (TASK_FIELDS | {"formProperties", "variables", "candidates"}) - set(
    UPDATABLE_FIELDS
)
_TEXT_FIELDS = ("description", "name", "owner", "category")


@dataclass(frozen=True)
class TaskRef:
    """Where a task lives: its instance id, from the task id alone."""

    task_id: str
    instance_id: str

    @classmethod
    def of(cls, task_id: str) -> TaskRef:
        instance_id = instance_of(task_id)
        if instance_id is None:
            raise NotFound(f"Task {task_id} not found")
        return cls(task_id, instance_id)


def _not_found(task_id: str) -> NotFound:
    return NotFound(f"Task {task_id} not found")


def subject_of(task: TaskRecord) -> dict[str, Any]:
    """What the authorization rules look at: the assignee and the candidates."""
    return {
        "_id": task.id,
        "assignee": task.assignee,
        "candidateUsers": list(task.candidate_users),
        "candidateGroups": list(task.candidate_groups),
    }


def _task_of(state: InstanceState | None, ref: TaskRef) -> TaskRecord:
    task = state.tasks.get(ref.task_id) if state is not None else None
    if task is None:
        raise _not_found(ref.task_id)
    return task


def _loaded(uow: UnitOfWork, ref: TaskRef) -> TaskRecord:
    try:
        state = uow.load(ref.instance_id)
    except NotFound:
        raise _not_found(ref.task_id) from None
    return _task_of(state, ref)


def _current(container: Services, task_id: str) -> tuple[InstanceState, TaskRecord]:
    ref = TaskRef.of(task_id)
    state = load_instance(container, ref.instance_id)
    return state, _task_of(state, ref)


def _visible_variables(state: InstanceState, execution_id: str) -> dict[str, Any]:
    """Variables seen from the task's execution (inner scopes shadow outer ones)."""
    out: dict[str, Any] = {}
    current = state.execution(execution_id)
    scopes = []
    while current is not None:
        scopes.append(current.id)
        current = state.execution(current.parent_id) if current.parent_id else None
    if state.id not in scopes:
        scopes.append(state.id)
    for scope in scopes:
        for name, record in state.local_variables(scope).items():
            if name not in HIDDEN_VARIABLES:
                out.setdefault(name, record.value)
    return out


def read_task(container: Services, task_id: str, authorize: Authorize) -> dict[str, Any]:
    """The task read shape: the §8 item plus ``formProperties``, ``variables``, ``candidates``.

    ``processVariables`` holds the instance-scope variables. One Query.
    """
    state, task = _current(container, task_id)
    authorize(subject_of(task))
    instance_variables = {
        name: record.value
        for name, record in state.local_variables(state.id).items()
        if name not in HIDDEN_VARIABLES
    }
    visible = _visible_variables(state, task.execution_id)
    item = task_shape(task, process_variables=instance_variables)
    item["formProperties"] = form_values(task.form_properties, visible)
    item["variables"] = visible
    item["candidates"] = candidates_of(task.to_dict())
    return item


# --- update ------------------------------------------------------------------------------------


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"The field '{name}' must be a string")
    return value


def _priority(value: Any) -> int:
    if isinstance(value, bool) or not (
        isinstance(value, int)
        or (isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,9}", value.strip()))
    ):
        raise BadRequest(f"The field 'priority' must be an integer, not {value!r}")
    return int(value)


def _due_date(value: Any) -> str:
    try:
        return format_iso(parse_iso(value))  # type: ignore[return-value]
    except ValueError:
        raise BadRequest(
            f"The field 'dueDate' must be an ISO-8601 date-time, not {value!r}"
        ) from None


def parse_update(body: Mapping[str, Any]) -> dict[str, Any]:
    """The record changes a PUT body asks for (400 naming a field it may not carry).

    ``assignee`` applies when present (null clears it); the other fields only when non-null;
    the task's read-only fields (``READ_ONLY_FIELDS``) are ignored, whatever their values.
    """
    unknown = sorted(set(body) - set(UPDATABLE_FIELDS) - READ_ONLY_FIELDS)
    if unknown:
        raise BadRequest(
            f"The field '{unknown[0]}' cannot be updated; a task update accepts "
            f"{', '.join(UPDATABLE_FIELDS)}",
            detail={"fields": unknown},
        )
    if not set(body) & set(UPDATABLE_FIELDS):
        raise BadRequest(f"A task update needs at least one of {', '.join(UPDATABLE_FIELDS)}")
    changes: dict[str, Any] = {}
    if "assignee" in body:
        assignee = body["assignee"]
        changes["assignee"] = None if assignee is None else _text("assignee", assignee) or None
    for name in _TEXT_FIELDS:
        if body.get(name) is not None:
            changes[name] = _text(name, body[name])
    if body.get("priority") is not None:
        changes["priority"] = _priority(body["priority"])
    if body.get("dueDate") is not None:
        changes["due_date"] = _due_date(body["dueDate"])
    return changes


def _check_revision(task: TaskRecord, if_match: str | None) -> None:
    if if_match not in (None, "*") and if_match != task_rev(task.to_dict()):
        raise PreconditionFailed(
            f"Task {task.id} is at revision {task_rev(task.to_dict())}, not {if_match}"
        )


def update_task(
    container: Services,
    task_id: str,
    body: Mapping[str, Any],
    *,
    if_match: str | None,
    authorize: Authorize,
    user_id: str,
) -> str:
    """Apply a PUT; returns the task's new ``_rev``. 404, 403, 412 (stale ``If-Match``)."""
    changes = parse_update(body)
    ref = TaskRef.of(task_id)
    if not changes:  # only nulls: nothing to write, but the same checks
        _, task = _current(container, task_id)
        authorize(subject_of(task))
        _check_revision(task, if_match)
        return task_rev(task.to_dict())

    def build(uow: UnitOfWork) -> UpdateTask:
        task = _loaded(uow, ref)
        authorize(subject_of(task))
        _check_revision(task, if_match)
        return UpdateTask(task_id, changes, user_id)

    _, result = run_command(container, build)
    return task_rev(result.state.tasks[task_id].to_dict())


def refuse_create(container: Services, task_id: str) -> NoReturn:
    """PUT with ``If-None-Match: *``: 412 on an existing task; tasks are never created by PUT
    (501, as for any operation a resource does not support)."""
    try:
        _current(container, task_id)
    except NotFound:
        raise not_supported_on_instance("CREATE") from None
    raise PreconditionFailed(f"Task {task_id} already exists (If-None-Match: *)")


def claim_task(
    container: Services,
    task_id: str,
    body: Mapping[str, Any],
    *,
    authorize: Authorize,
    user_id: str,
) -> None:
    """Assign the task to ``body["userId"]`` and stamp ``claimTime``; 409 when someone else
    holds it (claiming for the current assignee claims again, as Flowable does)."""
    claimant = body.get("userId")
    if not isinstance(claimant, str) or not claimant.strip():
        raise BadRequest("The field 'userId' is required and must be a non-empty string")
    ref = TaskRef.of(task_id)

    def build(uow: UnitOfWork) -> UpdateTask:
        task = _loaded(uow, ref)
        authorize(subject_of(task))
        if task.assignee and task.assignee != claimant:
            raise Conflict(f"Task {task_id} is already claimed by {task.assignee}")
        now = format_iso(container.clock.now())
        return UpdateTask(task_id, {"assignee": claimant, "claim_time": now}, user_id)

    run_command(container, build)


def complete_task(
    container: Services,
    task_id: str,
    variables: Mapping[str, Any],
    *,
    authorize: Authorize,
    user_id: str,
) -> None:
    """Complete the task with ``variables`` (set in the instance scope) and run the process
    on; a process failure is a 400 and nothing is written."""
    if not isinstance(variables, Mapping):
        raise BadRequest("The body of complete must be a JSON object of variables")
    ref = TaskRef.of(task_id)

    def build(uow: UnitOfWork) -> CompleteTask:
        task = _loaded(uow, ref)
        authorize(subject_of(task))
        return CompleteTask(task_id, dict(variables), user_id)

    run_command(container, build)


def delete_task(container: Services, task_id: str, authorize: Authorize) -> NoReturn:
    """Only standalone tasks may be deleted, and every task here belongs to a process."""
    _, task = _current(container, task_id)
    authorize(subject_of(task))
    raise Conflict(f"Task {task_id} belongs to a running process instance and cannot be deleted")


def read_history_task(container: Services, task_id: str) -> dict[str, Any]:
    """The historic task (open or finished): one GetItem."""
    TaskRef.of(task_id)  # 404 for an id that names no instance
    found = history.read_task(container.store, task_id)
    if found is None:
        raise NotFound(f"Historic task {task_id} not found")
    return history_task_shape(found.data)
