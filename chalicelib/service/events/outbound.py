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
from ..repositories.jobs import counted, job_done_write

__all__ = ["HANDLER", "run_send_event", "message_body", "message_headers", "publish_to"]

HANDLER = "send-event"


def message_body(
    event: registry.EventDefinition, payload: dict[str, Any], event_id: str
) -> dict[str, Any]:
    """The JSON object sent: the event's payload fields present in ``payload`` (header fields
    aside: ``message_headers``), its key as ``eventType`` and the job id as ``eventId``."""
    body = {
        name: payload[name]
        for name in event.payload
        if name in payload and name not in event.headers
    }
    return {"eventType": event.key, "eventId": event_id, **body}


def message_headers(event: registry.EventDefinition, payload: dict[str, Any]) -> dict[str, Any]:
    """The event's header fields present in ``payload``: an ``sqs`` channel sends them as
    message attributes; a topic or bus, which has no such place for them here, in the body."""
    return {name: payload[name] for name in event.headers if name in payload}


def publish_to(
    container: Services,
    channel: registry.ChannelDefinition,
    key: str,
    body: dict[str, Any],
    headers: dict[str, Any] | None = None,
) -> None:
    """Send ``body`` (an event of key ``key``) and its ``headers`` to an outbound channel of
    any type we run."""
    destination = str(channel.destination)
    if channel.type == "sqs":
        container.publisher.send(destination, body, attributes=headers or None)
        return
    try:
        container.notifier.publish(channel.type, destination, key, {**body, **(headers or {})})
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
    payload = configuration.get("payload") or {}
    body = message_body(event, payload, job.data["_id"])
    headers = message_headers(event, payload)
    sent = []
    for channel_key in configuration.get("channelKeys") or []:
        channel = registry.cached_channel(container, channel_key)
        if channel is None or channel.channel_type != "outbound":
            raise NotFound(f"No outbound channel '{channel_key}' is deployed")
        publish_to(container, channel, key, body, headers)
        sent.append(channel_key)
    container.store.transact(counted([job_done_write(job)]))
    return f"sent {key} to {', '.join(sent)}"
