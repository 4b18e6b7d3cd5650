"""Timer value syntax (``bpmn-semantics.md`` §1.6): ISO-8601 dates, durations, repeating
intervals, and Quartz-style cron. Parsing only; computing due dates comes with the executor.

- ``timeDate``: an ISO-8601 date-time (``2036-11-15T11:12:30``, offset optional) or a date.
- ``timeDuration``: an ISO-8601 duration (``PT5M``, ``P1D``, ``PT0.5S``).
- ``timeCycle``: ``R[n]/<duration>``, ``R[n]/<start>/<duration>``, ``R[n]/<duration>/<end>``;
  any value not starting with ``R`` is a cron expression with a seconds field (6 or 7 fields,
  ``?`` allowed: ``0 0/5 * * * ?``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import isodate
from croniter import croniter

__all__ = [
    "RepeatingInterval",
    "parse_time_date",
    "parse_time_duration",
    "parse_time_cycle",
    "check_cron",
    "is_cron",
]


@dataclass(frozen=True, slots=True)
class RepeatingInterval:
    """``R[n]/...``: ``repetitions`` is ``None`` when unbounded (``R/PT1H``)."""

    repetitions: int | None
    period: dt.timedelta | isodate.Duration
    start: dt.datetime | None = None
    end: dt.datetime | None = None


def parse_time_date(text: str) -> dt.datetime:
    """An ISO-8601 date-time, or a date (meaning its start). Raises ``ValueError``."""
    value = text.strip()
    try:
        if "T" in value:
            return isodate.parse_datetime(value)
        date = isodate.parse_date(value)
        return dt.datetime(date.year, date.month, date.day)
    except (isodate.ISO8601Error, ValueError, TypeError) as exc:
        raise ValueError(f"'{text}' is not an ISO-8601 date-time") from exc


def parse_time_duration(text: str) -> dt.timedelta | isodate.Duration:
    """An ISO-8601 duration (``PT5M``). Raises ``ValueError``."""
    value = text.strip()
    if not value.startswith(("P", "-P", "+P")):
        raise ValueError(f"'{text}' is not an ISO-8601 duration")
    try:
        return isodate.parse_duration(value)
    except (isodate.ISO8601Error, ValueError, TypeError) as exc:
        raise ValueError(f"'{text}' is not an ISO-8601 duration") from exc


def is_cron(text: str) -> bool:
    """True when a ``timeCycle`` value is a cron expression (it does not start with ``R``)."""
    return not text.strip().startswith("R")


def check_cron(text: str) -> None:
    """Check a Quartz-style cron expression (seconds first, 6 or 7 fields). Raises ``ValueError``."""
    fields = text.split()
    if len(fields) not in (6, 7):
        raise ValueError(
            f"cron '{text}' must have 6 or 7 fields (seconds first), not {len(fields)}"
        )
    try:
        valid = croniter.is_valid(text, second_at_beginning=True)
    except Exception:  # croniter raises assorted errors on odd input
        valid = False
    if not valid:
        raise ValueError(f"'{text}' is not a valid cron expression")


def parse_time_cycle(text: str) -> RepeatingInterval | str:
    """A repeating interval, or the cron text itself (after checking it). Raises ``ValueError``."""
    value = text.strip()
    if is_cron(value):
        check_cron(value)
        return value
    parts = value.split("/")
    head = parts[0]
    if len(parts) not in (2, 3) or not head.startswith("R"):
        raise ValueError(f"'{text}' is not an ISO-8601 repeating interval (R3/PT10M)")
    repetitions: int | None = None
    if head[1:]:
        if not head[1:].isdigit():
            raise ValueError(f"'{text}': the repeat count '{head[1:]}' is not a number")
        repetitions = int(head[1:])
    if len(parts) == 2:
        return RepeatingInterval(repetitions, parse_time_duration(parts[1]))
    if parts[1].startswith("P"):
        return RepeatingInterval(
            repetitions, parse_time_duration(parts[1]), end=parse_time_date(parts[2])
        )
    return RepeatingInterval(
        repetitions, parse_time_duration(parts[2]), start=parse_time_date(parts[1])
    )
