"""The runners of queued deliveries: each commits its effects together with the deletion of
its job, through ``UnitOfWork.commit(running_job=...)``.

* ``deliver-message``: a queued message, to the execution it was validated against (or a start
  at a message start event);
* ``deliver-signal``: a queued signal to one execution, or one subscription reached by a
  broadcast (or a start at a signal start event of a broadcast);
* ``trigger-execution``: a queued trigger.

A queued message, signal or trigger whose target is gone when it runs fails with a message
naming what is missing, and follows the retry path (then the dead-letter table). A job of a
broadcast whose subscription is gone is simply done (Flowable's event job does the same): the
process moved on before the signal reached it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, cast

from ...engine.runtime.commands import Command
from ...errors import NotFound
from ...storage.ports import Item
from ..container import Services
from ..jobs.retry import run_attempts
from ..repositories.jobs import counted, job_done_write
from ..unit_of_work import UnitOfWork
from .targets import Target, message_command, signal_command, trigger_command

log = logging.getLogger("workflow.execution_jobs")

__all__ = ["run_delivery", "run_message", "run_signal", "run_trigger"]


def run_delivery(
    container: Services,
    job: Item,
    build: Callable[[UnitOfWork], Command],
    what: str,
    *,
    stale_is_done: bool = False,
) -> str:
    """Run the command ``build`` makes and delete ``job`` in the same transaction.

    A target that is gone (404) fails the job with a message naming ``what`` (retried, then
    dead-lettered), unless ``stale_is_done``: then the job is deleted and counts as done.
    """

    def attempt(current: Item) -> str:
        uow = UnitOfWork(container)
        try:
            result = uow.session.execute(build(uow))
        except NotFound as exc:
            if not stale_is_done:
                raise NotFound(f"{what} could not be delivered: {exc.message}") from exc
            container.store.transact(counted([job_done_write(current)]))
            log.info("job %s is stale (%s): deleted", job.data["_id"], exc.message)
            return "stale: deleted"
        uow.commit(result, running_job=current)
        return "executed"

    return run_attempts(container, job, attempt)


def _target(configuration: Mapping[str, Any]) -> Target:
    raw = configuration.get("target") or {}
    return Target(
        raw.get("processInstanceId"),
        raw.get("executionId"),
        raw.get("processDefinitionId"),
        raw.get("activityId"),
    )


def run_message(container: Services, job: Item) -> str:
    """The ``deliver-message`` runner."""
    configuration = job.data["jobHandlerConfiguration"]
    target = _target(configuration)
    name = configuration["messageName"]

    def build(uow: UnitOfWork) -> Command:
        if not target.starts:
            uow.load(cast(str, target.instance_id))  # a target that does not start
        return message_command(
            name, target, {}, configuration.get("businessKey"), configuration.get("initiator")
        )

    return run_delivery(container, job, build, f"Message '{name}'")


def run_signal(container: Services, job: Item) -> str:
    """The ``deliver-signal`` runner (one execution, or a start event of a broadcast)."""
    configuration = job.data["jobHandlerConfiguration"]
    name = configuration["signalName"]
    variables = configuration.get("variables") or {}
    target = _target(configuration)
    if target.starts:
        build = lambda uow: message_command(
            name,
            target,
            variables,
            None,  # noqa: E731
            configuration.get("initiator"),
        )
    else:
        build = lambda uow: signal_command(
            uow,
            name,
            configuration["executionId"],  # noqa: E731
            variables,
            configuration.get("subscriptionId"),
        )
    return run_delivery(
        container,
        job,
        build,
        f"Signal '{name}'",
        stale_is_done=bool(configuration.get("broadcastId")),
    )


def run_trigger(container: Services, job: Item) -> str:
    """The ``trigger-execution`` runner."""
    configuration = job.data["jobHandlerConfiguration"]
    execution_id = configuration["executionId"]
    return run_delivery(
        container,
        job,
        lambda uow: trigger_command(uow, execution_id, configuration.get("variables") or {}),
        f"Trigger of execution {execution_id}",
    )
