"""Jobs: the job item is the truth, an SQS message only wakes a worker (DESIGN.md §4).

Layout. A job of process instance ``I`` lives in the runtime table at ``pk = I``,
``sk = "job#<job id>"`` (its id is ``ids.child_id(I)``, so the id alone locates it); a job
without an instance (a signal broadcast) at ``pk = sk = ...`` of its own id. Its ``data`` is the
job as the API shows it (``job_shape``) plus a private ``stacktrace``. Index attributes:

* ``kind_shard = job#<n>``, ``sort = <createTime>#<id>``: the ``job`` listing;
* ``due_shard = due#<n>``, ``due_at = <ISO due time>#<id>``: the due-date index the sweep reads
  (every job has a due time: ``createTime`` when it may run at once).

Running (``execute``): the runner registered for the job's ``jobHandlerType`` does the work and
deletes the job in the same transaction as its effects, so a duplicate wake-up finds nothing.
When a runner fails, its effects are rolled back (nothing was committed), the job's retries go
down by one with ``exceptionMessage`` and the stack trace kept, and it becomes due again after
``RETRY_WAIT``; at zero retries it moves to the dead-letter table in one transaction.

``failedJobRetryTimeCycle`` (Flowable's ``R5/PT7M`` on the job's element: 5 retries, 7 minutes
apart) replaces both defaults: ``new_job(retry_cycle=...)`` starts the job with the cycle's
repetitions as its retries and keeps the cycle in ``jobHandlerConfiguration``; a failure waits
the cycle's period. An expression or an unbounded cycle (``R/PT1M``) keeps the default retries.
"""

from __future__ import annotations

import logging
import math
import time
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from .. import ids
from ..clock import format_iso, parse_iso
from ..errors import BadRequest, NotFound
from ..storage.ports import (
    Delete,
    Index,
    Item,
    KeyRange,
    MustExist,
    MustNotExist,
    Put,
    Table,
    VersionIs,
)
from ..storage.sharding import query_shards, shard_for, shard_key

__all__ = [
    "RUNNERS",
    "UnknownJobType",
    "job_key",
    "job_done_write",
    "run_attempts",
    "due_index",
    "new_job",
    "run_job",
    "execute",
    "sweep",
    "move_to_executable",
    "dead_letter_key",
    "DUE_SHARDS",
    "LIST_SHARDS",
    "SWEEP_LOOKAHEAD",
    "MAX_DELAY_SECONDS",
    "DEFAULT_RETRIES",
    "RETRY_WAIT",
    "job_shape",
    "publish",
    "retry_policy",
    "sweep_lookahead",
    "RETRY_CYCLE_KEY",
]

log = logging.getLogger("workflow.service.jobs")

#: shards of the due-date index: enough to spread a burst of timers over partitions
DUE_SHARDS = 8
#: shards of the ``job`` and ``job/deadletter`` listings
LIST_SHARDS = 8
#: the sweep runs every minute on AWS; it looks a little further ahead so no timer waits for it
#: (the lookahead is ``SWEEP_LOOKAHEAD_FACTOR`` x the sweep period: see ``sweep_lookahead``)
SWEEP_LOOKAHEAD = timedelta(seconds=90)
SWEEP_LOOKAHEAD_FACTOR = 1.5
DEFAULT_SWEEP_PERIOD_SECONDS = 60.0
#: an overdue job is sent again at most this often (or once per sweep when it runs less often)
OVERDUE_RESEND_SECONDS = 60.0
MIN_SWEEP_LOOKAHEAD = timedelta(seconds=1)
#: SQS's largest DelaySeconds
MAX_DELAY_SECONDS = 900
#: a wake-up this early (delays are whole seconds, rounded down) waits in the worker until
#: the job is due; an earlier one goes back to the queue. Never run early either way.
EARLY_WAIT_SECONDS = 1.0
#: Flowable's defaults: 3 tries, 10 s apart
DEFAULT_RETRIES = 3
RETRY_WAIT = timedelta(seconds=10)
#: where a job keeps its ``failedJobRetryTimeCycle`` (in ``jobHandlerConfiguration``)
RETRY_CYCLE_KEY = "failedJobRetryTimeCycle"
#: a stored stack trace is cut to this many characters
MAX_STACKTRACE = 16_000

#: jobHandlerType -> runner(container, job item) -> outcome for the log. A runner commits its
#: effects together with ``Delete`` of the job item (``job_done_write``); raising means failure.
RUNNERS: dict[str, Callable[[Any, Item], str]] = {}


