"""Running jobs: the queue worker's ``run_job``, ``job/{id}?_action=execute`` and
``job/deadletter/{id}?_action=execute`` (DESIGN.md §4).

Running (``execute``): the runner of the job's ``jobHandlerType`` (``runners.RUNNERS``) does
the work and deletes the job in the same transaction as its effects, so a duplicate wake-up
finds nothing. When a runner fails, ``retry.record_failure`` keeps the failure and makes the
job due again, or moves it to the dead-letter table.
"""

from __future__ import annotations

import math
import time
from typing import Any

from ...clock import format_iso
from ...errors import BadRequest, NotFound
from ...storage.ports import Delete, Item, MustExist, MustNotExist, Put, Table
from ..container import Services
from ..repositories.jobs import job_item, read_job
from .retry import initial_retries, record_failure
from .runners import RUNNERS
from .wakeup import publish, seconds_until

__all__ = ["EARLY_WAIT_SECONDS", "UnknownJobType", "run_job", "execute", "move_to_executable"]

#: a wake-up this early (delays are whole seconds, rounded down) waits in the worker until
#: the job is due; an earlier one goes back to the queue. Never run early either way.
EARLY_WAIT_SECONDS = 1.0


class UnknownJobType(RuntimeError):
    """A job whose type no runner serves: it fails (and is retried) like any failing job."""


def run_job(container: Services, job_id: str) -> str:
    """The queue worker's entry: run the job if it exists and is due; a missing job is a
    duplicate or late message (acknowledged, no effect); a job due within
    ``EARLY_WAIT_SECONDS`` is run when due (after a short wait); a job due later is sent again
    with the remaining delay (never run early)."""
    item = read_job(container.store, job_id)
    if item is None:
        return "absent (already run or cancelled): acknowledged"
    remaining = seconds_until(container.clock.now(), item.data["dueDate"])
    if remaining > EARLY_WAIT_SECONDS:
        publish(container, [item])
        return f"not due for {math.ceil(remaining)} s: delayed again"
    if remaining > 0:  # sent with whole-second delays rounded down: wait the fraction here
        time.sleep(remaining)
    outcome = _execute(container, item)
    if outcome["status"] == "failed":  # the retry is the job's new due date, not this message
        return f"failed ({outcome['retries']} retries left): {outcome['exceptionMessage']}"
    return outcome["status"]


def execute(container: Services, job_id: str) -> dict[str, Any]:
    """``job/{id}?_action=execute``: run now, due or not (DECISIONS.md response shape)."""
    item = read_job(container.store, job_id)
    if item is None:
        raise NotFound(f"Job {job_id} not found")
    return _execute(container, item)


def _execute(container: Services, item: Item) -> dict[str, Any]:
    job_id = item.data["_id"]
    runner = RUNNERS.get(item.data["jobHandlerType"])
    try:
        if runner is None:
            raise UnknownJobType(f"No runner for job type {item.data['jobHandlerType']!r}")
        runner(container, item)
    except Exception as exc:  # roll back is implicit: the runner committed nothing
        return record_failure(container, item, exc)
    return {"_id": job_id, "status": "executed"}


def move_to_executable(container: Services, job_id: str, retries: Any = None) -> dict[str, Any]:
    """``job/deadletter/{id}?_action=execute``: back to the runtime with fresh retries, queued
    (``retries`` when given, else the job's ``failedJobRetryTimeCycle`` count, else 3)."""
    if retries is not None and (
        isinstance(retries, bool) or not isinstance(retries, int) or retries < 1
    ):
        raise BadRequest("retries must be an integer >= 1")
    dead = read_job(container.store, job_id, dead=True)
    if dead is None:
        raise NotFound(f"Dead-letter job {job_id} not found")
    if retries is None:
        retries = max(1, initial_retries(dead))
    now = container.clock.now()
    revived = job_item({**dead.data, "retries": retries, "dueDate": format_iso(now)}, now)
    container.store.transact(
        [
            Delete(Table.DEADLETTER, dead.pk, dead.sk, MustExist(), dead.stored_chunks),
            Put(Table.RUNTIME, revived, MustNotExist()),
        ]
    )
    publish(container, [revived])
    return {"_id": job_id, "status": "moved"}
