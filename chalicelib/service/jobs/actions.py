"""Running jobs: the queue worker's ``run_job``, ``job/{id}?_action=execute`` and
``job/deadletter/{id}?_action=execute`` (DESIGN.md §4).

Running (``execute``): the runner of the job's ``jobHandlerType`` (``runners.RUNNERS``) does
the work and deletes the job in the same transaction as its effects, so a duplicate wake-up
finds nothing. When a runner fails, ``retry.record_failure`` keeps the failure and makes the
job due again, or moves it to the dead-letter table. A run that loses the race to another
run of the same job (the worker and an explicit execute at once) answers the other run's
outcome (``_execute``), never a 409 asking the caller to retry.
"""

from __future__ import annotations

import math
import time
from typing import Any, cast

from ...clock import format_iso
from ...errors import BadRequest, ConcurrencyError, NotFound
from ...observability import emit_metrics
from ...storage.ports import Delete, Item, MustExist, MustNotExist, Put, Table
from ..container import Services
from ..repositories.jobs import counted, job_item, read_job
from .retry import DEFAULT_RETRIES, initial_retries, record_failure
from .runners import RUNNERS
from .wakeup import publish, seconds_until

__all__ = ["EARLY_WAIT_SECONDS", "UnknownJobType", "run_job", "execute", "move_to_executable"]

#: how long a run that keeps losing races tries again (then the conflict is its failure)
RACE_SECONDS = 10.0
RACE_PAUSE_SECONDS = 0.05
#: how often recording that lasting conflict as the job's failure is tried
RECORD_ATTEMPTS = 5
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
    if "timer" in item.data.get("jobHandlerType", ""):
        late = -seconds_until(container.clock.now(), item.data["dueDate"])
        emit_metrics(
            "timer ran",
            {"TimerLateness": round(max(late, 0.0) * 1000, 1)},
            keep_zero=True,
            jobId=job_id,
        )
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
    """``_run_until_settled``, counted: ``JobRuns``, ``JobFailures`` (failed or dead letter),
    ``JobsDeadLettered``."""
    outcome = _run_until_settled(container, item)
    status = outcome.get("status")
    emit_metrics(
        f"job {outcome.get('_id')}: {status}",
        {
            "JobRuns": 1,
            "JobFailures": int(status in ("failed", "deadletter")),
            "JobsDeadLettered": int(status == "deadletter"),
        },
        jobId=outcome.get("_id"),
        jobHandlerType=item.data.get("jobHandlerType"),
    )
    return outcome


def _run_until_settled(container: Services, item: Item) -> dict[str, Any]:
    """Run the job of ``item``; its outcome (executed, failed, dead letter).

    Another run of the same job (the worker, a second ``execute``) may commit first: this run
    then loses its race (``ConcurrencyError``, from the runner or from recording a failure)
    and never answers 409. It reads the job again instead and answers the winner's outcome: gone
    from the runtime is executed (or in the dead-letter table: dead letter); still there with
    a failure recorded since is failed; still there otherwise (a broadcast moved on, the
    instance changed meanwhile) is run again. A conflict that outlasts ``RACE_SECONDS`` is
    then recorded as the job's failure, as any error of its run (so a conflict that never
    clears still ends in the dead-letter table): see ``_record_lasting_conflict``."""
    deadline = time.monotonic() + RACE_SECONDS
    while True:
        try:
            return _run_once(container, item)
        except ConcurrencyError as lost:
            fresh = read_job(container.store, item.data["_id"])
            outcome = _outcome_of_other_run(container, item, fresh)
            if outcome is not None:
                return outcome
            item = cast(Item, fresh)
            if time.monotonic() > deadline:
                return _record_lasting_conflict(container, item, lost)
            time.sleep(RACE_PAUSE_SECONDS)


class LastingConflict(RuntimeError):
    """The failure recorded for a run that kept losing races for ``RACE_SECONDS``: its message
    says what happened (the caller retrying would meet the same other run), not "retry"."""

    def __init__(self, seconds: float):
        super().__init__(
            f"The job was being changed by another run for more than {seconds:g} seconds; "
            "this run gave up"
        )


def _record_lasting_conflict(
    container: Services, item: Item, lost: ConcurrencyError
) -> dict[str, Any]:
    """Record ``LastingConflict`` as the failure of the job of ``item``; its outcome.

    Recording is itself a version-conditioned write, so the other run may win again: then the
    job is read again and, as in ``_run_until_settled``, the other run's outcome is answered
    when it settled the job, else the record is tried again on the fresh copy. Never a 409:
    after ``RECORD_ATTEMPTS`` lost records the answer is ``failed`` with the job's retries as
    stored (nothing counted; the job stays due, so it runs again)."""
    failure = LastingConflict(RACE_SECONDS)
    failure.__cause__ = lost  # the stack trace keeps the storage conflict; responses do not
    for attempt in range(RECORD_ATTEMPTS):
        try:
            return record_failure(container, item, failure)
        except ConcurrencyError:
            fresh = read_job(container.store, item.data["_id"])
            outcome = _outcome_of_other_run(container, item, fresh)
            if outcome is not None:
                return outcome
            item = cast(Item, fresh)
            if attempt + 1 < RECORD_ATTEMPTS:
                time.sleep(RACE_PAUSE_SECONDS)
    return {
        "_id": item.data["_id"],
        "status": "failed",
        "exceptionMessage": str(failure),
        "retries": item.data.get("retries", DEFAULT_RETRIES),
    }


def _run_once(container: Services, item: Item) -> dict[str, Any]:
    job_id = item.data["_id"]
    runner = RUNNERS.get(item.data["jobHandlerType"])
    try:
        if runner is None:
            raise UnknownJobType(f"No runner for job type {item.data['jobHandlerType']!r}")
        runner(container, item)
    except ConcurrencyError:
        raise  # a lost race is no failure of the job: ``_execute`` looks again
    except Exception as exc:  # roll back is implicit: the runner committed nothing
        return record_failure(container, item, exc)
    return {"_id": job_id, "status": "executed"}


def _outcome_of_other_run(
    container: Services, ran: Item, fresh: Item | None
) -> dict[str, Any] | None:
    """What the run that won the race did with the job (None: nothing yet, run it again)."""
    job_id = ran.data["_id"]
    if fresh is None:
        dead = read_job(container.store, job_id, dead=True)
        if dead is not None:
            return {
                "_id": job_id,
                "status": "deadletter",
                "exceptionMessage": dead.data.get("exceptionMessage"),
                "retries": 0,
            }
        return {"_id": job_id, "status": "executed"}
    retries = fresh.data.get("retries", DEFAULT_RETRIES)
    if retries < ran.data.get("retries", DEFAULT_RETRIES):
        return {
            "_id": job_id,
            "status": "failed",
            "exceptionMessage": fresh.data.get("exceptionMessage"),
            "retries": retries,
        }
    return None


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
        counted(
            [
                Delete(Table.DEADLETTER, dead.pk, dead.sk, MustExist(), dead.stored_chunks),
                Put(Table.RUNTIME, revived, MustNotExist()),
            ]
        )
    )
    publish(container, [revived])
    return {"_id": job_id, "status": "moved"}
