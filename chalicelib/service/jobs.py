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
"""
from __future__ import annotations

import logging
import math
import traceback
from datetime import datetime, timedelta
from typing import Any, Callable

from .. import ids
from ..clock import format_iso, parse_iso
from ..errors import BadRequest, NotFound
from ..storage.ports import (
    Delete, Index, Item, KeyRange, MustExist, MustNotExist, Put, Table, VersionIs,
)
from ..storage.sharding import query_shards, shard_for, shard_key

__all__ = [
    "RUNNERS", "UnknownJobType", "job_key", "job_done_write", "due_index", "new_job", "run_job",
    "execute", "sweep", "move_to_executable", "dead_letter_key", "DUE_SHARDS", "LIST_SHARDS",
    "SWEEP_LOOKAHEAD", "MAX_DELAY_SECONDS", "DEFAULT_RETRIES", "RETRY_WAIT", "job_shape",
    "publish",
]

log = logging.getLogger("workflow.service.jobs")

#: shards of the due-date index: enough to spread a burst of timers over partitions
DUE_SHARDS = 8
#: shards of the ``job`` and ``job/deadletter`` listings
LIST_SHARDS = 8
#: the sweep runs every minute on AWS; it looks a little further ahead so no timer waits for it
SWEEP_LOOKAHEAD = timedelta(seconds=90)
#: SQS's largest DelaySeconds
MAX_DELAY_SECONDS = 900
#: Flowable's defaults: 3 tries, 10 s apart
DEFAULT_RETRIES = 3
RETRY_WAIT = timedelta(seconds=10)
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


def due_index(job_id: str, due: datetime) -> dict[str, str]:
    """The index attributes that put a job in the due-date index."""
    return {"due_shard": f"due#{shard_for(job_id, DUE_SHARDS)}",
            "due_at": f"{format_iso(due)}#{job_id}"}


def _listing(prefix: str, job_id: str, created: str) -> dict[str, str]:
    return {"kind_shard": shard_key(prefix, shard_for(job_id, LIST_SHARDS)),
            "sort": f"{created}#{job_id}"}


def new_job(*, job_id: str, handler_type: str, created: datetime, due: datetime | None = None,
            instance_id: str | None = None, execution_id: str | None = None,
            definition_id: str | None = None, element_id: str | None = None,
            element_name: str | None = None, configuration: dict | None = None,
            exclusive: bool = True, retries: int = DEFAULT_RETRIES,
            timer: bool = False) -> Item:
    """A new job item (write it in the same transaction as the change that creates it)."""
    due = due or created
    data = {
        "_id": job_id, "jobType": "timer" if timer else "message",
        "jobHandlerType": handler_type, "jobHandlerConfiguration": configuration or {},
        "processInstanceId": instance_id, "executionId": execution_id,
        "processDefinitionId": definition_id, "elementId": element_id,
        "elementName": element_name, "dueDate": format_iso(due),
        "createTime": format_iso(created), "retries": retries, "exceptionMessage": None,
        "exclusive": exclusive, "tenantId": "", "stacktrace": None,
    }
    index = {**_listing("job", job_id, data["createTime"]), **due_index(job_id, due)}
    pk, sk = job_key(job_id)
    return Item(pk, sk, "job", data, index=index, version=1)


def job_shape(item: Item) -> dict[str, Any]:
    """The job as ``GET job`` shows it (no stack trace: that is the ``stacktrace`` action)."""
    return {k: v for k, v in item.data.items() if k != "stacktrace"}


def job_done_write(item: Item) -> Delete:
    """The write that removes a job once its work commits (conditioned on its version)."""
    return Delete(Table.RUNTIME, item.pk, item.sk, VersionIs(item.version or 1),
                  item.stored_chunks)


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
                container.publisher.send(container.settings.jobs_queue,
                                         encode(item.data["_id"]), delay_seconds=delay)
            except Exception:  # the sweep will find it
                log.warning("wake-up for job %s not sent; the sweep will", item.data["_id"],
                            exc_info=True)


def run_job(container: Any, job_id: str) -> str:
    """The queue worker's entry: run the job if it exists and is due; a missing job is a
    duplicate or late message (acknowledged, no effect); a job not yet due is sent again with
    the remaining delay (never run early)."""
    pk, sk = job_key(job_id)
    item = container.store.get(Table.RUNTIME, pk, sk)
    if item is None:
        return "absent (already run or cancelled): acknowledged"
    delay = _delay_seconds(container.clock.now(), item.data["dueDate"])
    if delay > 0:
        publish(container, [item])
        return f"not due for {delay} s: delayed again"
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
    from . import engine_jobs, history_outbox  # noqa: F401  (register their runners)
    from . import execution_jobs  # noqa: F401  (registers the execution actions' runners)
    from . import start_events  # noqa: F401  (registers the timer-start runner on first use)

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
        dead = Item(dl_pk, dl_sk, "deadletter", data,
                    index=_listing("dlq", job_id, data["createTime"]), version=1)
        container.store.transact([
            Delete(Table.RUNTIME, item.pk, item.sk, condition, item.stored_chunks),
            Put(Table.DEADLETTER, dead, MustNotExist())])
        log.warning("job %s moved to the dead-letter table: %s", job_id, message)
        return {"_id": job_id, "status": "deadletter", "exceptionMessage": message,
                "retries": 0}
    due = now + RETRY_WAIT
    data["dueDate"] = format_iso(due)
    index = {**item.index, **due_index(job_id, due)}
    updated = Item(item.pk, item.sk, item.kind, data, index=index,
                   version=(item.version or 1) + 1)
    container.store.transact([Put(Table.RUNTIME, updated, condition,
                                  replaces_chunks=item.stored_chunks)])
    log.warning("job %s failed (%d retries left): %s", job_id, retries, message)
    publish(container, [updated])
    return {"_id": job_id, "status": "failed", "exceptionMessage": message, "retries": retries}


def move_to_executable(container: Any, job_id: str, retries: Any = None) -> dict[str, Any]:
    """``job/deadletter/{id}?_action=execute``: back to the runtime with fresh retries, queued."""
    if retries is None:
        retries = DEFAULT_RETRIES
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 1:
        raise BadRequest("retries must be an integer >= 1")
    dl_pk, dl_sk = dead_letter_key(job_id)
    dead = container.store.get(Table.DEADLETTER, dl_pk, dl_sk)
    if dead is None:
        raise NotFound(f"Dead-letter job {job_id} not found")
    now = container.clock.now()
    data = {**dead.data, "retries": retries, "dueDate": format_iso(now)}
    pk, sk = job_key(job_id)
    index = {**_listing("job", job_id, data["createTime"]), **due_index(job_id, now)}
    revived = Item(pk, sk, "job", data, index=index, version=1)
    container.store.transact([
        Delete(Table.DEADLETTER, dl_pk, dl_sk, MustExist(), dead.stored_chunks),
        Put(Table.RUNTIME, revived, MustNotExist())])
    publish(container, [revived])
    return {"_id": job_id, "status": "moved"}


def sweep(container: Any) -> dict[str, int]:
    """Send a wake-up for every job due before now + ``SWEEP_LOOKAHEAD``.

    A job due later than now is sent with ``DelaySeconds`` (rounded up: never early). Sending
    a wake-up for a job that is already queued is harmless: the second message finds it gone.
    """
    now = container.clock.now()
    horizon = format_iso(now + SWEEP_LOOKAHEAD) + "\uffff"
    queue = container.settings.jobs_queue
    from ..workers.jobs import encode

    sent = 0
    token = None
    while True:
        page = query_shards(container.store, Table.RUNTIME, Index.DUE_SHARD_DUE_AT, "due",
                            DUE_SHARDS, key_range=KeyRange.at_most(horizon), limit=100,
                            start=token)
        for item in page.items:
            job_id = item.sk.split("#", 1)[1]
            due_text = item.index["due_at"].split("#", 1)[0]
            container.publisher.send(queue, encode(job_id),
                                     delay_seconds=_delay_seconds(now, due_text))
            sent += 1
        token = page.next_token
        if token is None:
            break
    if sent:
        log.info("sweep: %d job wake-up(s) sent", sent)
    return {"sent": sent}


def _delay_seconds(now: datetime, due_text: str) -> int:
    seconds = (parse_iso(due_text) - now).total_seconds()
    return max(0, math.ceil(seconds))