class UnknownJobType(RuntimeError):
    """A job whose type no runner serves: it fails (and is retried) like any failing job."""


def job_key(job_id: str) -> tuple[str, str]:
    """The (pk, sk) of a job item, from its id alone."""
    return ids.instance_of(job_id) or job_id, f"job#{job_id}"


def dead_letter_key(job_id: str) -> tuple[str, str]:
    """The (pk, sk) of a dead-letter job."""
    return job_id, "#job"


def retry_policy(cycle: str | None) -> tuple[int, Any] | None:
    """``(retries, wait)`` of a ``failedJobRetryTimeCycle`` (``R5/PT7M`` -> ``(5, 7 min)``).

    None (the defaults apply) when there is no cycle, when it is an expression (not evaluated
    here) or malformed, or when it has no repetition count (``R/PT7M``: the wait still applies
    through ``_retry_wait``).
    """
    if not cycle or not isinstance(cycle, str) or "${" in cycle or "#{" in cycle:
        return None
    from ..engine.timers import RepeatingInterval, parse_time_cycle

    try:
        parsed = parse_time_cycle(cycle)
    except ValueError:
        return None
    if not isinstance(parsed, RepeatingInterval):
        return None
    retries = DEFAULT_RETRIES if parsed.repetitions is None else parsed.repetitions
    return retries, parsed.period


def _retry_wait(item: Item) -> Any:
    configuration = item.data.get("jobHandlerConfiguration") or {}
    policy = retry_policy(configuration.get(RETRY_CYCLE_KEY))
    return policy[1] if policy is not None else RETRY_WAIT


def _initial_retries(item: Item) -> int:
    configuration = item.data.get("jobHandlerConfiguration") or {}
    policy = retry_policy(configuration.get(RETRY_CYCLE_KEY))
    return policy[0] if policy is not None else DEFAULT_RETRIES


def due_index(job_id: str, due: datetime) -> dict[str, str]:
    """The index attributes that put a job in the due-date index."""
    return {
        "due_shard": f"due#{shard_for(job_id, DUE_SHARDS)}",
        "due_at": f"{format_iso(due)}#{job_id}",
    }


def _listing(prefix: str, job_id: str, created: str) -> dict[str, str]:
    return {
        "kind_shard": shard_key(prefix, shard_for(job_id, LIST_SHARDS)),
        "sort": f"{created}#{job_id}",
    }


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
    index = {**_listing("job", job_id, data["createTime"]), **due_index(job_id, due)}
    pk, sk = job_key(job_id)
    return Item(pk, sk, "job", data, index=index, version=1)


def job_shape(item: Item) -> dict[str, Any]:
    """The job as ``GET job`` shows it (no stack trace: that is the ``stacktrace`` action)."""
    return {k: v for k, v in item.data.items() if k != "stacktrace"}


def job_done_write(item: Item) -> Delete:
    """The write that removes a job once its work commits (conditioned on its version)."""
    return Delete(Table.RUNTIME, item.pk, item.sk, VersionIs(item.version or 1), item.stored_chunks)


def run_attempts(
    container: Any, job: Item, attempt: Callable[[Item], str], *, attempts: int = 4
) -> str:
    """Run a runner's ``attempt(job)`` until it commits, retrying lost races.

    The first attempt uses the job as the worker just read it: every runner commits with
    ``job_done_write`` (conditioned on the job's version), so a stale copy cannot win, it only
    loses the race. A retry reads the job again; a job gone meanwhile is already done.
    """
    from ..storage.aggregate import retry_on_conflict

    latest: list[Item | None] = [job]

    def once() -> str:
        current = latest[0] or container.store.get(Table.RUNTIME, job.pk, job.sk)
        latest[0] = None  # the next attempt reads it again
        if current is None:
            return "absent: already run"
        return attempt(current)

    return retry_on_conflict(once, attempts=attempts, delay=0.02)


def publish(container: Any, items: list[Item]) -> None:
    """After a commit: wake the workers for jobs due within SQS's longest delay.

    Later jobs are left to the sweep. Losing a message here loses nothing: the sweep finds the
    job by its due date.
    """
    now = container.clock.now()
    from ..workers.jobs import encode

    for item in items:
        delay = _delay_seconds(now, item.data["dueDate"])
        if delay <= MAX_DELAY_SECONDS:
            try:
                container.publisher.send(
                    container.settings.jobs_queue, encode(item.data["_id"]), delay_seconds=delay
                )
            except Exception:  # the sweep will find it
                log.warning(
                    "wake-up for job %s not sent; the sweep will", item.data["_id"], exc_info=True
                )


