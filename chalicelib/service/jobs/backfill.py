"""The backfill of jobs: part of ``python -m chalicelib.local.backfill``.

* ``backfill_jobs``: runtime jobs written before their definition's ``lookup-sort`` partition
  (``repositories.jobs.definition_index``) are listed in it;
* ``recount_jobs``: the maintained counts of the ``job`` and ``job/deadletter`` listings
  (``repositories.jobs.counted``; jobs written before them were never counted) are recounted
  from the listings. Each listing's counter shards are written in one transaction, each shard
  conditioned on the value it had before the walk: a commit that created or removed a job
  meanwhile changed a shard, the transaction fails and the listing is walked again (up to
  ``_ATTEMPTS`` times). Not proof against everything: changes that leave a shard at the value
  it had (one job created and one removed) pass the condition, and the walk reads the listing
  index, which DynamoDB keeps eventually consistent; so run it while no jobs are written, or
  again to confirm (a second run on settled counts writes the same values).
"""

from __future__ import annotations

from collections import Counter

from ...errors import ConcurrencyError
from ...storage.ports import Item, ItemStore
from ..repositories.counters import COUNTER_SHARDS
from ..repositories.jobs import (
    count_shard,
    counted,
    counter_items,
    job_id_of,
    job_listing,
    lookup_repair,
    read_job,
    recount_writes,
)

__all__ = ["backfill_jobs", "recount_jobs"]

_ATTEMPTS = 3


def backfill_jobs(store: ItemStore, *, dry_run: bool = False, page_size: int = 100) -> int:
    """Walk the ``job`` listing and list each job of a definition that is not yet in its
    definition's partition (one conditional Put each, same version: a runner that read the job
    still commits; a job changed meanwhile is read again, up to ``_ATTEMPTS`` times, and one
    that ran meanwhile is gone). Returns how many jobs were (``dry_run``: would be) rewritten;
    a second run writes none."""
    written = 0
    token = None
    while True:
        page = job_listing(store, limit=page_size, start=token)
        for listed in page.items:
            item: Item | None = listed
            for _ in range(_ATTEMPTS):
                repair = lookup_repair(item) if item is not None else None
                if repair is None:
                    break
                if dry_run:
                    written += 1
                    break
                try:
                    store.transact(counted([repair]))
                except ConcurrencyError:
                    item = read_job(store, job_id_of(listed))
                    continue
                written += 1
                break
        token = page.next_token
        if token is None:
            return written


def _walk(store: ItemStore, *, dead: bool, page_size: int) -> Counter[str]:
    """The jobs of one listing per counter shard (``count_shard``)."""
    totals: Counter[str] = Counter()
    token = None
    while True:
        page = job_listing(store, dead=dead, limit=page_size, start=token)
        totals.update(count_shard(item) for item in page.items)
        token = page.next_token
        if token is None:
            return totals


def recount_jobs(store: ItemStore, *, dry_run: bool = False, page_size: int = 100) -> int:
    """Write the counter shards of the ``job`` and ``job/deadletter`` listings with the number
    of jobs each listing holds (see the module doc); returns the counter items written (dry
    run: that would be; shards already right are written too, with the same value)."""
    written = 0
    for dead in (False, True):
        for attempt in range(1, _ATTEMPTS + 1):
            before = counter_items(store, dead=dead)
            writes = recount_writes(before, _walk(store, dead=dead, page_size=page_size), dead=dead)
            if dry_run:
                break
            try:
                store.transact(writes)
            except ConcurrencyError:  # a job was counted meanwhile: walk again
                if attempt == _ATTEMPTS:
                    raise
                continue
            break
        written += COUNTER_SHARDS
    return written
