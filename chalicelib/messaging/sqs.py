"""``Publisher`` over SQS with a plain botocore client (no boto3: cold start, see ``aws``).

Queue URLs are resolved once per queue name (GetQueueUrl) and cached for the container. Any SQS
failure becomes ``errors.ServiceUnavailable``; a batch with failed entries raises it after the
other entries were sent (the due-job sweep re-sends what was lost, DESIGN §4).

``create_queues`` makes the jobs queue and its dead-letter queue (local mode and tests; deploys
use the CloudFormation template with the same settings).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError

from .. import aws, errors
from ..settings import Settings
from .ports import clamp_delay, encode_body

__all__ = [
    "SqsPublisher",
    "message_attributes",
    "create_queues",
    "MAX_RECEIVE_COUNT",
    "VISIBILITY_TIMEOUT_SECONDS",
    "BATCH_SIZE",
]

log = logging.getLogger(__name__)

#: Receives before SQS moves a message to the dead-letter queue (undecodable messages only:
#: failing jobs are retried and dead-lettered by the job logic, DESIGN §4).
MAX_RECEIVE_COUNT = 5
#: Seconds a received message stays invisible; above the job handler's timeout.
VISIBILITY_TIMEOUT_SECONDS = 60
#: SendMessageBatch's limit.
BATCH_SIZE = 10
_DLQ_RETENTION_SECONDS = 14 * 24 * 3600


def message_attributes(attributes: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """SQS message attributes: a number (not a boolean) as ``Number``, anything else as a
    ``String`` (JSON text unless it is a string); None values are left out."""
    found: dict[str, dict[str, str]] = {}
    for name, value in attributes.items():
        if value is None:
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            found[name] = {"DataType": "Number", "StringValue": str(value)}
        else:
            text = value if isinstance(value, str) else json.dumps(value)
            found[name] = {"DataType": "String", "StringValue": text}
    return found


class SqsPublisher:
    """``messaging.ports.Publisher`` over SQS."""

    def __init__(self, settings: Settings, *, client: BaseClient | None = None):
        self._settings = settings
        self._client = client
        self._urls: dict[str, str] = {}
        self._lock = threading.Lock()

    def _sqs(self) -> BaseClient:
        if self._client is None:
            self._client = aws.client("sqs", self._settings.region, self._settings.endpoint_url)
        return self._client

    def queue_url(self, queue_name: str) -> str:
        """The URL of ``queue_name``, looked up once and cached."""
        url = self._urls.get(queue_name)
        if url is None:
            try:
                url = self._sqs().get_queue_url(QueueName=queue_name)["QueueUrl"]
            except (BotoCoreError, ClientError) as exc:
                raise _unavailable(exc, queue_name) from None
            with self._lock:
                self._urls[queue_name] = url
        return url

    def send(
        self,
        queue_name: str,
        body: dict[str, Any],
        *,
        delay_seconds: float = 0,
        attributes: Mapping[str, Any] | None = None,
    ) -> str:
        """Send one message (``delay_seconds`` rounded up to whole seconds, at most 900)."""
        text = encode_body(body)
        url = self.queue_url(queue_name)
        extra: dict[str, Any] = {}
        if attributes:
            extra["MessageAttributes"] = message_attributes(attributes)
        try:
            response = self._sqs().send_message(
                QueueUrl=url, MessageBody=text, DelaySeconds=clamp_delay(delay_seconds), **extra
            )
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable(exc, queue_name) from None
        return response["MessageId"]

    def send_batch(
        self, queue_name: str, bodies: Sequence[dict[str, Any]], *, delay_seconds: float = 0
    ) -> list[str]:
        """Send many messages in SendMessageBatch requests of 10; returns ids in order."""
        texts = [encode_body(body) for body in bodies]
        if not texts:
            return []
        url = self.queue_url(queue_name)
        delay = clamp_delay(delay_seconds)
        ids: list[str] = []
        failed: list[dict[str, Any]] = []
        for offset in range(0, len(texts), BATCH_SIZE):
            entries = [
                {"Id": str(n), "MessageBody": text, "DelaySeconds": delay}
                for n, text in enumerate(texts[offset : offset + BATCH_SIZE])
            ]
            try:
                response = self._sqs().send_message_batch(QueueUrl=url, Entries=entries)
            except (BotoCoreError, ClientError) as exc:
                raise _unavailable(exc, queue_name) from None
            by_id = {entry["Id"]: entry["MessageId"] for entry in response.get("Successful", [])}
            ids.extend(by_id.get(entry["Id"], "") for entry in entries)
            failed.extend(response.get("Failed", []))
        if failed:
            log.warning(
                "SQS rejected %d of %d messages to %s: %s",
                len(failed),
                len(texts),
                queue_name,
                failed[:3],
            )
            raise errors.ServiceUnavailable(
                "The message queue is unavailable; retry later",
                {"failed": len(failed), "sent": len(texts) - len(failed)},
            )
        return ids


def _unavailable(exc: Exception, queue_name: str) -> errors.ServiceUnavailable:
    log.warning("SQS call for queue %s failed: %s", queue_name, exc)
    return errors.ServiceUnavailable("The message queue is unavailable; retry later")


def create_queues(settings: Settings, *, client: BaseClient | None = None) -> dict[str, str]:
    """Create the jobs queue, the inbound events queue and their dead-letter queues if missing;
    returns name -> URL.

    Each gets a RedrivePolicy (``maxReceiveCount`` 5) to its dead-letter queue and a 60 s
    visibility timeout; the dead-letter queues keep messages 14 days.
    """
    sqs = client or aws.client("sqs", settings.region, settings.endpoint_url)
    urls: dict[str, str] = {}
    for name, dlq in (
        (settings.jobs_queue, settings.jobs_dead_letter_queue),
        (settings.events_queue, settings.events_dead_letter_queue),
    ):
        urls.update(_create_pair(sqs, name, dlq))
    return urls


def _create_pair(sqs: BaseClient, queue_name: str, dlq_name: str) -> dict[str, str]:
    dlq_url = sqs.create_queue(
        QueueName=dlq_name, Attributes={"MessageRetentionPeriod": str(_DLQ_RETENTION_SECONDS)}
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVE_COUNT)}
    )
    url = sqs.create_queue(
        QueueName=queue_name,
        Attributes={"VisibilityTimeout": str(VISIBILITY_TIMEOUT_SECONDS), "RedrivePolicy": redrive},
    )["QueueUrl"]
    return {queue_name: url, dlq_name: dlq_url}
