"""The runners of action tasks' jobs: HTTP task, mail task, external worker task.

The engine parks an action task on a job (``engine/runtime/behaviours/action_tasks.py``); the
job's runner here does the I/O after the command that reached the task has committed (a slow
or failing endpoint never holds a request or a transaction), then commits the outcome with the
job's deletion (``finish.finish_job``). A runner that raises fails the job: it is retried
(``failedJobRetryTimeCycle``, else 3 x 10 s) and finally dead-lettered, like any job.
"""
