"""The messaging port: publish JSON messages to a named queue (DESIGN §4: SQS is the wake-up).

Messages are wake-ups, not the truth: the job item in DynamoDB is. A lost or duplicated message
is repaired by the due-job sweep and by the handler's "job still there?" check.

Delays are whole seconds from 0 to 900 (SQS's ``DelaySeconds`` range). A fractional delay is
rounded **up** (a message must never arrive before its job is due); longer delays are clamped to
900 s, and the handler delays such a message again when it arrives early.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from .. import errors

__all__ = [
    "Publisher",
    "MAX_DELAY_SECONDS",
    "MAX_MESSAGE_BYTES",
    "MessageTooLarge",
    "clamp_delay",
    "encode_body",
]

MAX_DELAY_SECONDS = 900
#: SQS's message size limit (256 KiB).
MAX_MESSAGE_BYTES = 262_144


class MessageTooLarge(errors.InternalError, ValueError):
    """A message body over 256 KiB: put the payload in DynamoDB and send its key."""


@runtime_checkable
class Publisher(Protocol):
    """Sends JSON messages to queues by name."""

    def send(
        self,
        queue_name: str,
        body: dict[str, Any],
        *,
        delay_seconds: float = 0,
        attributes: Mapping[str, Any] | None = None,
    ) -> str:
        """Send one message; returns its message id. ``attributes``: its message attributes
        (an event's header fields), each sent as a String or a Number."""

    def send_batch(
        self, queue_name: str, bodies: Sequence[dict[str, Any]], *, delay_seconds: float = 0
    ) -> list[str]:
        """Send many messages (in requests of 10); returns their ids in order."""


def clamp_delay(seconds: float) -> int:
    """Whole seconds in 0..900: rounded up, then clamped."""
    if seconds is None or seconds <= 0 or math.isnan(seconds):
        return 0
    return min(MAX_DELAY_SECONDS, math.ceil(seconds))


def encode_body(body: dict[str, Any]) -> str:
    """The JSON text of a message body; ``MessageTooLarge`` over 256 KiB."""
    if not isinstance(body, dict):
        raise TypeError("a message body is a dict")
    text = json.dumps(body, separators=(",", ":"), sort_keys=True)
    if len(text.encode("utf-8")) > MAX_MESSAGE_BYTES:
        raise MessageTooLarge("Message body exceeds 256 KiB")
    return text
