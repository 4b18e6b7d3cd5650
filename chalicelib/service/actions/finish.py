"""Commit an action job's outcome: ``FinishAction`` on its instance and the job's deletion, in
one transaction.

The I/O has happened once before this is called; only the commit is retried when it loses a
race with another commit to the instance (``jobs.engine_runner.run_job_command``, as for the
engine's own jobs). A task that moved on meanwhile (cancelled by a boundary event, its instance
deleted, the outcome applied already) makes the outcome stale: the job is deleted and nothing
else changes.
"""

from __future__ import annotations

from ...engine.runtime.commands import FinishAction
from ...storage.ports import Item
from ..container import Services
from ..jobs.engine_runner import run_job_command
from .outcome import ActionOutcome

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
    done = "completed" if outcome.error_code is None else f"error {outcome.error_code}"
    return run_job_command(container, job, lambda current: finish_command(current, outcome), done)
