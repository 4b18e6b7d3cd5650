"""The storage key layout: one module per table (or per part of one), each with its table.

* ``layout``: what the tables share (shard counts, the sharded ``kindShard-sort`` listing);
* ``definitions``: the repository table (models, deployments, definitions, resources);
* ``instances``: the runtime table's instance item collections (header, executions, ...);
* ``jobs``: job items of the runtime table and the dead-letter table;
* ``idempotency``: the ``Idempotency-Key`` records of the runtime table;
* ``history``: the history table (historic instances, tasks, variables, activity segments).

Use cases never build a key by hand: they call these modules.
"""
