"""The JSON shape of an open task (api-reference.md §8 ``taskinstance`` item).

Shared by ``processinstance/{id}`` (its ``tasks``) and the ``taskinstance`` routes, so both
answer with the same fields. ``task_shape`` takes the engine's ``TaskRecord`` (or its stored
dict) and, optionally, the deployed definition it belongs to and the variables to show.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from ...engine.runtime.records import TaskRecord
    from ..definitions.cache import DeployedDefinition

__all__ = [
    "TASK_FIELDS",
    "task_shape",
    "task_rev",
    "HISTORY_TASK_FIELDS",
    "history_task_shape",
    "form_values",
    "candidates_of",
    "as_text",
]

#: api-reference.md §8 taskinstance item fields (every one may be a sort key)
TASK_FIELDS = frozenset(
    {
        "_id",
        "_rev",
        "name",
        "description",
        "assignee",
        "delegate",
        "owner",
        "priority",
        "category",
        "createTime",
        "dueDate",
        "claimTime",
        "executionId",
        "processInstanceId",
        "processDefinitionId",
        "taskDefinitionKey",
        "parentTaskId",
        "formKey",
        "tenantId",
        "suspended",
        "processVariables",
        "taskLocalVariables",
    }
)


def _as_dict(task: TaskRecord | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(task, Mapping):
        return dict(task)
    return task.to_dict()


def task_rev(record: Mapping[str, Any]) -> str:
    """The task's ``_rev``: its ``revision`` counter as a string (1 for a new task)."""
    return str(record.get("revision") or 1)


def task_shape(
    task: TaskRecord | Mapping[str, Any],
    definition: DeployedDefinition | None = None,
    *,
    process_variables: Mapping[str, Any] | None = None,
    local_variables: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The §8 taskinstance item of ``task`` (a ``TaskRecord`` or its ``to_dict()``).

    ``definition`` (a ``DeployedDefinition``) is accepted for fields that come from the
    definition; none are needed today. Variables default to ``{}``.
    """
    record = _as_dict(task)
    delegated = record.get("delegation_state") == "pending"
    return {
        "_id": record["id"],
        "_rev": task_rev(record),
        "name": record.get("name"),
        "description": record.get("description"),
        "assignee": record.get("assignee"),
        "delegate": record.get("assignee") if delegated else None,
        "owner": record.get("owner"),
        "priority": int(record.get("priority") or 0),
        "category": record.get("category"),
        "createTime": record.get("create_time"),
        "dueDate": record.get("due_date"),
        "claimTime": record.get("claim_time"),
        "executionId": record.get("execution_id"),
        "processInstanceId": record.get("instance_id"),
        "processDefinitionId": record.get("definition_id"),
        "taskDefinitionKey": record.get("task_definition_key"),
        "parentTaskId": None,
        "formKey": record.get("form_key"),
        "tenantId": record.get("tenant_id") or "",
        "suspended": record.get("suspension_state") == "suspended",
        "processVariables": dict(process_variables or {}),
        "taskLocalVariables": dict(local_variables or {}),
    }


#: api-reference.md §8 task history item fields (plus ``formKey``, ``tenantId``)
HISTORY_TASK_FIELDS = frozenset(
    {
        "_id",
        "name",
        "description",
        "owner",
        "assignee",
        "taskDefinitionKey",
        "priority",
        "category",
        "createTime",
        "startTime",
        "claimTime",
        "endTime",
        "durationInMillis",
        "dueDate",
        "deleteReason",
        "executionId",
        "processInstanceId",
        "processDefinitionId",
        "formKey",
        "tenantId",
        "processVariables",
        "taskLocalVariables",
    }
)


_PLAIN_EXPRESSION = re.compile(r"^\$\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}$")


def history_task_shape(data: Mapping[str, Any]) -> dict[str, Any]:
    """The §8 task history item of a stored historic task (``history.task_*`` fields).

    ``processVariables`` is ``{}`` (as IDM's query answers); ``taskLocalVariables`` holds the
    variables the task was completed with.
    """
    item = {
        name: data.get(name)
        for name in HISTORY_TASK_FIELDS
        if name not in ("_id", "processVariables", "taskLocalVariables")
    }
    item["_id"] = data.get("id")
    item["priority"] = int(data.get("priority") or 0)
    item["tenantId"] = data.get("tenantId") or ""
    item["processVariables"] = {}
    item["taskLocalVariables"] = dict(data.get("taskLocalVariables") or {})
    return item


def as_text(value: Any) -> str | None:
    """A variable as IDM prints it in forms and compares it in ``var-`` filters."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def form_values(
    properties: Iterable[Mapping[str, Any]], variables: Mapping[str, Any]
) -> list[dict[str, str | None]]:
    """Task read ``formProperties``: ``[{"<property id>": "<current value>" | null}, ...]``.

    The value is the variable the property names (``variable``, else its ``id``), else the
    variable of a plain ``${name}`` expression or default, as text; otherwise null.
    """
    out: list[dict[str, str | None]] = []
    for prop in properties:
        prop_id = cast(str, prop.get("id"))
        name = prop.get("variable") or prop_id
        value = variables.get(cast(str, name))
        for text in (prop.get("expression"), prop.get("default")):
            if value is not None or not isinstance(text, str):
                continue
            plain = _PLAIN_EXPRESSION.match(text.strip())
            value = (
                variables.get(plain.group(1))
                if plain
                else (text if "${" not in text and "#{" not in text else None)
            )
        out.append({prop_id: as_text(value)})
    return out


def candidates_of(record: Mapping[str, Any]) -> dict[str, list[str]]:
    """Task read ``candidates``: ``{"candidateUsers": [...], "candidateGroups": [...]}``."""
    return {
        "candidateUsers": list(record.get("candidate_users") or ()),
        "candidateGroups": list(record.get("candidate_groups") or ()),
    }
