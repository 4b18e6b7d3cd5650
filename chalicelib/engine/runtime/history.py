"""History as effects: :class:`~.effects.HistoryRecord` items, gated by the history level.

Field names follow Flowable's historic entities as IDM shows them (camelCase). Each historic
activity instance gets an id when its activity starts; the id (and the start time) is kept on
the execution (``activity_instance_id``/``activity_start``) so the end record can close it
later, in another command, without any lookup.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from chalicelib.clock import parse_iso
from chalicelib.engine.elements import FlowNode, SubProcess
from chalicelib.engine.runtime.effects import HistoryKind, HistoryLevel, HistoryRecord
from chalicelib.engine.runtime.records import (
    ExecutionRecord,
    InstanceRecord,
    TaskRecord,
    evolve,
)

if TYPE_CHECKING:
    from chalicelib.engine.model import SequenceFlow
    from chalicelib.engine.runtime.context import InstanceContext, Runtime

__all__ = [
    "activity_type",
    "process_fields",
    "process_started",
    "process_ended",
    "activity_started",
    "activity_ended",
    "flow_taken",
    "task_created",
    "task_updated",
    "task_ended",
    "variable_set",
]


_TYPE_NAMES: dict[type, str] = {}


def activity_type(node: FlowNode) -> str:
    """Flowable's ``activityType``: ``userTask``, ``exclusiveGateway``, ``eventSubProcess``..."""
    if isinstance(node, SubProcess) and node.triggered_by_event:
        return "eventSubProcess"
    kind = type(node)
    name = _TYPE_NAMES.get(kind)
    if name is None:
        name = _TYPE_NAMES[kind] = kind.__name__[0].lower() + kind.__name__[1:]
    return name


