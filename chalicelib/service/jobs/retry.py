"""When a job fails, and when its runner loses a race.

A failing runner's effects are rolled back (it committed nothing); ``record_failure`` takes
the job's retries down by one, keeps ``exceptionMessage`` and the stack trace, and makes it due
again after ``RETRY_WAIT``; at zero retries it moves to the dead-letter table in one
transaction.

``failedJobRetryTimeCycle`` (Flowable's ``R5/PT7M`` on the job's element: 5 retries, 7 minutes
apart) replaces both defaults: ``items.new_job(retry_cycle=...)`` starts the job with the
cycle's repetitions as its retries and keeps the cycle in ``jobHandlerConfiguration``; a
failure waits the cycle's period. An expression or an unbounded cycle (``R/PT1M``) keeps the
default retries.

``run_attempts``: a runner's lost race (a concurrent commit to its instance) is retried with
the job read again.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from ...clock import format_iso
from ...errors import ConcurrencyError
from ...storage.aggregate import retry_on_conflict
from ...storage.ports import Delete, Item, MustNotExist, Put, StorageError, Table, VersionIs
from ..container import Services
from ..events.lifecycle import dead_letter_writes
from ..public_errors import public_message
from ..repositories.jobs import counted, dead_letter_item, rescheduled_job
from .policy import DEFAULT_RETRIES, RETRY_CYCLE_KEY, RETRY_WAIT, retry_policy
from .wakeup import publish

__all__ = [
    "DEFAULT_RETRIES",
    "RETRY_WAIT",
    "RETRY_CYCLE_KEY",
    "MAX_STACKTRACE",
    "retry_policy",
    "retry_wait",
    "initial_retries",
    "record_failure",
    "run_attempts",
]

log = logging.getLogger("workflow.service.jobs")

#: a stored stack trace is cut to this many characters
MAX_STACKTRACE = 16_000


def retry_wait(item: Item) -> timedelta:
    """How long a failed job waits before it is due again."""
    configuration = item.data.get("jobHandlerConfiguration") or {}
    policy = retry_policy(configuration.get(RETRY_CYCLE_KEY))
    return policy[1] if policy is not None else RETRY_WAIT


def initial_retries(item: Item) -> int:
    """The retries a job starts with (its cycle's repetitions, else ``DEFAULT_RETRIES``)."""
    configuration = item.data.get("jobHandlerConfiguration") or {}
    policy = retry_policy(configuration.get(RETRY_CYCLE_KEY))
    return policy[0] if policy is not None else DEFAULT_RETRIES


def record_failure(
    container: Services, item: Item, exc: Exception, *, details: str | None = None
) -> dict[str, Any]:
    """Record that the job of ``item`` failed with ``exc`` (see the module doc); the
    ``job?_action=execute`` response. ``details`` (an external worker's ``errorDetails``)
    is kept as the stack trace instead of ``exc``'s."""
    job_id = item.data["_id"]
    now = container.clock.now()
    raw = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    message = public_message(exc) if isinstance(exc, (ConcurrencyError, StorageError)) else raw
    trace = (details or "".join(traceback.format_exception(exc)))[-MAX_STACKTRACE:]
    retries = max(0, int(item.data.get("retries", DEFAULT_RETRIES)) - 1)
    data = {**item.data, "retries": retries, "exceptionMessage": message, "stacktrace": trace}
    condition = VersionIs(item.version or 1)
    if retries == 0:
        announce, announcements = dead_letter_writes(container, data)
        container.store.transact(
            counted(
                [
                    Delete(Table.RUNTIME, item.pk, item.sk, condition, item.stored_chunks),
                    Put(Table.DEADLETTER, dead_letter_item(data), MustNotExist()),
                    *announce,
                ]
            )
        )
        publish(container, announcements)
        log.warning("job %s moved to the dead-letter table: %s", job_id, raw)
        return {"_id": job_id, "status": "deadletter", "exceptionMessage": message, "retries": 0}
    due = now + retry_wait(item)
    data["dueDate"] = format_iso(due)
    updated = rescheduled_job(item, data, due)
    container.store.transact(
        counted([Put(Table.RUNTIME, updated, condition, replaces_chunks=item.stored_chunks)])
    )
    log.warning("job %s failed (%d retries left): %s", job_id, retries, raw)
    publish(container, [updated])
    return {"_id": job_id, "status": "failed", "exceptionMessage": message, "retries": retries}


def run_attempts(
    container: Services, job: Item, attempt: Callable[[Item], str], *, attempts: int = 4
) -> str:
    """Run a runner's ``attempt(job)`` until it commits, retrying lost races.

    The first attempt uses the job as the worker just read it: every runner commits with
    ``job_done_write`` (conditioned on the job's version), so a stale copy cannot win, it only
    loses the race. A retry reads the job again; a job gone meanwhile is already done.
    """
    latest: list[Item | None] = [job]

    def once() -> str:
        current = latest[0] or container.store.get(Table.RUNTIME, job.pk, job.sk)
        latest[0] = None  # the next attempt reads it again
        if current is None:
            return "absent: already run"
        return attempt(current)

    return retry_on_conflict(once, attempts=attempts, delay=0.02)
