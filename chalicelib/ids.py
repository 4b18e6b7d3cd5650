"""Time-ordered unique ids.

* ``new_id()``: 26 characters of lowercase Crockford base32, ULID layout (48-bit milliseconds,
  80 random bits), monotonic within a process, so ids sort by creation time. No ``:`` (process
  definition ids use ``:`` as their separator) and nothing that needs escaping in a URL path.
* ``child_id(instance_id)``: the id of a task or job of one process instance. It carries the
  instance id before a ``.``, so the service finds the instance without a second lookup
  (``instance_of(child_id)``).
"""
from __future__ import annotations

import os
import re
import threading
import time

__all__ = ["new_id", "child_id", "instance_of", "is_id"]

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_ID = re.compile(r"^[0-9a-hjkmnp-tv-z]{26}$")
_lock = threading.Lock()
_last = (0, 0)  # (milliseconds, random part) of the last id handed out


def _encode(number: int, length: int) -> str:
    chars = []
    for _ in range(length):
        number, digit = divmod(number, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def new_id(now_ms: int | None = None) -> str:
    """A new time-ordered id; ``now_ms`` (epoch milliseconds) defaults to the wall clock."""
    global _last
    millis = int(time.time() * 1000) if now_ms is None else int(now_ms)
    with _lock:
        last_ms, last_rand = _last
        if millis <= last_ms:  # same millisecond (or clock went back): keep ids increasing
            millis, rand = last_ms, last_rand + 1
        else:
            rand = int.from_bytes(os.urandom(10), "big") >> 1  # headroom for increments
        _last = (millis, rand)
    return _encode(millis, 10) + _encode(rand, 16)


def child_id(instance_id: str, now_ms: int | None = None) -> str:
    """A task or job id that names its process instance."""
    return f"{instance_id}.{new_id(now_ms)}"


def instance_of(entity_id: str) -> str | None:
    """The process instance id inside a task or job id, or None when it carries none."""
    head, sep, tail = entity_id.partition(".")
    if sep and is_id(head) and is_id(tail):
        return head
    return None


def is_id(text: str) -> bool:
    """True when ``text`` has the shape of an id from ``new_id``."""
    return bool(_ID.match(text or ""))
