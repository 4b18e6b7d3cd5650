"""The engine's jobs: its ``JobRequested``/``JobCancelled`` effects become job items, and the
runners that fire timers and run async continuations.

* ``effect_writes(container, result)``: the job items to put (and the cancelled ones to
  delete) in the same transaction as the command that asked for them (``UnitOfWork.commit``
  calls it); ``publish`` wakes the workers after that commit.
* a job's retries and retry wait come from its element's ``failedJobRetryTimeCycle`` when it
  has one (``jobs.new_job(retry_cycle=...)``), else Flowable's 3 x 10 s;
* ``run_engine_job(container, item)``: the runner of ``trigger-timer``, ``async-continuation``
  and ``async-after`` jobs: load the instance, run ``FireTimer`` or ``RunAsyncJob``, commit the
  result together with the deletion of the job. A job whose target is gone (its timer was
  cancelled, its instance deleted) is stale: it is deleted and counts as done.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..clock import parse_iso
from ..engine.runtime.commands import FireTimer, RunAsyncJob
from ..engine.runtime.effects import JobCancelled, JobRequested
from ..engine.runtime.errors import UnknownTarget
from ..errors import NotFound
from ..storage.ports import Delete, Item, MustNotExist, Put, Table, Write
from . import jobs

if TYPE_CHECKING:
    from ..engine.runtime.session import CommandResult

__all__ = ["effect_writes", "run_engine_job", "ENGINE_HANDLERS"]

log = logging.getLogger("workflow.service.engine_jobs")

#: the job handler types the engine asks for (``JobRequested.payload["handler"]``)
ENGINE_HANDLERS = ("trigger-timer", "async-continuation", "async-after")


def _job_item(container: Any, effect: JobRequested, result: CommandResult) -> Item:
    state = result.instances.get(effect.instance_id)
    definition_id = state.header.definition_id if state is not None else None
    handler = effect.payload.get("handler") or effect.kind
    now = container.clock.now()
    due = parse_iso(effect.due) if effect.due else now
    return jobs.new_job(
        job_id=effect.job_id,
        handler_type=handler,
        created=now,
        due=due,
        instance_id=effect.instance_id,
        execution_id=effect.execution_id,
        definition_id=definition_id,
        element_id=effect.activity_id,
        configuration={**effect.payload, "kind": effect.kind},
        exclusive=bool(effect.payload.get("exclusive", True)),
        timer=effect.kind == "timer",
        retry_cycle=_retry_cycle(container, definition_id, effect.activity_id),
    )


def _retry_cycle(container: Any, definition_id: str | None, activity_id: str | None) -> str | None:
    """The ``failedJobRetryTimeCycle`` of the job's element (async activity, timer event)."""
    if definition_id is None or activity_id is None:
        return None
    from . import definitions

    try:
        process = definitions.get_definition(container, definition_id).process
    except NotFound:
        return None
    element = process.elements.get(activity_id)
    return getattr(element, "failed_job_retry_time_cycle", None)


def effect_writes(
    container: Any, result: CommandResult, *, running_job: str | None = None
) -> tuple[list[Write], list[Item]]:
    """``(writes, new job items)`` for the jobs a command requested or cancelled.

    A job requested and cancelled by the same command is never written. ``running_job`` (the
    job being run, which its runner deletes itself) is never deleted twice.
    """
    requested: dict[str, JobRequested] = {}
    cancelled: set[str] = set()
    for effect in result.effects:
        if isinstance(effect, JobRequested) and effect.job_id:
            requested[effect.job_id] = effect
        elif isinstance(effect, JobCancelled):
            if requested.pop(effect.job_id, None) is None:
                cancelled.add(effect.job_id)
    items = [_job_item(container, effect, result) for effect in requested.values()]
    writes: list[Write] = [Put(Table.RUNTIME, item, MustNotExist()) for item in items]
    for job_id in sorted(cancelled - {running_job}):
        writes.append(Delete(Table.RUNTIME, *jobs.job_key(job_id)))
    return writes, items


def _command(item: Item) -> Any:
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


def run_engine_job(container: Any, item: Item) -> str:
    """Run one engine job and delete it in the same transaction (see the module doc)."""
    from .instances import UnitOfWork

    job_id = item.data["_id"]

    def attempt(current: Item) -> str:
        uow = UnitOfWork(container)
        try:
            uow.load(current.data["processInstanceId"])
            result = uow.session.execute(_command(current))
        except (UnknownTarget, NotFound) as exc:
            container.store.transact([jobs.job_done_write(current)])
            log.info("job %s is stale (%s): deleted", job_id, exc)
            return "stale: deleted"
        uow.commit(result, running_job=current)
        return "executed"

    return jobs.run_attempts(container, item, attempt)


for _handler in ENGINE_HANDLERS:
    jobs.RUNNERS.setdefault(_handler, run_engine_job)
