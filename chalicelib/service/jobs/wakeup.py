"""Waking the workers after a commit: one SQS message per job due within SQS's longest delay.

Later jobs are left to the sweep (``sweep``). Losing a message loses nothing: the sweep finds
the job by its due date. Delays are whole seconds rounded DOWN (``delay_seconds``), so a wake-up
arrives at most a second early and the worker waits the rest; it never runs a job early.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime

from ...clock import parse_iso
from ...storage.ports import Item
from ..container import Services

__all__ = ["MAX_DELAY_SECONDS", "publish", "seconds_until", "delay_seconds"]

log = logging.getLogger("workflow.service.jobs")

#: SQS's largest DelaySeconds
MAX_DELAY_SECONDS = 900


def publish(container: Services, items: list[Item]) -> None:
    """After a commit: wake the workers for jobs due within SQS's longest delay.

    Later jobs are left to the sweep. Losing a message here loses nothing: the sweep finds the
    job by its due date.
    """
    now = container.clock.now()
    from ...messaging.job_message import encode

    for item in items:
        delay = delay_seconds(now, item.data["dueDate"])
        if delay <= MAX_DELAY_SECONDS:
            try:
                container.publisher.send(
                    container.settings.jobs_queue, encode(item.data["_id"]), delay_seconds=delay
                )
            except Exception:  # the sweep will find it
                log.warning(
                    "wake-up for job %s not sent; the sweep will", item.data["_id"], exc_info=True
                )


def seconds_until(now: datetime, due_text: str) -> float:
    """Seconds from ``now`` until the ISO time ``due_text`` (negative: overdue)."""
    return (parse_iso(due_text) - now).total_seconds()


def delay_seconds(now: datetime, due_text: str) -> int:
    """SQS's whole-second ``DelaySeconds`` for a job due at ``due_text``: rounded DOWN, so the
    wake-up arrives at most a second early and ``run_job`` waits the rest (rounding up would
    make every timer up to a second late)."""
    return max(0, math.floor(seconds_until(now, due_text)))
