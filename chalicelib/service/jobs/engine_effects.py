"""The engine's ``JobRequested``/``JobCancelled`` effects become job items.

``effect_writes(container, result)``: the job items to put (and the cancelled ones to delete)
in the same transaction as the command that asked for them (``UnitOfWork.commit`` calls it);
``wakeup.publish`` wakes the workers after that commit. A job's retries and retry wait come
from its element's ``failedJobRetryTimeCycle`` when it has one
(``items.new_job(retry_cycle=...)``), else Flowable's 3 x 10 s.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from ...clock import parse_iso
from ...engine.runtime.effects import JobCancelled, JobRequested
from ...errors import NotFound
from ...storage.ports import Item, MustNotExist, Put, Table, Write
from ..container import Services
from ..definitions.cache import get_definition
from ..repositories.jobs import delete_write, job_key
from .items import new_job

if TYPE_CHECKING:
    from ...engine.runtime.session import CommandResult

__all__ = ["effect_writes"]


def _job_item(
    container: Services, job_id: str, effect: JobRequested, result: CommandResult
) -> Item:
    state = result.instances.get(effect.instance_id)
    definition_id = state.header.definition_id if state is not None else None
    handler = effect.payload.get("handler") or effect.kind
    now = container.clock.now()
    due = parse_iso(effect.due) if effect.due else now
    return new_job(
        job_id=job_id,
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


def _retry_cycle(
    container: Services, definition_id: str | None, activity_id: str | None
) -> str | None:
    """The ``failedJobRetryTimeCycle`` of the job's element (async activity, timer event)."""
    if definition_id is None or activity_id is None:
        return None
    try:
        process = get_definition(container, definition_id).process
    except NotFound:
        return None
    element = process.elements.get(activity_id)
    return getattr(element, "failed_job_retry_time_cycle", None)


def effect_writes(
    container: Services,
    result: CommandResult,
    *,
    running_job: str | None = None,
    stored_job: Callable[[str, str], Item | None] | None = None,
) -> tuple[list[Write], list[Item]]:
    """``(writes, new job items)`` for the jobs a command requested or cancelled.

    A job requested and cancelled by the same command is never written. ``running_job`` (the
    job being run, which its runner deletes itself) is never deleted twice. A cancelled job
    is deleted conditioned on its version as ``stored_job(pk, sk)`` gives it (the unit of
    work's loaded collection; default: read now), so a job deleted meanwhile (run, deleted
    by REST, dead-lettered) makes the commit lose its race instead of counting the job's
    removal twice; a cancelled job already gone is not deleted.
    """
    if stored_job is None:
        stored_job = partial(container.store.get, Table.RUNTIME)
    requested: dict[str, JobRequested] = {}
    cancelled: set[str] = set()
    for effect in result.effects:
        if isinstance(effect, JobRequested) and effect.job_id:
            requested[effect.job_id] = effect
        elif isinstance(effect, JobCancelled):
            if requested.pop(effect.job_id, None) is None:
                cancelled.add(effect.job_id)
    items = [_job_item(container, job_id, effect, result) for job_id, effect in requested.items()]
    writes: list[Write] = [Put(Table.RUNTIME, item, MustNotExist()) for item in items]
    for job_id in sorted(cancelled - {running_job}):
        stored = stored_job(*job_key(job_id))
        if stored is not None:
            writes.append(delete_write(stored))
    return writes, items