def run_job(container: Any, job_id: str) -> str:
    """The queue worker's entry: run the job if it exists and is due; a missing job is a
    duplicate or late message (acknowledged, no effect); a job due within
    ``EARLY_WAIT_SECONDS`` is run when due (after a short wait); a job due later is sent again
    with the remaining delay (never run early)."""
    pk, sk = job_key(job_id)
    item = container.store.get(Table.RUNTIME, pk, sk)
    if item is None:
        return "absent (already run or cancelled): acknowledged"
    remaining = _seconds_until(container.clock.now(), item.data["dueDate"])
    if remaining > EARLY_WAIT_SECONDS:
        publish(container, [item])
        return f"not due for {math.ceil(remaining)} s: delayed again"
    if remaining > 0:  # sent with whole-second delays rounded down: wait the fraction here
        time.sleep(remaining)
    outcome = _execute(container, item)
    if outcome["status"] == "failed":  # the retry is the job's new due date, not this message
        return f"failed ({outcome['retries']} retries left): {outcome['exceptionMessage']}"
    return outcome["status"]


def execute(container: Any, job_id: str) -> dict[str, Any]:
    """``job/{id}?_action=execute``: run now, due or not (DECISIONS.md response shape)."""
    pk, sk = job_key(job_id)
    item = container.store.get(Table.RUNTIME, pk, sk)
    if item is None:
        raise NotFound(f"Job {job_id} not found")
    return _execute(container, item)


def _execute(container: Any, item: Item) -> dict[str, Any]:
    job_id = item.data["_id"]
    from . import (  # noqa: F401  (register their runners)
        commit_intents,
        engine_jobs,
        execution_jobs,  # noqa: F401  (registers the execution actions' runners)
        start_events,  # noqa: F401  (registers the timer-start runner on first use)
    )

    runner = RUNNERS.get(item.data["jobHandlerType"])
    try:
        if runner is None:
            raise UnknownJobType(f"No runner for job type {item.data['jobHandlerType']!r}")
        runner(container, item)
    except Exception as exc:  # roll back is implicit: the runner committed nothing
        return _record_failure(container, item, exc)
    return {"_id": job_id, "status": "executed"}


def _record_failure(container: Any, item: Item, exc: Exception) -> dict[str, Any]:
    job_id = item.data["_id"]
    now = container.clock.now()
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    trace = "".join(traceback.format_exception(exc))[-MAX_STACKTRACE:]
    retries = max(0, int(item.data.get("retries", DEFAULT_RETRIES)) - 1)
    data = {**item.data, "retries": retries, "exceptionMessage": message, "stacktrace": trace}
    condition = VersionIs(item.version or 1)
    if retries == 0:
        dl_pk, dl_sk = dead_letter_key(job_id)
        dead = Item(
            dl_pk,
            dl_sk,
            "deadletter",
            data,
            index=_listing("dlq", job_id, data["createTime"]),
            version=1,
        )
        container.store.transact(
            [
                Delete(Table.RUNTIME, item.pk, item.sk, condition, item.stored_chunks),
                Put(Table.DEADLETTER, dead, MustNotExist()),
            ]
        )
        log.warning("job %s moved to the dead-letter table: %s", job_id, message)
        return {"_id": job_id, "status": "deadletter", "exceptionMessage": message, "retries": 0}
    due = now + _retry_wait(item)
    data["dueDate"] = format_iso(due)
    index = {**item.index, **due_index(job_id, due)}
    updated = Item(item.pk, item.sk, item.kind, data, index=index, version=(item.version or 1) + 1)
    container.store.transact(
        [Put(Table.RUNTIME, updated, condition, replaces_chunks=item.stored_chunks)]
    )
    log.warning("job %s failed (%d retries left): %s", job_id, retries, message)
    publish(container, [updated])
    return {"_id": job_id, "status": "failed", "exceptionMessage": message, "retries": retries}


