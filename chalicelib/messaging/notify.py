"""The notification port: publish one JSON event to an SNS topic or an EventBridge event bus
(outbound ``sns`` and ``eventbridge`` channels of the event registry,
``service/events/outbound.py``). The adapter is ``aws_notify`` (botocore)."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["Notifier", "NotificationNotSent", "SNS", "EVENTBRIDGE"]

SNS = "sns"
EVENTBRIDGE = "eventbridge"


class NotificationNotSent(Exception):
    """The topic or bus refused or could not take the event; the text is the reason (an error
    code and message, never the event's body)."""


@runtime_checkable
class Notifier(Protocol):
    """Publishes JSON events to topics and buses."""

    def publish(self, kind: str, destination: str, detail_type: str, body: dict[str, Any]) -> str:
        """Publish ``body`` to the ``kind`` (``sns`` or ``eventbridge``) ``destination`` (a
        topic ARN; an event bus name or ARN), typed ``detail_type`` (the event key: SNS's
        ``eventType`` message attribute, EventBridge's ``detail-type``); returns the message or
        event id. :class:`NotificationNotSent` when it is not published."""
