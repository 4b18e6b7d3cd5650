"""Commit an action job's outcome: ``FinishAction`` on its instance and the job's deletion, in
one transaction.

The I/O has happened once before this is called; only the commit is retried when it loses a
race with another commit to the instance (``retry.run_attempts``). A task that moved on
meanwhile (cancelled by a boundary event, its instance deleted, the outcome applied already)
makes the outcome stale: the job is deleted and nothing else changes.
"""

from __future__ import annotations

import logging

from ...engine.runtime.commands import FinishAction
from ...engine.runtime.errors import UnknownTarget
from ...errors import NotFound
from ...storage.ports import Item
from ..container import Services
from ..jobs.retry import run_attempts
from ..repositories.jobs import job_done_write
from ..unit_of_work import UnitOfWork
from .outcome import ActionOutcome

log = logging.getLogger("workflow.service.actions")

__all__ = ["finish_job", "finish_command"]


def finish_command(job: Item, outcome: ActionOutcome) -> FinishAction:
    """The engine command that applies ``outcome`` to the task ``job`` waits for."""
    data = job.data
    return FinishAction(
        data["_id"],
        data["processInstanceId"],
        data["executionId"],
        outcome.variables,
        outcome.error_code,
    )


def finish_job(container: Services, job: Item, outcome: ActionOutcome) -> str:
    """Apply ``outcome`` and delete ``job`` in one transaction (see the module doc)."""

    def attempt(current: Item) -> str:
        uow = UnitOfWork(container)
        try:
            uow.load(current.data["processInstanceId"])
            result = uow.session.execute(finish_command(current, outcome))
        except (UnknownTarget, NotFound) as exc:
            container.store.transact([job_done_write(current)])
            log.info("action job %s is stale (%s): deleted", current.data["_id"], exc)
            return "stale: deleted"
        uow.commit(result, running_job=current)
        return "completed" if outcome.error_code is None else f"error {outcome.error_code}"

    return run_attempts(container, job, attempt)