def move_to_executable(container: Any, job_id: str, retries: Any = None) -> dict[str, Any]:
    """``job/deadletter/{id}?_action=execute``: back to the runtime with fresh retries, queued
    (``retries`` when given, else the job's ``failedJobRetryTimeCycle`` count, else 3)."""
    if retries is not None and (
        isinstance(retries, bool) or not isinstance(retries, int) or retries < 1
    ):
        raise BadRequest("retries must be an integer >= 1")
    dl_pk, dl_sk = dead_letter_key(job_id)
    dead = container.store.get(Table.DEADLETTER, dl_pk, dl_sk)
    if dead is None:
        raise NotFound(f"Dead-letter job {job_id} not found")
    if retries is None:
        retries = max(1, _initial_retries(dead))
    now = container.clock.now()
    data = {**dead.data, "retries": retries, "dueDate": format_iso(now)}
    pk, sk = job_key(job_id)
    index = {**_listing("job", job_id, data["createTime"]), **due_index(job_id, now)}
    revived = Item(pk, sk, "job", data, index=index, version=1)
    container.store.transact(
        [
            Delete(Table.DEADLETTER, dl_pk, dl_sk, MustExist(), dead.stored_chunks),
            Put(Table.RUNTIME, revived, MustNotExist()),
        ]
    )
    publish(container, [revived])
    return {"_id": job_id, "status": "moved"}


def sweep_lookahead(period_seconds: float | None) -> timedelta:
    """How far ahead a sweep that runs every ``period_seconds`` looks: 1.5 periods (at least
    1 s), so a job due before the next tick is queued now (with ``DelaySeconds``) and no job is
    queued by more than two ticks. None: ``SWEEP_LOOKAHEAD`` (the 60 s schedule's)."""
    if period_seconds is None:
        return SWEEP_LOOKAHEAD
    return max(MIN_SWEEP_LOOKAHEAD, timedelta(seconds=SWEEP_LOOKAHEAD_FACTOR * period_seconds))


def _sweep_sends(ahead: float, period: float) -> bool:
    """Whether a sweep sends a job due ``ahead`` seconds from now (negative: overdue).

    Due within (-period/2, lookahead]: yes, so each job is sent about twice as it comes due
    (ticks may jitter). Overdue beyond that (its wake-up lost, or still queued behind others):
    once every ``max(period, OVERDUE_RESEND_SECONDS)``, i.e. every tick for the minute schedule
    but not every second of a 1 s tick, which would flood the queue with duplicates of a
    backlog (a large signal broadcast, say).
    """
    if ahead > -period / 2:
        return True
    interval = max(period, OVERDUE_RESEND_SECONDS)
    return (-ahead) % interval < period


def sweep(container: Any) -> dict[str, int]:
    """Send a wake-up for jobs due before now + the lookahead (``sweep_lookahead`` of
    ``settings.sweep_period_seconds``: 90 s for the minute schedule, 1.5 s for a 1 s tick);
    overdue ones about once a minute at most (``_sweep_sends``).

    A job due later than now is sent with ``DelaySeconds`` (whole seconds rounded down; the
    worker waits the fraction, so it never runs early). Sending
    a wake-up for a job that is already queued is harmless: the second message finds it gone.
    """
    now = container.clock.now()
    period = getattr(container.settings, "sweep_period_seconds", None)
    if period is None:
        period = DEFAULT_SWEEP_PERIOD_SECONDS
    horizon = format_iso(now + sweep_lookahead(period)) + "\uffff"
    queue = container.settings.jobs_queue
    from ..workers.jobs import encode

    sent = 0
    token = None
    while True:
        page = query_shards(
            container.store,
            Table.RUNTIME,
            Index.DUE_SHARD_DUE_AT,
            "due",
            DUE_SHARDS,
            key_range=KeyRange.at_most(horizon),
            limit=100,
            start=token,
        )
        for item in page.items:
            job_id = item.sk.split("#", 1)[1]
            due_text = item.index["due_at"].split("#", 1)[0]
            if not _sweep_sends(_seconds_until(now, due_text), period):
                continue
            container.publisher.send(
                queue, encode(job_id), delay_seconds=_delay_seconds(now, due_text)
            )
            sent += 1
        token = page.next_token
        if token is None:
            break
    if sent:
        log.info("sweep: %d job wake-up(s) sent", sent)
    return {"sent": sent}


def _seconds_until(now: datetime, due_text: str) -> float:
    return (parse_iso(due_text) - now).total_seconds()


def _delay_seconds(now: datetime, due_text: str) -> int:
    """SQS's whole-second ``DelaySeconds`` for a job due at ``due_text``: rounded DOWN, so the
    wake-up arrives at most a second early and ``run_job`` waits the rest (rounding up would
    make every timer up to a second late)."""
    return max(0, math.floor(_seconds_until(now, due_text)))
