"""What the tables share: the shard counts of their sharded listings (DESIGN.md §3).

A listing of one kind (running instances, open tasks, jobs, dead-letter jobs, historic
instances and tasks) is spread over ``LIST_SHARDS`` partitions of the ``kindShard-sort`` index
(``<prefix>#<n>``, ``storage.sharding``) so that no partition is hot; the due-date index of jobs
over ``DUE_SHARDS``. A reader queries every shard and merges (``storage.sharding.query_shards``).
"""

from __future__ import annotations

__all__ = ["LIST_SHARDS", "DUE_SHARDS"]

#: shards of every ``kindShard-sort`` listing
LIST_SHARDS = 8
#: shards of the jobs' due-date index: enough to spread a burst of timers over partitions
DUE_SHARDS = 8
