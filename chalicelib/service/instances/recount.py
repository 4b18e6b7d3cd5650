"""Recount the maintained counts of the runtime table (data written before counters).

Counters (``repositories/counters.py``) are kept by the commits that change what they count.
Instances written before them were never counted, so ``recount`` walks the running listing,
reads each instance's item collection (one Query each) and writes every counter of every
partition it met with the exact total (BatchWriteItem). It runs as the last step of the
backfill command (``python -m chalicelib.local.backfill``). Counts are exact when no command
commits during the walk; one that does is counted or not depending on when the walk met its
instance, so run the command again (or while the service is idle) to settle them. A counter of
a partition that no running instance is in any more is not met by the walk and keeps its value:
only counts kept by commits can reach such a state, and commits keep them right.
"""

from __future__ import annotations

from collections.abc import Iterator

from ...storage.ports import Item, ItemStore, Table
from ..repositories import counters
from ..repositories.instance_reads import instance_records, running_listing

__all__ = ["recount"]

#: running headers read per listing page
PAGE_SIZE = 100


def _collections(store: ItemStore, page_size: int) -> Iterator[tuple[str, list[Item]]]:
    token: str | None = None
    while True:
        page = running_listing(store, limit=page_size, start=token)
        for header in page.items:
            yield header.pk, instance_records(store, header.pk)
        token = page.next_token
        if token is None:
            return


def recount(store: ItemStore, *, page_size: int = PAGE_SIZE, dry_run: bool = False) -> int:
    """Rewrite the runtime counters from the stored instances; returns the counter items
    written (dry run: that would be)."""
    items = counters.recounted(_collections(store, page_size), Table.RUNTIME)
    if items and not dry_run:
        store.batch_put(Table.RUNTIME, items)
    return len(items)
