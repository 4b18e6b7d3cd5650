"""A job's tries and the wait between them: Flowable's defaults, or the element's
``failedJobRetryTimeCycle`` (read by ``items.new_job`` when a job is made, and by ``retry`` when
one fails; here so that making a job needs nothing of the failure path)."""

from __future__ import annotations

from datetime import timedelta

__all__ = ["DEFAULT_RETRIES", "RETRY_WAIT", "RETRY_CYCLE_KEY", "retry_policy"]

#: Flowable's defaults: 3 tries, 10 s apart
DEFAULT_RETRIES = 3
RETRY_WAIT = timedelta(seconds=10)
#: where a job keeps its ``failedJobRetryTimeCycle`` (in ``jobHandlerConfiguration``)
RETRY_CYCLE_KEY = "failedJobRetryTimeCycle"


def retry_policy(cycle: str | None) -> tuple[int, timedelta] | None:
    """``(retries, wait)`` of a ``failedJobRetryTimeCycle`` (``R5/PT7M`` -> ``(5, 7 min)``).

    None (the defaults apply) when there is no cycle, when it is an expression (not evaluated
    here) or malformed, or when it has no repetition count (``R/PT7M``: the wait still applies
    through ``retry_wait``).
    """
    if not cycle or not isinstance(cycle, str) or "${" in cycle or "#{" in cycle:
        return None
    from ...engine.timers import RepeatingInterval, parse_time_cycle

    try:
        parsed = parse_time_cycle(cycle)
    except ValueError:
        return None
    if not isinstance(parsed, RepeatingInterval):
        return None
    retries = DEFAULT_RETRIES if parsed.repetitions is None else parsed.repetitions
    return retries, parsed.period
