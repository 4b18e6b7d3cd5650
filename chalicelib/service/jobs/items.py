"""A new job item, and a job as the API shows it.

A job's ``data`` is the job as ``GET job`` shows it (``job_shape``) plus a private
``stacktrace``; where it is stored and indexed is ``repositories.jobs``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...clock import format_iso
from ...storage.ports import Item
from ..repositories.jobs import job_item
from .policy import DEFAULT_RETRIES, RETRY_CYCLE_KEY, retry_policy

__all__ = ["new_job", "job_shape"]


def new_job(
    *,
    job_id: str,
    handler_type: str,
    created: datetime,
    due: datetime | None = None,
    instance_id: str | None = None,
    execution_id: str | None = None,
    definition_id: str | None = None,
    element_id: str | None = None,
    element_name: str | None = None,
    configuration: dict | None = None,
    exclusive: bool = True,
    retries: int | None = None,
    timer: bool = False,
    retry_cycle: str | None = None,
) -> Item:
    """A new job item (write it in the same transaction as the change that creates it).

    ``retry_cycle``: the element's ``failedJobRetryTimeCycle``; when it parses, the job starts
    with its repetitions as retries (unless ``retries`` is given) and fails over with its wait.
    """
    due = due or created
    configuration = dict(configuration or {})
    policy = retry_policy(retry_cycle)
    if policy is not None:
        configuration[RETRY_CYCLE_KEY] = retry_cycle
    if retries is None:
        retries = policy[0] if policy is not None else DEFAULT_RETRIES
    data = {
        "_id": job_id,
        "jobType": "timer" if timer else "message",
        "jobHandlerType": handler_type,
        "jobHandlerConfiguration": configuration,
        "processInstanceId": instance_id,
        "executionId": execution_id,
        "processDefinitionId": definition_id,
        "elementId": element_id,
        "elementName": element_name,
        "dueDate": format_iso(due),
        "createTime": format_iso(created),
        "retries": retries,
        "exceptionMessage": None,
        "exclusive": exclusive,
        "tenantId": "",
        "stacktrace": None,
    }
    return job_item(data, due)


def job_shape(item: Item) -> dict[str, Any]:
    """The job as ``GET job`` shows it (no stack trace: that is the ``stacktrace`` action)."""
    return {k: v for k, v in item.data.items() if k != "stacktrace"}
