"""The scheduled sweep: wake the workers for jobs coming due (DESIGN.md §4).

It reads the sparse, sharded due-date index (``repositories.jobs``) up to now plus a
lookahead, so a timer due before the next tick is queued now with ``DelaySeconds`` and fires
within about a second of its due time, not at the next tick.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
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
    "OVERDUE_GRACE_SECONDS",
    "MAX_OVERDUE_RESENDS",
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
#: an overdue job's wake-up is likely still in flight for this long: not re-sent before
OVERDUE_GRACE_SECONDS = 5.0
#: overdue jobs one sweep re-sends at most (the rest wait for the next sweep)
MAX_OVERDUE_RESENDS = 1000
MIN_SWEEP_LOOKAHEAD = timedelta(seconds=1)
#: ``container.extras`` key: when this process's sweep last re-sent each overdue job
_RESENT = "sweep.resent"


def sweep_lookahead(period_seconds: float | None) -> timedelta:
    """How far ahead a sweep that runs every ``period_seconds`` looks: 1.5 periods (at least
    1 s), so a job due before the next tick is queued now (with ``DelaySeconds``) and no job is
    queued by more than two ticks. None: ``SWEEP_LOOKAHEAD`` (the 60 s schedule's)."""
    if period_seconds is None:
        return SWEEP_LOOKAHEAD
    return max(MIN_SWEEP_LOOKAHEAD, timedelta(seconds=SWEEP_LOOKAHEAD_FACTOR * period_seconds))


def _sweep_sends(ahead: float, period: float, resent_ago: float | None) -> bool:
    """Whether a sweep sends a job due ``ahead`` seconds from now (negative: overdue) that it
    last re-sent ``resent_ago`` seconds ago (None: never).

    Due within (-period/2, lookahead]: yes, so each job is sent about twice as it comes due
    (ticks may jitter). Overdue beyond that (its wake-up lost in a crash, or still queued behind
    others): once it is ``OVERDUE_GRACE_SECONDS`` late, at the first sweep that has not re-sent
    it yet, then again every ``max(period, OVERDUE_RESEND_SECONDS)`` (every tick for the
    minute schedule, not every second of a 1 s tick, which would flood the queue with
    duplicates of a backlog such as a large signal broadcast).
    """
    if ahead > -period / 2:
        return True
    if -ahead < OVERDUE_GRACE_SECONDS:
        return False
    if resent_ago is None:
        return True
    return resent_ago >= max(period, OVERDUE_RESEND_SECONDS) - period / 2


def sweep(container: Services) -> dict[str, int]:
    """Send a wake-up for jobs due before now + the lookahead (``sweep_lookahead`` of
    ``settings.sweep_period_seconds``: 90 s for the minute schedule, 1.5 s for a 1 s tick);
    an overdue job at the first sweep once it is a few seconds late, then about once a minute
    (``_sweep_sends``), at most ``MAX_OVERDUE_RESENDS`` of them per sweep.

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

    # per process: a new container re-sends once more, which is harmless
    resent: dict[str, datetime] = container.extras.setdefault(_RESENT, {})
    overdue_seen: dict[str, datetime] = {}
    sent = resends = 0
    token = None
    while True:
        page = due_jobs(container.store, horizon, limit=100, start=token)
        for item in page.items:
            due_text = due_of(item)
            job_id = job_id_of(item)
            ahead = seconds_until(now, due_text)
            overdue = ahead <= -period / 2
            last = resent.get(job_id)
            if overdue and last is not None:
                overdue_seen[job_id] = last
            ago = None if last is None else (now - last).total_seconds()
            if not _sweep_sends(ahead, period, ago):
                continue
            if overdue:
                if resends >= MAX_OVERDUE_RESENDS:
                    continue
                resends += 1
                overdue_seen[job_id] = now
            container.publisher.send(
                queue, encode(job_id), delay_seconds=delay_seconds(now, due_text)
            )
            sent += 1
        token = page.next_token
        if token is None:
            break
    # forget the jobs that are no longer overdue (run, or gone): the log stays as small as the
    # overdue backlog
    resent.clear()
    resent.update(overdue_seen)
    if sent:
        log.info("sweep: %d job wake-up(s) sent (%d overdue re-sent)", sent, resends)
    return {"sent": sent}