@lru_cache(maxsize=512)
def _instant(text: str) -> datetime:
    """A stored timestamp as an aware datetime: our own ``format_iso`` text parses with
    ``fromisoformat``; anything else goes through :func:`parse_iso`. Cached: the same few
    timestamps (the command's time, the starts of open activities) come back again and again.
    """
    try:
        value = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return parse_iso(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def _duration(start: str | None, end: str) -> int | None:
    if not start:
        return None
    if start == end:  # started in this command (the command's time is fixed)
        return 0
    return int((_instant(end) - _instant(start)).total_seconds() * 1000)


def _emit(
    rt: Runtime, ic: InstanceContext, kind: HistoryKind, record_id: str, fields: dict[str, Any]
) -> None:
    rt.emit(HistoryRecord.owned(ic.id, kind, record_id, fields))


def process_fields(h: InstanceRecord) -> dict[str, Any]:
    """The historic process instance record of the instance whose header is ``h``."""
    return {
        "id": h.id,
        "processInstanceId": h.id,
        "processDefinitionId": h.definition_id,
        "processDefinitionKey": h.definition_key,
        "businessKey": h.business_key,
        "name": h.name,
        "startTime": h.start_time,
        "endTime": h.end_time,
        "durationInMillis": _duration(h.start_time, h.end_time) if h.end_time else None,
        "startUserId": h.start_user_id,
        "startActivityId": h.start_activity_id,
        "endActivityId": h.end_activity_id,
        "deleteReason": h.delete_reason,
        "superProcessInstanceId": h.super_instance_id,
        "tenantId": h.tenant_id,
        "state": h.status.value,
    }


def process_started(rt: Runtime, ic: InstanceContext) -> None:
    """The historic process instance is created."""
    if ic.keeps_instances:
        _emit(
            rt,
            ic,
            HistoryKind.PROCESS_INSTANCE,
            ic.state.header.id,
            process_fields(ic.state.header),
        )


def process_ended(rt: Runtime, ic: InstanceContext) -> None:
    """The historic process instance is closed (with its ``deleteReason`` if any)."""
    if ic.keeps_instances:
        _emit(
            rt,
            ic,
            HistoryKind.PROCESS_INSTANCE,
            ic.state.header.id,
            process_fields(ic.state.header),
        )


def activity_started(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, node: FlowNode
) -> ExecutionRecord:
    """Open a historic activity instance; returns the execution carrying its id.

    Below the ``activity`` level, and without ``includeInHistory`` on the node, nothing is
    recorded and the execution is left as it is (no id, no start time: :func:`activity_ended`
    then has nothing to close)."""
    if ic.keeps_activities or ic.keeps_activity(node):  # the flag first: no call, mostly
        activity_instance_id = rt.new_id()
        execution = ic.state.put(
            evolve(
                execution, activity_instance_id=activity_instance_id, activity_start=rt.now_iso()
            )
        )
        rt.transaction_order += 1
        _emit(
            rt,
            ic,
            HistoryKind.ACTIVITY_INSTANCE,
            activity_instance_id,
            {
                "id": activity_instance_id,
                "activityId": node.id,
                "activityName": node.name,
                "activityType": activity_type(node),
                "executionId": execution.id,
                "processInstanceId": ic.id,
                "processDefinitionId": ic.definition_id,
                "startTime": execution.activity_start,
                "endTime": None,
                "durationInMillis": None,
                "deleteReason": None,
                "transactionOrder": rt.transaction_order,
            },
        )
    return execution


def activity_ended(
    rt: Runtime,
    ic: InstanceContext,
    execution: ExecutionRecord,
    delete_reason: str | None = None,
    **extra: Any,
) -> ExecutionRecord:
    """Close the execution's open historic activity instance (if one is open: only then was
    its start recorded)."""
    if execution.activity_instance_id is None:
        return execution
    if ic.history is not HistoryLevel.NONE:
        now = rt.now_iso()
        node = ic.model.elements.get(execution.activity_id) if execution.activity_id else None
        _emit(
            rt,
            ic,
            HistoryKind.ACTIVITY_INSTANCE,
            execution.activity_instance_id,
            {
                "id": execution.activity_instance_id,
                "activityId": execution.activity_id,
                "activityName": node.name if node is not None else None,
                "activityType": activity_type(node) if node is not None else None,
                "executionId": execution.id,
                "processInstanceId": ic.id,
                "processDefinitionId": ic.definition_id,
                "startTime": execution.activity_start,
                "endTime": now,
                "durationInMillis": _duration(execution.activity_start, now),
                "deleteReason": delete_reason,
                **extra,
            },
        )
    if execution.id not in ic.state.executions:
        return execution
    return ic.state.put(
        evolve(
            execution,
            activity_instance_id=None,
            activity_start=None,
        )
    )


def flow_taken(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, flow: SequenceFlow
) -> None:
    """A sequence flow taken is an activity instance of type ``sequenceFlow`` (as Flowable)."""
    if not (ic.keeps_activities or ic.keeps_activity(flow)):
        return
    now = rt.now_iso()
    rt.transaction_order += 1
    record_id = rt.new_id()
    _emit(
        rt,
        ic,
        HistoryKind.ACTIVITY_INSTANCE,
        record_id,
        {
            "id": record_id,
            "activityId": flow.id,
            "activityName": flow.name,
            "activityType": "sequenceFlow",
            "executionId": execution.id,
            "processInstanceId": ic.id,
            "processDefinitionId": ic.definition_id,
            "startTime": now,
            "endTime": now,
            "durationInMillis": 0,
            "deleteReason": None,
            "transactionOrder": rt.transaction_order,
        },
    )


def _task_fields(task: TaskRecord) -> dict[str, Any]:
    return {
        "id": task.id,
        "name": task.name,
        "description": task.description,
        "priority": task.priority,
        "owner": task.owner,
        "assignee": task.assignee,
        "processInstanceId": task.instance_id,
        "executionId": task.execution_id,
        "taskDefinitionKey": task.task_definition_key,
        "processDefinitionId": task.definition_id,
        "createTime": task.create_time,
        "startTime": task.create_time,
        "dueDate": task.due_date,
        "category": task.category,
        "formKey": task.form_key,
        "tenantId": task.tenant_id,
        "claimTime": task.claim_time,
        "candidateUsers": list(task.candidate_users),
        "candidateGroups": list(task.candidate_groups),
    }


def task_created(rt: Runtime, ic: InstanceContext, task: TaskRecord) -> None:
    """A historic task instance is created."""
    if ic.keeps_tasks:
        _emit(
            rt,
            ic,
            HistoryKind.TASK_INSTANCE,
            task.id,
            {
                **_task_fields(task),
                "endTime": None,
                "durationInMillis": None,
                "deleteReason": None,
                "completedBy": None,
                "taskLocalVariables": {},
            },
        )


def task_updated(rt: Runtime, ic: InstanceContext, task: TaskRecord) -> None:
    """Task fields changed (assignment by a listener, say)."""
    if ic.keeps_tasks:
        _emit(
            rt,
            ic,
            HistoryKind.TASK_INSTANCE,
            task.id,
            {
                **_task_fields(task),
                "endTime": None,
                "durationInMillis": None,
                "deleteReason": None,
                "completedBy": None,
                "taskLocalVariables": {},
            },
        )


def task_ended(
    rt: Runtime,
    ic: InstanceContext,
    task: TaskRecord,
    *,
    delete_reason: str | None = None,
    completed_by: str | None = None,
    local_variables: dict[str, Any] | None = None,
) -> None:
    """A historic task instance is closed (completed, or deleted with a reason)."""
    if ic.keeps_tasks:
        now = rt.now_iso()
        fields: dict[str, Any] = {
            **_task_fields(task),
            "endTime": now,
            "durationInMillis": _duration(task.create_time, now),
            "deleteReason": delete_reason,
            "completedBy": completed_by,
            "taskLocalVariables": dict(local_variables or {}),
        }
        _emit(rt, ic, HistoryKind.TASK_INSTANCE, task.id, fields)


def variable_set(
    rt: Runtime,
    ic: InstanceContext,
    scope_id: str,
    name: str,
    value: Any,
    *,
    task_id: str | None = None,
) -> None:
    """Latest value of a historic variable (activity+) and a detail row (full)."""
    if not ic.keeps_variables:
        return
    record_id = f"{ic.id}/{scope_id}/{name}"
    now = rt.now_iso()
    _emit(
        rt,
        ic,
        HistoryKind.VARIABLE_INSTANCE,
        record_id,
        {
            "id": record_id,
            "name": name,
            "value": value,
            "processInstanceId": ic.id,
            "executionId": scope_id,
            "taskId": task_id,
            "lastUpdatedTime": now,
        },
    )
    if ic.keeps_details:
        detail_id = rt.new_id()
        _emit(
            rt,
            ic,
            HistoryKind.VARIABLE_DETAIL,
            detail_id,
            {
                "id": detail_id,
                "variableName": name,
                "value": value,
                "processInstanceId": ic.id,
                "executionId": scope_id,
                "taskId": task_id,
                "time": now,
            },
        )
