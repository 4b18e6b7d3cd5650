"""The runner of the engine's jobs: ``trigger-timer``, ``async-continuation`` and
``async-after``.

``run_engine_job(container, item)``: load the instance, run ``FireTimer`` or ``RunAsyncJob``,
commit the result together with the deletion of the job. A job whose target is gone (its timer
was cancelled, its instance deleted) is stale: it is deleted and counts as done.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ...engine.runtime.commands import Command, FireTimer, RunAsyncJob
from ...engine.runtime.errors import UnknownTarget
from ...errors import NotFound
from ...storage.ports import Item
from ..container import Services
from ..repositories.jobs import counted, job_done_write
from ..unit_of_work import UnitOfWork
from .retry import run_attempts

log = logging.getLogger("workflow.service.engine_jobs")

__all__ = ["run_engine_job", "run_job_command"]


def _command(item: Item) -> Command:
    data = item.data
    kind = data["jobHandlerConfiguration"].get("kind")
    if kind == "timer":
        return FireTimer(data["_id"], data["processInstanceId"])
    return RunAsyncJob(
        data["_id"],
        data["processInstanceId"],
        data["executionId"],
        data.get("elementId"),
        kind or "async-continuation",
    )


def run_engine_job(container: Services, item: Item) -> str:
    """Run one engine job and delete it in the same transaction (see the module doc)."""
    return run_job_command(container, item, _command)


def run_job_command(
    container: Services, item: Item, command: Callable[[Item], Command], done: str = "executed"
) -> str:
    """Run ``command(job)`` on the job's instance and delete the job in the same transaction
    (answers ``done``); a target that is gone makes the job stale: it is deleted, nothing else
    changes. A lost race is retried with the job read again (``retry.run_attempts``)."""

    def attempt(current: Item) -> str:
        uow = UnitOfWork(container)
        try:
            uow.load(current.data["processInstanceId"])
            result = uow.session.execute(command(current))
        except (UnknownTarget, NotFound) as exc:
            container.store.transact(counted([job_done_write(current)]))
            log.info("job %s is stale (%s): deleted", current.data["_id"], exc)
            return "stale: deleted"
        uow.commit(result, running_job=current)
        return done

    return run_attempts(container, item, attempt)
