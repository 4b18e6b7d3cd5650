"""The message on the jobs queue: a wake-up that names a job item, never the job itself.

``{"type": "job", "jobId": "<id>", "v": 1}`` (DESIGN.md §4). The job service sends it
(``encode``) and the jobs-queue handler reads it (``decode``); the truth is the job item in
DynamoDB, so a duplicate or late message finds no job and does nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["MESSAGE_VERSION", "JobMessage", "MessageError", "encode", "decode"]

MESSAGE_VERSION = 1


class MessageError(ValueError):
    """A record whose body is not a job message."""


@dataclass(frozen=True)
class JobMessage:
    """The body of a message on the jobs queue."""

    job_id: str

    def to_body(self) -> dict[str, Any]:
        """The JSON body to publish."""
        return {"type": "job", "jobId": self.job_id, "v": MESSAGE_VERSION}


def encode(job_id: str) -> dict[str, Any]:
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
