"""Outbound events of the event registry: the runner of a send event task's outbox job.

The engine writes a ``send-event`` job in the same transaction as the state change that passed
the send event task (a transactional outbox): ``{eventType, channelKeys, payload}``. This
runner publishes the payload (the ``.event``'s payload fields, as one JSON object) to every
channel's ``destination`` queue, then deletes the job. A failed send raises: the job is
retried and finally dead-lettered like any job. Delivery is at least once: a crash between
the send and the job's deletion sends again (consumers deduplicate on the ``eventId`` field,
the job id).

An ``sqs`` channel's ``destination`` is a queue name (the body is the message); an ``sns``
channel's a topic ARN (the body is the message, the event key its ``eventType`` attribute); an
``eventbridge`` channel's an event bus name or ARN (the body is the event's ``detail``, the
event key its ``detail-type``, ``workflow`` its ``source``). SNS and EventBridge go through the
container's notifier (``messaging/notify.py``).
"""

from __future__ import annotations

from typing import Any

from ...errors import NotFound, ServiceUnavailable
from ...messaging.notify import NotificationNotSent
from ...storage.ports import Item
from ..container import Services
from ..definitions import event_registry as registry
from ..repositories.jobs import job_done_write

__all__ = ["HANDLER", "run_send_event", "message_body", "publish_to"]

HANDLER = "send-event"


def message_body(
    event: registry.EventDefinition, payload: dict[str, Any], event_id: str
) -> dict[str, Any]:
    """The JSON object sent: the event's payload fields present in ``payload``, its key as
    ``eventType`` and the job id as ``eventId``."""
    body = {name: payload[name] for name in event.payload if name in payload}
    return {"eventType": event.key, "eventId": event_id, **body}


def publish_to(
    container: Services, channel: registry.ChannelDefinition, key: str, body: dict[str, Any]
) -> None:
    """Send ``body`` (an event of key ``key``) to an outbound channel of any type we run."""
    destination = str(channel.destination)
    if channel.type == "sqs":
        container.publisher.send(destination, body)
        return
    try:
        container.notifier.publish(channel.type, destination, key, body)
    except NotificationNotSent as exc:
        raise ServiceUnavailable(
            f"The {channel.type} channel '{channel.key}' did not take the event: {exc}"
        ) from None


def run_send_event(container: Services, job: Item) -> str:
    """Publish the job's event to its channels, then delete the job."""
    configuration = job.data.get("jobHandlerConfiguration") or {}
    key = configuration.get("eventType") or ""
    event = registry.cached_event(container, key)
    if event is None:
        raise NotFound(f"No event definition with key '{key}' is deployed")
    body = message_body(event, configuration.get("payload") or {}, job.data["_id"])
    sent = []
    for channel_key in configuration.get("channelKeys") or []:
        channel = registry.cached_channel(container, channel_key)
        if channel is None or channel.channel_type != "outbound":
            raise NotFound(f"No outbound channel '{channel_key}' is deployed")
        publish_to(container, channel, key, body)
        sent.append(channel_key)
    container.store.transact([job_done_write(job)])
    return f"sent {key} to {', '.join(sent)}"
