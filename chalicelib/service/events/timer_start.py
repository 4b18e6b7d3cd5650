"""The runner of ``timer-start`` jobs: a timer start event fires (DESIGN.md §4).

The registry of start events (``definitions.start_events``) points at the one outstanding
``timer-start`` job of each timer start event. Firing starts an instance and, in the same
transaction, deletes the job, writes the cycle's next job and moves the registry's pointer to it
(or drops the pointer when the cycle is over).
"""

from __future__ import annotations

import logging

from ...errors import NotFound
from ...storage.ports import Delete, Item, MustNotExist, Put, Table, VersionIs, Write
from ..container import Services
from ..definitions.cache import get_definition
from ..definitions.start_events import TIMER_START, timer_job, timer_pointer
from ..jobs.retry import run_attempts
from ..jobs.wakeup import publish
from ..repositories.jobs import counted, job_done_write
from ..unit_of_work import UnitOfWork

__all__ = ["TIMER_START", "run_timer_start"]

log = logging.getLogger("workflow.service.start_events")


def run_timer_start(container: Services, item: Item) -> str:
    """Runner of ``timer-start`` jobs: start an instance at the timer start event and, in the
    same transaction, delete this job, write the cycle's next job and move the registry's
    pointer to it (or drop the pointer when the cycle is over). A job the registry no longer
    points at, or whose definition is gone, is stale: deleted, and counted as done."""
    from ...engine.runtime import DefinitionNotFound, StartByEvent

    def attempt(current: Item) -> str:
        config = current.data["jobHandlerConfiguration"]
        definition_id, activity_id = config["definitionId"], config["activityId"]
        pointer = timer_pointer(container, definition_id, activity_id)
        if pointer is None or pointer.data.get("jobId") != current.data["_id"]:
            return _stale(container, current, "the registry no longer points at it")
        uow = UnitOfWork(container)
        try:
            result = uow.session.execute(StartByEvent(definition_id, activity_id))
        except (NotFound, DefinitionNotFound) as exc:
            return _stale(container, current, str(exc))
        extra, new_jobs = _following(container, current, pointer)
        uow.commit(result, extra, running_job=current)
        publish(container, new_jobs)
        return f"started {result.instance_id}"

    return run_attempts(container, item, attempt)


def _following(container: Services, job: Item, pointer: Item) -> tuple[list[Write], list[Item]]:
    """The writes that follow a fired timer start: the cycle's next job with the pointer moved
    to it, or (no next fire) the pointer deleted; and the new job to publish."""
    from ...engine.runtime.timers_rt import next_configuration

    config = job.data["jobHandlerConfiguration"]
    definition_id, activity_id = config["definitionId"], config["activityId"]
    condition = VersionIs(pointer.version or 1)
    following = next_configuration(config["timer"])
    if following is None:
        return [Delete.of(Table.REPOSITORY, pointer, condition)], []
    model = get_definition(container, definition_id).process
    new_job = timer_job(model, definition_id, activity_id, following, container.clock.now())
    moved = pointer.next_version({**pointer.data, "jobId": new_job.data["_id"]})
    return [Put(Table.RUNTIME, new_job, MustNotExist()), Put(Table.REPOSITORY, moved, condition)], [
        new_job
    ]


def _stale(container: Services, job: Item, reason: str) -> str:
    container.store.transact(counted([job_done_write(job)]))
    log.info("timer-start job %s is stale (%s): deleted", job.data["_id"], reason)
    return "stale: deleted"
