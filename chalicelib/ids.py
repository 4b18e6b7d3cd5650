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
#: 10-bit chunks as two base32 characters (ids are encoded 10 bits at a time)
_PAIRS = tuple(a + b for a in _ALPHABET for b in _ALPHABET)
_RAND_MASK = (1 << 80) - 1


def _seed() -> int:
    """The random part's starting point: 80 random bits, one ``os.urandom`` per process."""
    return int.from_bytes(os.urandom(10), "big") >> 1  # headroom for increments


# (milliseconds, random part) of the last id handed out, and the encoded milliseconds
_last = (0, _seed())
_prefix = (-1, "")  # (milliseconds << 40 | random >> 40, their 18 characters)


def _reseed_after_fork() -> None:  # a forked child must not repeat its parent's ids
    global _last, _lock
    _lock = threading.Lock()
    _last = (_last[0], _seed())


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reseed_after_fork)


def _encode(number: int, length: int) -> str:
    chars = []
    for _ in range(length):
        number, digit = divmod(number, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def _encode80(number: int) -> str:
    """16 base32 characters of an 80-bit number (as ``_encode(number, 16)``)."""
    pairs = _PAIRS
    return (
        pairs[(number >> 70) & 1023]
        + pairs[(number >> 60) & 1023]
        + pairs[(number >> 50) & 1023]
        + pairs[(number >> 40) & 1023]
        + pairs[(number >> 30) & 1023]
        + pairs[(number >> 20) & 1023]
        + pairs[(number >> 10) & 1023]
        + pairs[number & 1023]
    )


def new_id(now_ms: int | None = None) -> str:
    """A new time-ordered id; ``now_ms`` (epoch milliseconds) defaults to the wall clock.

    The random part is seeded once per process (``os.urandom``) and then counts up by one per
    id, so ids of one process are unique and strictly increasing; across processes the 79
    random bits of each seed keep them apart (ULID's monotonic variant).
    """
    global _last, _prefix
    millis = int(time.time() * 1000) if now_ms is None else int(now_ms)
    with _lock:
        last_ms, last_rand = _last
        if millis < last_ms:  # clock went back: keep ids increasing
            millis = last_ms
        rand = (last_rand + 1) & _RAND_MASK
        if rand == 0:  # wrapped (never in practice): move to the next millisecond
            millis += 1
        _last = (millis, rand)
        high = (millis << 40) | (rand >> 40)  # time + upper random bits: rarely change
        prefix_high, prefix = _prefix
        if prefix_high != high:
            prefix = _encode(millis, 10) + _encode80(rand)[:8]
            _prefix = (high, prefix)
    pairs = _PAIRS
    return (
        prefix
        + pairs[(rand >> 30) & 1023]
        + pairs[(rand >> 20) & 1023]
        + pairs[(rand >> 10) & 1023]
        + pairs[rand & 1023]
    )


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
