"""What the tables share: the shard counts of their sharded listings (DESIGN.md §3).

A listing of one kind (running instances, open tasks, jobs, dead-letter jobs, historic
instances and tasks) is spread over ``LIST_SHARDS`` partitions of the ``kindShard-sort`` index
(``<prefix>#<n>``, ``storage.sharding``) so that no partition is hot; the due-date index of jobs
over ``DUE_SHARDS``. A reader queries every shard and merges (``storage.sharding.query_shards``).
"""

from __future__ import annotations

from ...storage.ports import Index, ItemStore, KeyRange, Page, Table
from ...storage.sharding import query_shards

__all__ = ["LIST_SHARDS", "DUE_SHARDS", "listing"]

#: shards of every ``kindShard-sort`` listing
LIST_SHARDS = 8
#: the least a filtered read of a listing asks for (``QuerySource.batch``): its 8 shard
#: Queries read about ``LIST_SHARDS * (batch / LIST_SHARDS + SHARE_MARGIN)`` items (128), so a
#: filter that one listed item in 8 matches fills a page of 10 with one read (8 requests), where
#: growing reads from a page's 11 took three (24)
FILTERED_BATCH = 80
#: shards of the jobs' due-date index: enough to spread a burst of timers over partitions
DUE_SHARDS = 8


def listing(
    store: ItemStore,
    table: Table,
    prefix: str,
    *,
    key_range: KeyRange | None = None,
    limit: int = 100,
    start: str | None = None,
    descending: bool = False,
) -> Page:
    """One page of the sharded ``kindShard-sort`` listing ``prefix`` of ``table``, merged in
    sort-key order (one index query per unfinished shard)."""
    return query_shards(
        store,
        table,
        Index.KIND_SHARD_SORT,
        prefix,
        LIST_SHARDS,
        key_range=key_range,
        limit=limit,
        start=start,
        descending=descending,
    )
