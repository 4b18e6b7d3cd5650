"""The scheduled sweep: wake the workers for jobs coming due (DESIGN.md §4).

It reads the sparse, sharded due-date index (``repositories.jobs``) up to now plus a
lookahead, so a timer due before the next tick is queued now with ``DelaySeconds`` and fires
within about a second of its due time, not at the next tick.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import cast

from ...clock import format_iso
from ..container import Services
from ..repositories.jobs import due_jobs, due_of, job_id_of
from .wakeup import delay_seconds, seconds_until

__all__ = [
    "SWEEP_LOOKAHEAD",
    "SWEEP_LOOKAHEAD_FACTOR",
    "DEFAULT_SWEEP_PERIOD_SECONDS",
    "OVERDUE_RESEND_SECONDS",
    "sweep",
    "sweep_lookahead",
]

log = logging.getLogger("workflow.service.jobs")

#: the sweep runs every minute on AWS; it looks a little further ahead so no timer waits for it
#: (the lookahead is ``SWEEP_LOOKAHEAD_FACTOR`` x the sweep period: see ``sweep_lookahead``)
SWEEP_LOOKAHEAD = timedelta(seconds=90)
SWEEP_LOOKAHEAD_FACTOR = 1.5
DEFAULT_SWEEP_PERIOD_SECONDS = 60.0
#: an overdue job is sent again at most this often (or once per sweep when it runs less often)
OVERDUE_RESEND_SECONDS = 60.0
MIN_SWEEP_LOOKAHEAD = timedelta(seconds=1)


def sweep_lookahead(period_seconds: float | None) -> timedelta:
    """How far ahead a sweep that runs every ``period_seconds`` looks: 1.5 periods (at least
    1 s), so a job due before the next tick is queued now (with ``DelaySeconds``) and no job is
    queued by more than two ticks. None: ``SWEEP_LOOKAHEAD`` (the 60 s schedule's)."""
    if period_seconds is None:
        return SWEEP_LOOKAHEAD
    return max(MIN_SWEEP_LOOKAHEAD, timedelta(seconds=SWEEP_LOOKAHEAD_FACTOR * period_seconds))


def _sweep_sends(ahead: float, period: float) -> bool:
    """Whether a sweep sends a job due ``ahead`` seconds from now (negative: overdue).

    Due within (-period/2, lookahead]: yes, so each job is sent about twice as it comes due
    (ticks may jitter). Overdue beyond that (its wake-up lost, or still queued behind others):
    once every ``max(period, OVERDUE_RESEND_SECONDS)``, i.e. every tick for the minute schedule
    but not every second of a 1 s tick, which would flood the queue with duplicates of a
    backlog (a large signal broadcast, say).
    """
    if ahead > -period / 2:
        return True
    interval = max(period, OVERDUE_RESEND_SECONDS)
    return (-ahead) % interval < period


def sweep(container: Services) -> dict[str, int]:
    """Send a wake-up for jobs due before now + the lookahead (``sweep_lookahead`` of
    ``settings.sweep_period_seconds``: 90 s for the minute schedule, 1.5 s for a 1 s tick);
    overdue ones about once a minute at most (``_sweep_sends``).

    A job due later than now is sent with ``DelaySeconds`` (whole seconds rounded down; the
    worker waits the fraction, so it never runs early). Sending
    a wake-up for a job that is already queued is harmless: the second message finds it gone.
    """
    now = container.clock.now()
    period = getattr(container.settings, "sweep_period_seconds", None)
    if period is None:
        period = DEFAULT_SWEEP_PERIOD_SECONDS
    horizon = cast(str, format_iso(now + sweep_lookahead(period))) + "\uffff"
    queue = container.settings.jobs_queue
    from ...messaging.job_message import encode

    sent = 0
    token = None
    while True:
        page = due_jobs(container.store, horizon, limit=100, start=token)
        for item in page.items:
            due_text = due_of(item)
            if not _sweep_sends(seconds_until(now, due_text), period):
                continue
            container.publisher.send(
                queue, encode(job_id_of(item)), delay_seconds=delay_seconds(now, due_text)
            )
            sent += 1
        token = page.next_token
        if token is None:
            break
    if sent:
        log.info("sweep: %d job wake-up(s) sent", sent)
    return {"sent": sent}
