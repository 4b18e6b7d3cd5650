"""The external worker task over SQS: the job is published to its topic's queue, and the worker
answers on the events queue (a task token, as AWS Step Functions' ``.waitForTaskToken``).

Publishing (``run_external_worker``, the runner of ``external-worker`` jobs): the job's work
item goes to the topic's queue (``WORKFLOW_WORKER_TOPICS``, else the outbound ``sqs`` channel
keyed like the topic: ``action_checks.topic_queue``)::

    {"jobId": "...", "topic": "simple", "processInstanceId": "...", "executionId": "...",
     "activityId": "externalWorkerTask", "variables": {...},
     "callback": {"queue": "<events queue>",
                  "message": {"workflowCallback": "<jobId>", "action": "complete"},
                  "trigger": {"method": "POST",
                              "path": "/openidm/workflow/execution?_action=trigger",
                              "body": {"executionId": "<executionId>",
                                       "transientVariables": {}}}}}

``callback.message`` is the answer to send to ``callback.queue`` (with ``action`` and the
fields below); ``callback.trigger`` is the REST alternative: the request that completes the
task at once (``transientVariables`` non-null makes the trigger synchronous), the results in
``processVariables``.

``variables`` are what Flowable's acquire returns: the ``externalWorkerInParameter`` values,
else every variable the task sees, else none (``doNotIncludeVariables``). Then the job is
*locked*: it stays in the runtime table (its id is the task token) with ``lockOwner``
(``sqs:<queue>``) and ``lockExpirationTime`` = now + ``WORKFLOW_WORKER_LOCK_SECONDS``, and is
due again only then. It is published before it is locked, so a failing send fails the job
(retried, then dead-lettered, like any job); a lock that loses its race (the worker answered
already) leaves the answer's effect alone.

A lock timeout returns the job for another try: when the lock expires and no answer came, the
job is due, runs again and is published again. As in Flowable, an expired lock does not count
as a failure: the job's retries are not decremented (only a ``fail`` answer takes them down).

Answers (``answer``, called by the inbound events function for a message carrying
``workflowCallback``): the callback message with ``action``

* ``complete`` and optional ``variables``: the task completes, through its
  ``externalWorkerOutParameter`` mappings (``finish.finish_job``);
* ``bpmnError`` with ``errorCode`` and optional ``variables``: the error is thrown from the task
  (caught by its boundary error events);
* ``fail`` with ``errorMessage`` (optional ``errorDetails``): the job fails: retries down by one,
  due again after the retry wait (published again then), dead-lettered at zero. It counts only
  while the job is locked (published and waiting): a repeated ``fail`` changes nothing more.

The first answer wins: a job already completed (a duplicate answer, an SQS redelivery, an
answer after ``execution?_action=trigger``) is gone, and the answer has no effect (logged, not
an error). Unlike Flowable, no worker id is checked: the job id is the token, so a late
``complete`` from a worker whose lock expired still counts if it comes first. A ``fail`` that
overtakes its own lock (answered before the lock was written) finds the job unlocked and is
ignored: the job comes back when that lock expires. A malformed answer (no such action, a ``variables`` that is not an object, a
``bpmnError`` without ``errorCode``, a job id naming another kind of job) is poison: the inbound
function dead-letters it like any poison message.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from ...clock import format_iso
from ...storage.ports import Item, Put, Table, VersionIs
from ..container import Services
from ..definitions import event_registry as registry
from ..jobs.retry import record_failure
from ..jobs.wakeup import publish
from ..repositories.jobs import counted, job_without, read_job, rescheduled_job
from .finish import finish_job
from .outcome import ActionFailed, ActionOutcome

__all__ = [
    "HANDLER",
    "CALLBACK",
    "TRIGGER_PATH",
    "ACTIONS",
    "LOCK_FIELDS",
    "MalformedAnswer",
    "WorkerFailed",
    "work_item",
    "run_external_worker",
    "is_answer",
    "answer",
]

log = logging.getLogger("workflow.service.actions")

#: the job handler type of an external worker task
HANDLER = "external-worker"
#: the field of an events-queue message that makes it a worker's answer (the job id)
CALLBACK = "workflowCallback"
#: the REST request that completes the task instead (``execution?_action=trigger``)
TRIGGER_PATH = "/openidm/workflow/execution?_action=trigger"
#: the answers a worker may give
ACTIONS = ("complete", "bpmnError", "fail")
#: the job fields a lock sets (Flowable's external worker job has the same two)
LOCK_FIELDS = ("lockOwner", "lockExpirationTime")


class MalformedAnswer(ValueError):
    """A worker answer that can never have an effect (the reason): poison."""


class WorkerFailed(ActionFailed):
    """The worker's ``fail`` answer: the job fails with the worker's ``errorMessage``."""


def work_item(container: Services, job: Item) -> dict[str, Any]:
    """The message published to the topic's queue for ``job`` (see the module doc)."""
    data = job.data
    configuration = data.get("jobHandlerConfiguration") or {}
    execution_id = data.get("executionId")
    return {
        "jobId": data["_id"],
        "topic": configuration.get("topic"),
        "processInstanceId": data.get("processInstanceId"),
        "executionId": execution_id,
        "activityId": data.get("elementId"),
        "variables": configuration.get("variables") or {},
        "callback": {
            "queue": container.settings.events_queue,
            "message": {CALLBACK: data["_id"], "action": "complete"},
            "trigger": {
                "method": "POST",
                "path": TRIGGER_PATH,
                "body": {"executionId": execution_id, "transientVariables": {}},
            },
        },
    }


