"""The SQS handler of the jobs queue: decode each record and run the job it names.

A message is a wake-up, never the truth (DESIGN.md §4): ``{"type": "job", "jobId": "<id>"}``
names a job item in DynamoDB. The job service loads it; a duplicate or late message finds no job
and is acknowledged without effect. A record that cannot be decoded, or whose job fails, is
reported in ``batchItemFailures`` so that SQS delivers it again (after the visibility timeout)
and finally moves it to the queue's dead-letter queue.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["JobMessage", "decode", "encode", "handle_batch", "MessageError"]

log = logging.getLogger("workflow.workers.jobs")

MESSAGE_VERSION = 1


class MessageError(ValueError):
    """A record whose body is not a job message."""


@dataclass(frozen=True)
class JobMessage:
    """The body of a message on the jobs queue."""

    job_id: str

    def to_body(self) -> dict:
        return {"type": "job", "jobId": self.job_id, "v": MESSAGE_VERSION}


def encode(job_id: str) -> dict:
    """The message body that wakes up job ``job_id``."""
    return JobMessage(job_id).to_body()


def decode(body: str) -> JobMessage:
    """Parse a record body; raises ``MessageError`` naming what is wrong."""
    try:
        data = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise MessageError(f"body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise MessageError("body is not a JSON object")
    if data.get("type") != "job":
        raise MessageError(f"unknown message type {data.get('type')!r}")
    job_id = data.get("jobId")
    if not isinstance(job_id, str) or not job_id:
        raise MessageError("jobId is missing")
    return JobMessage(job_id)


def handle_batch(records: Iterable[Mapping[str, Any]], run_job: Callable[[str], str]) -> dict:
    """Run the job of every record; return Lambda's partial batch response.

    ``run_job(job_id)`` returns a short outcome for the log (``executed``, ``absent``, ...) and
    raises when the job could not be run, in which case the record is reported as failed.
    """
    failures = []
    for record in records:
        message_id = record.get("messageId", "?")
        try:
            message = decode(record.get("body", ""))
        except MessageError as exc:
            log.warning("message %s rejected: %s", message_id, exc)
            failures.append({"itemIdentifier": message_id})
            continue
        try:
            outcome = run_job(message.job_id)
        except Exception:  # the job service already recorded what it could
            log.exception("job %s (message %s) failed", message.job_id, message_id)
            failures.append({"itemIdentifier": message_id})
            continue
        log.info("job %s: %s (message %s)", message.job_id, outcome, message_id)
    return {"batchItemFailures": failures}
