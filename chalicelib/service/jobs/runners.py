"""THE table of job runners: ``jobHandlerType -> runner(container, job item) -> outcome``.

A runner does the job's work and commits its effects together with the deletion of the job
item (``repositories.jobs.job_done_write``); raising means failure (``retry.record_failure``).
Every job type the service writes is listed here, and nowhere else: a new job type is one row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...storage.ports import Item
from ..actions import external_worker, http_task, mail_task
from ..events import broadcast, deliveries, inbound, lifecycle, outbound, timer_start
from . import engine_runner, intents

__all__ = ["Runner", "RUNNERS"]

Runner = Callable[[Any, Item], str]

RUNNERS: dict[str, Runner] = {
    # the engine's timers and async continuations
    "trigger-timer": engine_runner.run_engine_job,
    "async-continuation": engine_runner.run_engine_job,
    "async-after": engine_runner.run_engine_job,
    # a commit larger than one transaction
    intents.HANDLER: intents.run,
    # timer start events
    timer_start.TIMER_START: timer_start.run_timer_start,
    # queued execution actions and signal broadcasts
    "deliver-message": deliveries.run_message,
    "deliver-signal": deliveries.run_signal,
    "trigger-execution": deliveries.run_trigger,
    broadcast.HANDLER: broadcast.run_broadcast,
    # a dead-lettered inbound event executed again (service/events/inbound.py)
    inbound.HANDLER: inbound.run_dead_letter,
    # a send event task's outbox job (service/events/outbound.py)
    outbound.HANDLER: outbound.run_send_event,
    # lifecycle events as CloudEvents (service/events/lifecycle.py)
    lifecycle.HANDLER: lifecycle.run_lifecycle,
    # the action tasks (service/actions/): an HTTP request, a mail through SES, an external
    # worker task published to its topic's queue (then locked until answered)
    http_task.HANDLER: http_task.run_http_task,
    mail_task.HANDLER: mail_task.run_mail_task,
    external_worker.HANDLER: external_worker.run_external_worker,
}
