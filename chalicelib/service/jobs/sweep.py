"""The scheduled sweep: wake the workers for jobs coming due (DESIGN.md §4).

It reads the sparse, sharded due-date index (``repositories.jobs``) up to now plus a
lookahead, so a timer due before the next tick is queued now with ``DelaySeconds`` and fires
within about a second of its due time, not at the next tick.

Bounded work per run: the window of jobs coming due (from half a period ago to the lookahead:
what the workload puts there) is read whole; the overdue part before it (a backlog after an
outage can hold any number) at most ``OVERDUE_READ`` entries per sweep, the next sweep of this
process going on from where the last one stopped (from the oldest again once it reaches the
end), so a backlog of any size is re-sent slice by slice while fresh timers keep their time.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import cast

from ...clock import format_iso
from ...storage.ports import Item
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
    "OVERDUE_READ",
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
#: overdue due-index entries one sweep reads at most (the rest: the next sweeps, in turn)
OVERDUE_READ = 2000
MIN_SWEEP_LOOKAHEAD = timedelta(seconds=1)
#: ``container.extras`` key: when this process's sweep last re-sent each overdue job
_RESENT = "sweep.resent"
#: ``container.extras`` key: where this process's next sweep goes on reading the overdue part
_CURSOR = "sweep.overdue_cursor"
#: due-index entries per page read
_PAGE = 100


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
    (``_sweep_sends``), at most ``MAX_OVERDUE_RESENDS`` of them and ``OVERDUE_READ`` overdue
    entries read per sweep (the module's doc).

    A job due later than now is sent with ``DelaySeconds`` (whole seconds rounded down; the
    worker waits the fraction, so it never runs early). Sending
    a wake-up for a job that is already queued is harmless: the second message finds it gone.
    """
    now = container.clock.now()
    period = getattr(container.settings, "sweep_period_seconds", None)
    if period is None:
        period = DEFAULT_SWEEP_PERIOD_SECONDS
    horizon = cast(str, format_iso(now + sweep_lookahead(period))) + "\uffff"
    # the window's lower end: overdue begins at half a period late (``_sweep_sends``)
    window = cast(str, format_iso(now - timedelta(seconds=period / 2)))
    queue = container.settings.jobs_queue
    from ...messaging.job_message import encode

    # per process: a new container re-sends once more, which is harmless
    resent: dict[str, datetime] = container.extras.setdefault(_RESENT, {})
    interval = max(period, OVERDUE_RESEND_SECONDS)
    sent: set[str] = set()
    resends = 0

    def consider(item: Item) -> bool:
        """Send ``item``'s wake-up if it is due for one; False once the re-sends are spent."""
        nonlocal resends
        due_text = due_of(item)
        job_id = job_id_of(item)
        if job_id in sent:  # on the window's edge: read by both parts
            return True
        ahead = seconds_until(now, due_text)
        overdue = ahead <= -period / 2
        last = resent.get(job_id)
        ago = None if last is None else (now - last).total_seconds()
        if not _sweep_sends(ahead, period, ago):
            return True
        if overdue:
            if resends >= MAX_OVERDUE_RESENDS:
                return False
            resends += 1
            resent[job_id] = now
        container.publisher.send(queue, encode(job_id), delay_seconds=delay_seconds(now, due_text))
        sent.add(job_id)
        return True

    token = None
    while True:  # the window of jobs coming due, whole
        page = due_jobs(container.store, horizon, since=window, limit=_PAGE, start=token)
        for item in page.items:
            consider(item)
        token = page.next_token
        if token is None:
            break
    token = container.extras.get(_CURSOR)
    read = 0
    while read < OVERDUE_READ:  # the overdue part, a slice from where the last sweep stopped
        page = due_jobs(container.store, window, limit=min(_PAGE, OVERDUE_READ - read), start=token)
        read += len(page.items)
        if not all(consider(item) for item in page.items):
            break  # re-sends spent: the next sweep reads this page again
        token = page.next_token
        if token is None:
            break
    container.extras[_CURSOR] = token
    # forget re-sends old enough to be made again: the log stays as small as one interval's
    for job_id, when in list(resent.items()):
        if (now - when).total_seconds() >= interval - period / 2:
            del resent[job_id]
    if sent:
        log.info("sweep: %d job wake-up(s) sent (%d overdue re-sent)", len(sent), resends)
    return {"sent": len(sent)}