def run_external_worker(container: Services, job: Item) -> str:
    """Publish ``job`` to its topic's queue, then lock it (see the module doc)."""
    from ..definitions.action_checks import topic_queue  # the engine: loaded on first use

    configuration = job.data.get("jobHandlerConfiguration") or {}
    topic = str(configuration.get("topic") or "")
    queue = topic_queue(
        container.settings, topic, lambda key: registry.cached_channel(container, key)
    )
    if queue is None:
        raise ActionFailed(
            f"external worker topic '{topic}' has no queue (WORKFLOW_WORKER_TOPICS or an "
            f"outbound sqs channel with key '{topic}')"
        )
    container.publisher.send(queue, work_item(container, job))
    expires = container.clock.now() + timedelta(seconds=container.settings.worker_lock_seconds)
    data = {
        **job.data,
        "lockOwner": f"sqs:{queue}",
        "lockExpirationTime": format_iso(expires),
        "dueDate": format_iso(expires),
    }
    locked = rescheduled_job(job, data, expires)
    container.store.transact(
        counted(
            [
                Put(
                    Table.RUNTIME,
                    locked,
                    VersionIs(job.version or 1),
                    replaces_chunks=job.stored_chunks,
                )
            ]
        )
    )
    publish(container, [locked])  # the wake-up at the lock's expiry (else the sweep's)
    return f"published to {queue}, locked until {data['lockExpirationTime']}"


def is_answer(payload: Any) -> bool:
    """Whether an events-queue message (decoded JSON) is a worker's answer."""
    return isinstance(payload, dict) and CALLBACK in payload


def _variables(payload: dict[str, Any]) -> dict[str, Any]:
    variables = payload.get("variables")
    if variables is None:
        return {}
    if not isinstance(variables, dict) or not all(isinstance(k, str) for k in variables):
        raise MalformedAnswer("the answer's variables are not a JSON object")
    return variables


def _text(payload: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = payload.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise MalformedAnswer(f"the answer's {name} is missing or not a text")
    return value


def answer(container: Services, payload: dict[str, Any]) -> str:
    """Apply a worker's answer (see the module doc); what it did. Raises ``MalformedAnswer``."""
    job_id = payload.get(CALLBACK)
    if not isinstance(job_id, str) or not job_id:
        raise MalformedAnswer(f"{CALLBACK} is not a job id")
    action = payload.get("action")
    if action not in ACTIONS:
        raise MalformedAnswer(f"the answer's action {action!r} is not one of {', '.join(ACTIONS)}")
    variables = _variables(payload)
    error_code = _text(payload, "errorCode", required=action == "bpmnError")
    message = _text(payload, "errorMessage", required=False)
    details = _text(payload, "errorDetails", required=False)
    job = read_job(container.store, job_id)
    if job is None:
        log.info("worker answer %s for job %s: no such job (answered already)", action, job_id)
        return f"job {job_id} absent (answered already): no effect"
    if job.data.get("jobHandlerType") != HANDLER:
        raise MalformedAnswer(f"job {job_id} is not an external worker job")
    if action == "fail":
        if not job.data.get("lockOwner"):
            log.info("worker fail for job %s: not locked (a repeated answer)", job_id)
            return f"job {job_id} not locked: no effect"
        failure = WorkerFailed(message or "the external worker reported a failure")
        outcome = record_failure(
            container,
            job_without(job, LOCK_FIELDS),
            failure,
            details=details,
        )
        return f"job {job_id} {outcome['status']} ({outcome['retries']} retries left)"
    return f"job {job_id}: " + finish_job(
        container, job, ActionOutcome(variables, error_code if action == "bpmnError" else None)
    )
