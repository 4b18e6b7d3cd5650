"""Jobs: the job item is the truth, an SQS message only wakes a worker (DESIGN.md §4).

* ``items``: a new job item and its API shape (the key layout is ``repositories.jobs``);
* ``wakeup``: after a commit, wake the workers (SQS ``DelaySeconds`` up to 900 s);
* ``retry``: retries of a failing job (``failedJobRetryTimeCycle``), lost races of a runner;
* ``runners``: THE table ``jobHandlerType -> runner``;
* ``actions``: run a job (the queue worker), ``job?_action=execute``, move a dead-letter back;
* ``sweep``: the scheduled sweep of due jobs;
* ``engine_effects``, ``engine_runner``: the engine's timers and async continuations;
* ``intents``: commits larger than one transaction (a commit intent plus its recovery job);
* ``queries``: ``GET job`` and ``job/deadletter``.
"""
