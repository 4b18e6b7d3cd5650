"""Jobs: running the job a queue message names, and sweeping the due-date index.

The job item in DynamoDB is the truth; an SQS message only wakes a worker (DESIGN.md §4).

Layout: a job of process instance ``I`` lives in the runtime table at ``pk = I``,
``sk = "job#<job id>"`` (its id is ``ids.child_id(I)``, so the id alone locates it). A job with a
due date (a timer, a retry) carries the sparse index attributes ``due_shard = "due#<n>"`` and
``due_at = "<ISO due time>#<job id>"``, which put it in the ``dueShard-dueAt`` index the sweep
reads. Job types register their runner in ``RUNNERS``; the engine issues add them.
"""
from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta
from typing import Any, Callable

from .. import ids
from ..clock import format_iso
from ..storage.ports import Index, Item, KeyRange, Table
from ..storage.sharding import query_shards

__all__ = ["RUNNERS", "UnknownJobType", "job_key", "due_index", "run_job", "sweep",
           "DUE_SHARDS", "SWEEP_LOOKAHEAD", "MAX_DELAY_SECONDS"]

log = logging.getLogger("workflow.service.jobs")

#: shards of the due-date index: enough to spread a burst of timers over partitions
DUE_SHARDS = 8
#: the sweep runs every minute on AWS; it looks a little further ahead so no timer waits for it
SWEEP_LOOKAHEAD = timedelta(seconds=90)
#: SQS's largest DelaySeconds
MAX_DELAY_SECONDS = 900

#: job type -> runner(container, job item) -> outcome for the log
RUNNERS: dict[str, Callable[[Any, Item], str]] = {}


class UnknownJobType(RuntimeError):
    """A job whose type no runner serves: left in place, its message fails and is retried."""


def job_key(job_id: str) -> tuple[str, str]:
    """The (pk, sk) of a job item, from its id alone."""
    return ids.instance_of(job_id) or job_id, f"job#{job_id}"


def due_index(job_id: str, due: datetime) -> dict[str, str]:
    """The index attributes that put a job in the due-date index."""
    from ..storage.ports import shard_for

    return {"due_shard": f"due#{shard_for(job_id, DUE_SHARDS)}",
            "due_at": f"{format_iso(due)}#{job_id}"}


def run_job(container: Any, job_id: str) -> str:
    """Run the job ``job_id`` if it still exists; a missing job is a duplicate message: no-op."""
    pk, sk = job_key(job_id)
    item = container.store.get(Table.RUNTIME, pk, sk)
    if item is None:
        return "absent (already run or cancelled): acknowledged"
    job_type = item.data.get("type")
    runner = RUNNERS.get(job_type)
    if runner is None:
        raise UnknownJobType(f"job {job_id} has type {job_type!r}, which no runner serves")
    return runner(container, item)


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
            delay = _delay_seconds(now, due_text)
            container.publisher.send(queue, encode(job_id), delay_seconds=delay)
            sent += 1
        token = page.next_token
        if token is None:
            break
    if sent:
        log.info("sweep: %d job wake-up(s) sent", sent)
    return {"sent": sent}


def _delay_seconds(now: datetime, due_text: str) -> int:
    from ..clock import parse_iso

    seconds = (parse_iso(due_text) - now).total_seconds()
    return max(0, min(MAX_DELAY_SECONDS, math.ceil(seconds)))
