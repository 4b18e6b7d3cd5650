"""A history outbox: how a command with more history than fits one transaction still commits
atomically.

DynamoDB takes at most 100 writes per transaction. A long automatic run (a sequential
multi-instance of 200 script tasks, say) changes few runtime items but records hundreds of
historic activities. When the history would not fit, ``UnitOfWork.commit`` puts ONE outbox item
(every history item of the command, compressed, chunked by the storage layer when large) and
an ``expand-history`` job in the command's transaction instead. Right after the commit the
outbox is expanded into the history table (``BatchWriteItem``: idempotent puts) and deleted
together with its job; if that is interrupted, the job does it later (the sweep finds it, it is
due at once). History readers may see a long command's history a moment late, never lose it.
"""
from __future__ import annotations

import logging
from typing import Any

from .. import ids
from ..errors import ConcurrencyError
from ..storage.ports import Delete, Item, MustNotExist, Put, Table, Write
from . import jobs

__all__ = ["pack", "expand", "HANDLER"]

log = logging.getLogger("workflow.service.history_outbox")

HANDLER = "expand-history"


def pack(container: Any, instance_id: str, history: list[Put]) -> tuple[list[Write], Item]:
    """The two writes that stand for ``history`` in a transaction, and the outbox job."""
    outbox_id = ids.child_id(instance_id)
    records = [{"pk": put.item.pk, "sk": put.item.sk, "kind": put.item.kind,
                "data": put.item.data, "index": put.item.index, "ttl": put.item.ttl}
               for put in history]
    outbox = Item(pk=instance_id, sk=f"outbox#{outbox_id}", kind="history-outbox",
                  data={"records": records})
    job = jobs.new_job(job_id=outbox_id, handler_type=HANDLER, created=container.clock.now(),
                       instance_id=instance_id, configuration={"outbox": outbox.sk})
    return [Put(Table.RUNTIME, outbox, MustNotExist()), Put(Table.RUNTIME, job, MustNotExist())], job


def expand(container: Any, job: Item) -> str:
    """Write the outbox's history items, then delete the outbox and its job (idempotent)."""
    store = container.store
    outbox = store.get(Table.RUNTIME, job.pk, job.data["jobHandlerConfiguration"]["outbox"])
    if outbox is not None:
        store.batch_put(Table.HISTORY, [Item(**record) for record in outbox.data["records"]])
    writes: list[Write] = [jobs.job_done_write(job)]
    if outbox is not None:
        writes.insert(0, Delete(Table.RUNTIME, outbox.pk, outbox.sk,
                                chunks=outbox.stored_chunks))
    try:
        store.transact(writes)
    except ConcurrencyError:  # someone else finished the same outbox
        return "already expanded"
    return f"expanded {len(outbox.data['records']) if outbox else 0} history item(s)"


def expand_now(container: Any, job: Item) -> None:
    """Expand right after the commit; a failure is left to the job (it is due at once)."""
    try:
        expand(container, job)
    except Exception:
        log.warning("history outbox %s not expanded now; its job will", job.data["_id"],
                    exc_info=True)


jobs.RUNNERS.setdefault(HANDLER, expand)
