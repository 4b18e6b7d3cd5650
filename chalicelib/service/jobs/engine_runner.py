"""The runner of the engine's jobs: ``trigger-timer``, ``async-continuation`` and
``async-after``.

``run_engine_job(container, item)``: load the instance, run ``FireTimer`` or ``RunAsyncJob``,
commit the result together with the deletion of the job. A job whose target is gone (its timer
was cancelled, its instance deleted) is stale: it is deleted and counts as done.
"""

from __future__ import annotations

import logging

from ...engine.runtime.commands import Command, FireTimer, RunAsyncJob
from ...engine.runtime.errors import UnknownTarget
from ...errors import NotFound
from ...storage.ports import Item
from ..container import Services
from ..repositories.jobs import job_done_write
from ..unit_of_work import UnitOfWork
from .retry import run_attempts

log = logging.getLogger("workflow.service.engine_jobs")

__all__ = ["run_engine_job"]


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
    job_id = item.data["_id"]

    def attempt(current: Item) -> str:
        uow = UnitOfWork(container)
        try:
            uow.load(current.data["processInstanceId"])
            result = uow.session.execute(_command(current))
        except (UnknownTarget, NotFound) as exc:
            container.store.transact([job_done_write(current)])
            log.info("job %s is stale (%s): deleted", job_id, exc)
            return "stale: deleted"
        uow.commit(result, running_job=current)
        return "executed"

    return run_attempts(container, item, attempt)
