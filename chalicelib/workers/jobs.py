"""The SQS handler of the jobs queue: decode each record and run the job it names.

A message is a wake-up, never the truth (DESIGN.md §4): ``{"type": "job", "jobId": "<id>"}``
names a job item in DynamoDB. The job service loads it; a duplicate or late message finds no job
and is acknowledged without effect. A record that cannot be decoded, or whose job fails, is
reported in ``batchItemFailures`` so that SQS delivers it again (after the visibility timeout)
and finally moves it to the queue's dead-letter queue. The message itself is
``messaging.job_message``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..messaging.job_message import MessageError, decode

__all__ = ["handle_batch"]

log = logging.getLogger("workflow.workers.jobs")


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
