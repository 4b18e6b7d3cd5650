"""The use cases: load an aggregate, run the engine, commit, wake the workers (DESIGN.md §1).

Packages by use case, with one direction of imports (no cycle, checked by a test):

* ``unit_of_work``: load, run one engine command, commit (``run_command``); every command on
  a process instance goes through it;
* ``repositories/``: the storage key layout (keys, indexes, shards) of every table;
* ``definitions/``: deploy, the per-container definition cache, BPMN models, the start-event
  registry, ``processdefinition`` reads and queries;
* ``instances/``: start, read, delete, migrate process instances; their queries;
* ``tasks/``: task commands, queries and shapes;
* ``events/``: ``execution?_action=message|signal|trigger``, broadcasts, queued deliveries,
  timer starts, the ``execution`` query;
* ``jobs/``: job items, THE runner table, retries, the sweep, commit intents, job queries;
* ``idempotency``, ``querying``: the ``Idempotency-Key`` records and the CREST query runner
  that several use cases share.
"""
