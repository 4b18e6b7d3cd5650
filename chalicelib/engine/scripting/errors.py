"""How a QuickJS exception becomes a :class:`~chalicelib.errors.ProcessFailure` (or an early
interrupt to retry), and the console output of a failed script."""

from __future__ import annotations

import json
import logging
import re

import quickjs

from chalicelib.errors import ProcessFailure

from .limits import EARLY_INTERRUPT_RATIO, LEVELS

__all__ = ["EarlyInterrupt", "failure"]


class EarlyInterrupt(Exception):
    """The time limit fired before the script's own thread used its share of CPU."""

    def __init__(self, own_cpu: float):
        self.own_cpu = own_cpu
        super().__init__(own_cpu)


def failure(
    exc: quickjs.JSException,
    context: quickjs.Context,
    own_cpu: float,
    time_limit_s: float,
    memory_limit_bytes: int,
    activity_id: str | None,
    logger: logging.Logger | None,
    *,
    with_line: bool,
) -> Exception:
    """The exception to raise for ``exc`` (``with_line``: the script's line is reported)."""
    text = str(exc)
    first = text.split("\n", 1)[0].strip()
    if first == "InternalError: interrupted":
        if own_cpu < EARLY_INTERRUPT_RATIO * time_limit_s:
            return EarlyInterrupt(own_cpu)
        return ProcessFailure(
            "script-timeout", f"Script exceeded its time limit of {time_limit_s:g} s", activity_id
        )
    if "out of memory" in text or (first in ("", "null") and _near_limit(context)):
        return ProcessFailure(
            "script",
            f"Script ran out of memory (limit {memory_limit_bytes / (1024 * 1024):g} MiB)",
            activity_id,
        )
    if isinstance(exc, quickjs.StackOverflow):
        return ProcessFailure(
            "script", "Script error: stack overflow (too deep recursion)", activity_id
        )
    _log_console_of_failed(context, activity_id, logger)
    line = re.search(r"<input>:(\d+)", text) if with_line else None
    where = f" (line {line.group(1)})" if line else ""
    return ProcessFailure("script", f"Script error: {first or 'unknown error'}{where}", activity_id)


def _near_limit(context: quickjs.Context) -> bool:
    """After an exception that lost its message: was the heap (nearly) full?"""
    try:
        usage = context.memory()
        return usage["malloc_size"] >= 0.9 * usage["malloc_limit"]
    except Exception:  # noqa: BLE001 - a broken context is as good as full here
        return True


def _log_console_of_failed(
    context: quickjs.Context, activity_id: str | None, logger: logging.Logger | None
) -> None:
    """Send a failed script's console output to the logger: it is what explains the error."""
    if logger is None:
        return
    try:
        output = json.loads(context.eval("__wf_console()"))
    except Exception:  # noqa: BLE001 - best effort only
        return
    for level, line in output["console"]:
        logger.log(LEVELS.get(level, logging.INFO), "script %s: %s", activity_id, line)
