"""The SQS handler of inbound event-registry channels: each record is one event.

A record's message attributes carry the ``.event``'s header fields. A record's queue is the
last part of its ``eventSourceARN`` (the events queue, or a channel's
own ``destination`` queue wired to the same function). ``receive(queue, message_id, body)``
(``service.events.inbound``) handles it: poison is recorded there and acknowledged; a record
whose handling raises is reported in ``batchItemFailures``, so SQS delivers it again and, after
``maxReceiveCount`` receives, moves it to the queue's dead-letter queue.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["handle_batch", "queue_of"]

log = logging.getLogger("workflow.workers.events")


def queue_of(record: Mapping[str, Any], default: str) -> str:
    """The queue name of an SQS record (``default`` when the record names none)."""
    arn = record.get("eventSourceARN") or ""
    return arn.rsplit(":", 1)[-1] if arn else default


def handle_batch(
    records: Iterable[Mapping[str, Any]],
    default_queue: str,
    receive: Callable[[str, str, str, Mapping[str, Any]], str],
) -> dict:
    """Handle every record; return Lambda's partial batch response."""
    failures = []
    for record in records:
        message_id = record.get("messageId", "?")
        queue = queue_of(record, default_queue)
        try:
            attributes = record.get("messageAttributes") or {}
            outcome = receive(queue, message_id, record.get("body") or "", attributes)
        except Exception:
            log.exception("inbound event %s on %s failed", message_id, queue)
            failures.append({"itemIdentifier": message_id})
            continue
        log.info("inbound event %s on %s: %s", message_id, queue, outcome)
    return {"batchItemFailures": failures}
