"""Timer due dates (``bpmn-semantics.md`` §1.6): first due time, and the next one of a cycle.

A timer's state is a JSON-able *configuration* dict, kept in the timer subscription's
``configuration`` (and, for timer start events, by the service beside its job):

``timer``
    ``"timeDate"``, ``"timeDuration"`` or ``"timeCycle"``.
``value``
    The timer text after expressions were resolved (``R3/PT10M``, ``0 0/5 * * * ?``...).
``due``
    ISO-8601 UTC time the timer fires.
``repeat``
    Cycles only: Flowable's stored form, ``R3/<start>/PT10S`` for ISO cycles (the start made
    explicit), the cron text for cron cycles.
``remaining``
    Cycles only: fires left including this one (``None`` = unbounded: ``R/PT1H``, cron).
``end``
    Cycles only: ISO end (from ``R../../<end>`` or ``flowable:endDate``), or None.
``fired``
    How many times this timer fired before (0 for the first job).

:func:`first_configuration` computes the first one; :func:`next_configuration` the one after a
fire (None when the repetitions or the end date ran out), so exactly one job is outstanding
per repeating timer. Cron cycles are Quartz style (seconds first, ``?``, day of week
1=SUN..7=SAT); :func:`quartz_to_croniter` converts them for ``croniter``.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from typing import Any

from croniter import croniter

from chalicelib.clock import format_iso, parse_iso
from chalicelib.engine.elements import TimerDefinition
from chalicelib.engine.timers import (
    RepeatingInterval,
    is_cron,
    parse_time_cycle,
    parse_time_duration,
)

__all__ = [
    "TimerKind",
    "first_configuration",
    "next_configuration",
    "quartz_to_croniter",
    "next_cron",
    "Resolver",
    "timer_source",
]

#: Evaluates timer text that holds an expression (``${...}``); plain text comes back as is.
Resolver = Callable[[str], Any]


class TimerKind(str, enum.Enum):
    """Which of the three timer forms a definition uses (first one present wins)."""

    DATE = "timeDate"
    DURATION = "timeDuration"
    CYCLE = "timeCycle"


def timer_source(definition: TimerDefinition) -> tuple[TimerKind, str]:
    """The form and raw text of a timer definition. Raises ``ValueError`` when it has none."""
    for kind, text in (
        (TimerKind.DATE, definition.time_date),
        (TimerKind.DURATION, definition.time_duration),
        (TimerKind.CYCLE, definition.time_cycle),
    ):
        if text and text.strip():
            return kind, text.strip()
    raise ValueError("a timer needs one of timeDate, timeDuration or timeCycle")


def _utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _as_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return _utc(value)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    return parse_iso(str(value).strip())


# --- cron --------------------------------------------------------------------------------------


def _dow_number(text: str) -> str:
    """Quartz 1=SUN..7=SAT -> croniter 0=SUN..6=SAT (names pass through)."""
    return str(int(text) - 1) if text.isdigit() else text


def _convert_dow(field: str) -> str:
    items = []
    for item in field.split(","):
        if item == "?":
            items.append("*")
            continue
        base, slash, step = item.partition("/")
        base, hash_, nth = base.partition("#")
        base = "-".join(_dow_number(part) for part in base.split("-"))
        if base.endswith("L") and base[:-1].isdigit():
            base = f"{int(base[:-1]) - 1}L"
        items.append(base + hash_ + nth + slash + step)
    return ",".join(items)


def quartz_to_croniter(expression: str) -> str:
    """A Quartz cron (``sec min hour dom month dow [year]``) as croniter text (seconds last).

    ``?`` becomes ``*``; day-of-week numbers shift from 1=SUN..7=SAT to 0=SUN..6=SAT.
    Raises ``ValueError`` for a wrong field count.
    """
    fields = expression.split()
    if len(fields) not in (6, 7):
        raise ValueError(f"cron '{expression}' must have 6 or 7 fields (seconds first)")
    seconds, minutes, hours, dom, month, dow = fields[:6]
    dom = "*" if dom == "?" else dom
    converted = [minutes, hours, dom, month, _convert_dow(dow), seconds]
    if len(fields) == 7:
        converted.append(fields[6])
    return " ".join(converted)


def next_cron(expression: str, after: dt.datetime) -> dt.datetime:
    """The first time strictly after ``after`` that the Quartz cron expression matches."""
    try:
        itr = croniter(quartz_to_croniter(expression), _utc(after))
        return _utc(itr.get_next(dt.datetime))
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"'{expression}' is not a valid cron expression: {exc}") from exc


# --- configurations ----------------------------------------------------------------------------


def _period_text(value: str) -> str:
    return next(part for part in value.split("/")[1:] if part.startswith("P"))


def first_configuration(
    definition: TimerDefinition, now: dt.datetime, resolve: Resolver | None = None
) -> dict[str, Any] | None:
    """The configuration of a timer created at ``now`` (None: a cycle already over).

    ``resolve`` evaluates expressions in the timer text (in the waiting execution's scope);
    without it an expression is an error. Raises ``ValueError`` for a bad value.
    """
    kind, text = timer_source(definition)
    value = _resolve(text, resolve)
    now = _utc(now)
    if kind is TimerKind.DATE:
        return {"timer": kind.value, "value": _text(value), "due": format_iso(_as_datetime(value))}
    if kind is TimerKind.DURATION:
        due = now + parse_time_duration(str(value).strip())
        return {"timer": kind.value, "value": str(value).strip(), "due": format_iso(due)}
    cycle = str(value).strip()
    end_text = _resolve(definition.end_date, resolve) if definition.end_date else None
    end = _as_datetime(end_text) if end_text else None
    if is_cron(cycle):
        due = next_cron(cycle, now)
        return _cycle(cycle, cycle, due, None, end, 0)
    interval: RepeatingInterval = parse_time_cycle(cycle)  # type: ignore[assignment]
    if interval.end is not None:
        end = _utc(interval.end)
    if interval.repetitions == 0:
        return None
    period = interval.period
    if interval.start is not None:
        start = _utc(interval.start)
        due = start
        while due < now:
            due = due + period
    else:
        start = now
        due = now + period
    repeat = f"R{interval.repetitions or ''}/{format_iso(start)}/{_period_text(cycle)}"
    return _cycle(cycle, repeat, due, interval.repetitions, end, 0)


def next_configuration(config: dict[str, Any]) -> dict[str, Any] | None:
    """After the timer of ``config`` fired: the next cycle's configuration, or None."""
    if config.get("timer") != TimerKind.CYCLE.value:
        return None
    remaining = config.get("remaining")
    if remaining is not None and remaining <= 1:
        return None
    previous = parse_iso(config["due"])
    value = config["value"]
    if is_cron(value):
        due = next_cron(value, previous)
    else:
        due = previous + parse_time_duration(_period_text(value))
    end = parse_iso(config["end"]) if config.get("end") else None
    return _cycle(
        value,
        config.get("repeat") or value,
        due,
        None if remaining is None else remaining - 1,
        end,
        int(config.get("fired", 0)) + 1,
    )


def _cycle(
    value: str,
    repeat: str,
    due: dt.datetime,
    remaining: int | None,
    end: dt.datetime | None,
    fired: int,
) -> dict[str, Any] | None:
    if end is not None and due > end:
        return None
    return {
        "timer": TimerKind.CYCLE.value,
        "value": value,
        "repeat": repeat,
        "due": format_iso(due),
        "remaining": remaining,
        "end": format_iso(end),
        "fired": fired,
    }


def _resolve(text: str, resolve: Resolver | None) -> Any:
    if "${" in text or "#{" in text:
        if resolve is None:
            raise ValueError(
                f"timer value '{text}' is an expression, which needs a running "
                f"execution to evaluate"
            )
        value = resolve(text)
        if value is None or value == "":
            raise ValueError(f"timer expression '{text}' resolved to nothing")
        return value
    return text


def _text(value: Any) -> str:
    if isinstance(value, (dt.datetime, dt.date)):
        return format_iso(_as_datetime(value))  # type: ignore[return-value]
    return str(value).strip()
