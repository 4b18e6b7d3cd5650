"""In-memory ``Publisher``: records what was sent, for tests (``drain`` takes it out)."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .ports import clamp_delay, encode_body

__all__ = ["SentMessage", "MemoryPublisher"]


@dataclass(frozen=True)
class SentMessage:
    """One recorded message (the body went through JSON, as on SQS)."""

    queue: str
    body: dict[str, Any]
    delay_seconds: int
    message_id: str
    attributes: dict[str, Any] = field(default_factory=dict)


class MemoryPublisher:
    """A thread-safe ``messaging.ports.Publisher`` that keeps messages per queue."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, list[SentMessage]] = {}

    def send(
        self,
        queue_name: str,
        body: dict[str, Any],
        *,
        delay_seconds: float = 0,
        attributes: Mapping[str, Any] | None = None,
    ) -> str:
        """Record one message (with its attributes); returns its id."""
        message = SentMessage(
            queue_name,
            json.loads(encode_body(body)),
            clamp_delay(delay_seconds),
            str(uuid.uuid4()),
            dict(attributes or {}),
        )
        with self._lock:
            self._queues.setdefault(queue_name, []).append(message)
        return message.message_id

    def send_batch(
        self, queue_name: str, bodies: Sequence[dict[str, Any]], *, delay_seconds: float = 0
    ) -> list[str]:
        """Record many messages; returns their ids in order."""
        delay = clamp_delay(delay_seconds)
        sent = [
            SentMessage(queue_name, json.loads(encode_body(body)), delay, str(uuid.uuid4()))
            for body in bodies
        ]
        with self._lock:
            self._queues.setdefault(queue_name, []).extend(sent)
        return [message.message_id for message in sent]

    def messages(self, queue_name: str) -> list[SentMessage]:
        """The messages waiting in ``queue_name`` (left in place)."""
        with self._lock:
            return list(self._queues.get(queue_name, []))

    def drain(self, queue_name: str) -> list[SentMessage]:
        """Take every message out of ``queue_name``, oldest first."""
        with self._lock:
            return self._queues.pop(queue_name, [])
