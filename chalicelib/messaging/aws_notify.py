"""``Notifier`` over Amazon SNS (``Publish``) and EventBridge (``PutEvents``) with plain botocore
clients, built on first use in the stage's region. Every failure, a failed EventBridge entry
included, becomes :class:`NotificationNotSent`."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .. import aws
from ..settings import Settings
from .notify import EVENTBRIDGE, SNS, NotificationNotSent

__all__ = ["AwsNotifier", "EVENT_SOURCE"]

#: EventBridge ``source`` of the events the service publishes
EVENT_SOURCE = "workflow"


class AwsNotifier:
    """``messaging.notify.Notifier`` over SNS and EventBridge."""

    def __init__(self, settings: Settings):
        self._settings = settings

    def _client(self, service: str) -> Any:
        settings = self._settings
        return aws.client(service, settings.region, settings.endpoint_url)

    def publish(self, kind: str, destination: str, detail_type: str, body: dict[str, Any]) -> str:
        text = json.dumps(body, separators=(",", ":"), default=str)
        try:
            if kind == SNS:
                answer = self._client("sns").publish(
                    TopicArn=destination,
                    Message=text,
                    MessageAttributes={
                        "eventType": {"DataType": "String", "StringValue": detail_type}
                    },
                )
                return str(answer.get("MessageId", ""))
            if kind == EVENTBRIDGE:
                answer = self._client("events").put_events(
                    Entries=[
                        {
                            "Source": EVENT_SOURCE,
                            "DetailType": detail_type,
                            "Detail": text,
                            "EventBusName": destination,
                        }
                    ]
                )
                [entry] = answer.get("Entries") or [{}]
                if answer.get("FailedEntryCount") or "EventId" not in entry:
                    code = entry.get("ErrorCode", "Failed")
                    raise NotificationNotSent(f"{code}: {entry.get('ErrorMessage', '')[:300]}")
                return str(entry["EventId"])
        except ClientError as exc:
            error = exc.response.get("Error", {})
            message = str(error.get("Message", ""))[:300]
            raise NotificationNotSent(f"{error.get('Code', 'Error')}: {message}") from None
        except BotoCoreError as exc:
            raise NotificationNotSent(type(exc).__name__) from None
        raise NotificationNotSent(f"channel type '{kind}' is not published to")
