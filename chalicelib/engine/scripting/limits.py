"""Limits of the script sandbox, and the logging level of each console method."""

from __future__ import annotations

import logging

__all__ = [
    "DEFAULT_TIME_LIMIT_S",
    "DEFAULT_MEMORY_LIMIT_BYTES",
    "EARLY_INTERRUPT_RATIO",
    "MAX_RETRY_STRETCH",
    "MIN_RETRY_REMAINDER",
    "MAX_CONSOLE_LINES",
    "MAX_CONSOLE_LINE_LENGTH",
    "CONSOLE_LIMITS",
    "LEVELS",
]

DEFAULT_TIME_LIMIT_S = 1.0
DEFAULT_MEMORY_LIMIT_BYTES = 32 * 1024 * 1024
#: An interrupt after less than this share of the limit in the script's own thread is retried.
EARLY_INTERRUPT_RATIO = 0.75
#: The retry's QuickJS budget is at most this many times the wall time left before the
#: deadline: it bounds how far past the deadline a retry can run if the siblings go idle.
MAX_RETRY_STRETCH = 2.0
#: No retry when less than this share of the limit is left before the deadline: too little to
#: finish a script that already needed more, so it is a time-out at once.
MIN_RETRY_REMAINDER = 0.1
#: Console output kept per script (lines past it are counted, not kept), and per line.
MAX_CONSOLE_LINES = 500
MAX_CONSOLE_LINE_LENGTH = 2_000
#: The console limits as a fresh context's prelude reads them.
CONSOLE_LIMITS = {"lines": MAX_CONSOLE_LINES, "lineLength": MAX_CONSOLE_LINE_LENGTH}

#: console method -> logging level of its lines
LEVELS = {
    "log": logging.INFO,
    "info": logging.INFO,
    "debug": logging.DEBUG,
    "warn": logging.WARNING,
    "error": logging.ERROR,
}
