"""Lifecycle events (beyond Flowable): what happened to processes, tasks and jobs, as
CloudEvents 1.0 JSON on an outbound channel, through the same outbox as send event tasks.

With ``WORKFLOW_LIFECYCLE_CHANNEL`` naming a deployed outbound channel (``sqs``, ``sns`` or
``eventbridge``), every commit that starts, ends or cancels a process, or creates, assigns or
completes a user task, writes ONE ``lifecycle-events`` job in its own transaction
(``lifecycle_writes``, called by ``UnitOfWork.commit``); a job moved to the dead-letter table
writes one in that transaction (``dead_letter_writes``). The job's runner (``run_lifecycle``)
sends each event as its own message (or topic message, or bus event) to the channel, then
deletes the job: delivery is at least once, in commit order within a job; consumers
deduplicate on the CloudEvents ``id``. Unset, nothing is written and nothing costs anything.

Event ``type``: ``workflow.process.started`` | ``.ended`` | ``.cancelled``,
``workflow.task.created`` | ``.assigned`` | ``.completed``, ``workflow.job.deadlettered``;
``source``: ``/openidm/workflow``; ``subject``: the process instance (or job) id; ``data``: the
ids, keys and names a consumer needs (never variables).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ... import ids
from ...clock import format_iso
from ...engine.runtime.effects import (
    InstanceEnded,
    InstanceStarted,
    TaskAssigned,
    TaskCompleted,
    TaskCreated,
)
from ...errors import NotFound
from ...storage.ports import Item, MustNotExist, Put, Table, Write
from ..container import Services
from ..definitions import event_registry as registry
from ..jobs.items import new_job
from ..repositories.jobs import counted, job_done_write
from .outbound import publish_to

if TYPE_CHECKING:
    from ...engine.runtime.session import CommandResult

__all__ = [
    "HANDLER",
    "SOURCE",
    "cloud_event",
    "events_of",
    "lifecycle_writes",
    "dead_letter_writes",
    "run_lifecycle",
]

HANDLER = "lifecycle-events"
SOURCE = "/openidm/workflow"
#: the "terminate end event" reason ends a process; any other reason cancelled it
_ENDED_REASONS = ("terminate end event",)


def cloud_event(
    container: Services, kind: str, subject: str, data: Mapping[str, Any]
) -> dict[str, Any]:
    """One CloudEvents 1.0 JSON event (structured mode)."""
    return {
        "specversion": "1.0",
        "id": ids.new_id(),
        "source": SOURCE,
        "type": f"workflow.{kind}",
        "subject": subject,
        "time": format_iso(container.clock.now()),
        "datacontenttype": "application/json",
        "data": dict(data),
    }


def _definition_of(result: CommandResult, instance_id: str) -> str | None:
    state = result.instances.get(instance_id)
    return state.header.definition_id if state is not None else None


def events_of(container: Services, result: CommandResult) -> list[dict[str, Any]]:
    """The lifecycle events of a command's effects, in order."""
    found: list[dict[str, Any]] = []
    for effect in result.effects:
        iid = effect.instance_id
        base: dict[str, Any] = {
            "processInstanceId": iid,
            "processDefinitionId": _definition_of(result, iid),
        }
        data: dict[str, Any]
        if isinstance(effect, InstanceStarted):
            data = {**base, "processDefinitionId": effect.definition_id}
            data.update(businessKey=effect.business_key)
            if effect.super_instance_id:
                data.update(superProcessInstanceId=effect.super_instance_id)
            found.append(cloud_event(container, "process.started", iid, data))
        elif isinstance(effect, InstanceEnded):
            reason = effect.delete_reason
            ended = reason is None or reason.startswith(_ENDED_REASONS)
            data = {**base, "endActivityId": effect.end_activity_id, "deleteReason": reason}
            kind = "process.ended" if ended else "process.cancelled"
            found.append(cloud_event(container, kind, iid, data))
        elif isinstance(effect, TaskCreated):
            task = effect.task
            data = {
                **base,
                "taskId": effect.task_id,
                "taskDefinitionKey": task.get("task_definition_key"),
                "name": task.get("name"),
                "assignee": task.get("assignee"),
                "candidateUsers": list(task.get("candidate_users") or ()),
                "candidateGroups": list(task.get("candidate_groups") or ()),
            }
            found.append(cloud_event(container, "task.created", iid, data))
        elif isinstance(effect, TaskAssigned):
            data = {**base, "taskId": effect.task_id, "assignee": effect.assignee}
            found.append(cloud_event(container, "task.assigned", iid, data))
        elif isinstance(effect, TaskCompleted):
            data = {**base, "taskId": effect.task_id, "userId": effect.user_id}
            found.append(cloud_event(container, "task.completed", iid, data))
    return found


def _job(container: Services, events: list[dict[str, Any]], instance_id: str | None) -> Item:
    return new_job(
        job_id=ids.child_id(instance_id) if instance_id else ids.new_id(),
        handler_type=HANDLER,
        created=container.clock.now(),
        instance_id=instance_id,
        configuration={"channelKey": container.settings.lifecycle_channel, "events": events},
        exclusive=False,
    )


def lifecycle_writes(container: Services, result: CommandResult) -> tuple[list[Write], list[Item]]:
    """``(writes, job items)``: the commit's one lifecycle job, or nothing (no channel set,
    or no lifecycle effect)."""
    if not container.settings.lifecycle_channel:
        return [], []
    events = events_of(container, result)
    if not events:
        return [], []
    job = _job(container, events, next(iter(result.instances), None))
    return [Put(Table.RUNTIME, job, MustNotExist())], [job]


def dead_letter_writes(
    container: Services, job: Mapping[str, Any]
) -> tuple[list[Write], list[Item]]:
    """``(writes, job items)`` announcing that ``job`` (its data) was dead-lettered; none for
    a lifecycle job itself (its channel is what failed) or without a channel."""
    if not container.settings.lifecycle_channel or job.get("jobHandlerType") == HANDLER:
        return [], []
    data = {
        "jobId": job.get("_id"),
        "jobHandlerType": job.get("jobHandlerType"),
        "processInstanceId": job.get("processInstanceId"),
        "processDefinitionId": job.get("processDefinitionId"),
        "exceptionMessage": job.get("exceptionMessage"),
    }
    event = cloud_event(container, "job.deadlettered", str(job.get("_id")), data)
    item = _job(container, [event], None)
    return [Put(Table.RUNTIME, item, MustNotExist())], [item]


def run_lifecycle(container: Services, job: Item) -> str:
    """Send the job's events to its channel's queue, one message each, then delete the job."""
    configuration = job.data.get("jobHandlerConfiguration") or {}
    key = configuration.get("channelKey") or ""
    channel = registry.cached_channel(container, key)
    if channel is None or channel.channel_type != "outbound":
        raise NotFound(f"No outbound channel '{key}' is deployed (WORKFLOW_LIFECYCLE_CHANNEL)")
    events = list(configuration.get("events") or [])
    if channel.type == "sqs":
        container.publisher.send_batch(str(channel.destination), events)
    else:  # a topic or bus takes one event per call
        for event in events:
            publish_to(container, channel, str(event.get("type")), event)
    container.store.transact(counted([job_done_write(job)]))
    return f"sent {len(events)} lifecycle event(s) to {key}"
