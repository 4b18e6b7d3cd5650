"""Flowable's event-registry test files (read from ``../shared``) and the JSON definitions the
Java tests build with ``createEventModelBuilder`` / ``createInboundChannelModelBuilder``."""

from __future__ import annotations

import json

from tests.support.env import CORPUS

EVENTREGISTRY = CORPUS / "flowable-integration" / "eventregistry"


def corpus_file(name: str) -> str:
    return (EVENTREGISTRY / name).read_text(encoding="utf-8")


def consumer_bpmn(method: str) -> str:
    return corpus_file(f"BpmnEventRegistryConsumerTest.{method}.bpmn20.xml")


def event_json(key: str, correlation=(), payload=()) -> str:
    """A ``.event`` resource: ``correlation``/``payload`` are ``(name, type)`` pairs."""
    return json.dumps(
        {
            "key": key,
            "name": key,
            "correlationParameters": [{"name": n, "type": t} for n, t in correlation],
            "payload": [{"name": n, "type": t} for n, t in payload],
        }
    )


def inbound_channel_json(key: str = "test-channel", **detection) -> str:
    """An inbound SQS channel (``simpleChannel.channel`` with type ``sqs`` instead of jms)."""
    data = json.loads(corpus_file("simpleChannel.channel"))
    data.update(key=key, type="sqs", destination=None)
    data.pop("destination")
    data["channelEventKeyDetection"] = detection or {"jsonField": "type"}
    return json.dumps(data)


#: ``BpmnEventRegistryConsumerTest.registerEventDefinition``: myEvent, customerId/orderId
#: correlation, payload1/payload2 (and the test channel detecting the key from ``type``)
MY_EVENT = event_json(
    "myEvent",
    correlation=[("customerId", "string"), ("orderId", "string")],
    payload=[("payload1", "string"), ("payload2", "integer")],
)
