"""The backfill of runtime jobs written before their definition's ``lookup-sort`` partition
(``repositories.jobs.definition_index``): part of ``python -m chalicelib.local.backfill``."""

from __future__ import annotations

from ...errors import ConcurrencyError
from ...storage.ports import Item, ItemStore
from ..repositories.jobs import job_id_of, job_listing, lookup_repair, read_job

__all__ = ["backfill_jobs"]

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
                    store.transact([repair])
                except ConcurrencyError:
                    item = read_job(store, job_id_of(listed))
                    continue
                written += 1
                break
        token = page.next_token
        if token is None:
            return written
