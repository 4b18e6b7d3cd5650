"""Commands larger than one transaction: a commit intent plus its recovery job.

A command that changes more than DynamoDB's 100 items per transaction (a 500-way parallel
multi-instance, the history of a long automatic run) commits through ``storage.intent``: one
transaction holds every conditioned write, the ``#intent`` item with the rest, and an
``apply-intent`` job; the committer then applies the intent at once. The job is the safety
net: if the committer dies between the two phases, a worker (woken by the sweep, the job is
due at once) finishes the apply. The next command on the instance would roll it forward
anyway (``AggregateStore.load``); the job covers what only indexes show (task listings, due
jobs), which must not wait for someone to touch the instance.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from ... import ids
from ...errors import ConcurrencyError
from ...storage import intent as intents
from ...storage.ports import Delete, Item, MustNotExist, Put, Table, Write
from ..container import Services
from ..repositories.jobs import (
    counted,
    delete_write,
    is_job_write,
    job_count_writes,
    job_done_write,
)
from .items import new_job
from .wakeup import publish

__all__ = ["HANDLER", "Decision", "decide", "apply_now", "run"]

log = logging.getLogger("workflow.service.commit_intents")

HANDLER = "apply-intent"
#: cancelled job deletes per transaction after a commit intent (their counts: a few more)
_CANCEL_BATCH = 80


@dataclass(frozen=True)
class Decision:
    """The decide transaction's ``writes``, and what to apply after it."""

    writes: list[Write]
    intent: Item
    job: Item
    #: the deletes of jobs the command cancelled, left for after the commit
    cancelled: list[Delete]


def decide(
    container: Services,
    pk: str,
    version: int,
    writes: Sequence[Write],
    *,
    keep_job: tuple[str, str] | None = None,
) -> Decision:
    """The decide transaction of a commit of aggregate ``pk`` at its new ``version`` whose
    ``writes`` do not fit one transaction (their job counts not added yet: ``decide`` adds
    them with the recovery job's, which its cleanup removes with its count, conditioned on
    the job as written: a recovery job deleted or retried meanwhile was counted by that).

    Job deletes other than ``keep_job``'s (the key of the job the command runs) are left out
    (``Decision.cancelled``): each is conditioned on the job's version, which a deferred write
    cannot keep, and hundreds of them (a fan-out's boundary timers) would not fit the decide
    transaction. The command's instance no longer waits for those jobs: if the committer dies
    before ``delete_cancelled``, each is stale when it runs and its runner deletes it."""
    cancelled = [
        write
        for write in writes
        if isinstance(write, Delete) and is_job_write(write) and (write.pk, write.sk) != keep_job
    ]
    writes = [write for write in writes if not any(write is other for other in cancelled)]
    job = new_job(
        job_id=ids.child_id(pk),
        handler_type=HANDLER,
        created=container.clock.now(),
        instance_id=pk,
        configuration={"intentVersion": version},
    )
    put = Put(Table.RUNTIME, job, MustNotExist())
    first, intent = intents.split(
        pk,
        version,
        [*writes, *job_count_writes([*writes, put])],
        keep=[put],
        cleanup=counted([delete_write(job)]),
    )
    return Decision(first, intent, job, cancelled)


def apply_now(container: Services, decision: Decision) -> None:
    """Apply right after the decide transaction; on failure wake the job (it is due now)."""
    try:
        intents.apply(container.store, decision.intent)
    except Exception:
        log.warning(
            "commit intent of %s not applied now; its job will", decision.intent.pk, exc_info=True
        )
        publish(container, [decision.job])


def delete_cancelled(container: Services, deletes: Sequence[Delete]) -> None:
    """Delete the jobs a commit through an intent cancelled, with their counts: in
    transactions of up to ``_CANCEL_BATCH``; a batch that loses a race (a job run, retried or
    deleted meanwhile) is done one job at a time, and a job that loses its own is left (its
    new version is stale: it is deleted when it runs)."""
    store = container.store
    for first in range(0, len(deletes), _CANCEL_BATCH):
        batch = list(deletes[first : first + _CANCEL_BATCH])
        try:
            store.transact(counted(batch))
            continue
        except ConcurrencyError:
            pass
        for delete in batch:
            try:
                store.transact(counted([delete]))
            except ConcurrencyError:
                log.info("cancelled job %s changed meanwhile: left to its runner", delete.sk)


def run(container: Services, job: Item) -> str:
    """The ``apply-intent`` runner: finish the intent, or drop the job when it is done."""
    store = container.store
    current = store.get(Table.RUNTIME, job.pk, intents.INTENT_SK)
    wanted = job.data["jobHandlerConfiguration"].get("intentVersion")
    if current is None or intents.intent_version(current) != wanted:
        store.transact(counted([job_done_write(job)]))
        return "already applied"
    applied = intents.apply(store, current)
    return "applied" if applied else "already applied"
