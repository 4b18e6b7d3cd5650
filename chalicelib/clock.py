"""Injected time. Nothing in the service calls ``datetime.now`` directly: it asks a clock."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "SystemClock", "FixedClock", "format_iso", "parse_iso"]


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime | None = None):
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, **kwargs: float) -> datetime:
        """Move forward by ``timedelta(**kwargs)`` and return the new time."""
        with self._lock:
            self._now += timedelta(**kwargs)
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when


def format_iso(when: datetime | None) -> str | None:
    """ISO-8601 UTC with milliseconds and ``Z`` (``2026-11-27T20:17:13.123Z``); None stays None."""
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime:
    """Parse any ISO-8601 date or date-time; naive values are taken as UTC.

    Raises ``ValueError`` with the offending text when it is not ISO-8601.
    """
    import isodate  # lazy: small, but only some handlers need it

    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"'{text}' is not an ISO-8601 date-time")
    try:
        if "T" in text or " " in text.strip():
            value = isodate.parse_datetime(text.strip().replace(" ", "T", 1))
        else:
            day = isodate.parse_date(text.strip())
            value = datetime(day.year, day.month, day.day)
    except (isodate.ISO8601Error, ValueError) as exc:
        raise ValueError(f"'{text}' is not an ISO-8601 date-time") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
