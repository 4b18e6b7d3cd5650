"""Flowable's ``.event``/``.channel`` JSON and the BPMN elements naming an event type."""

from __future__ import annotations

import json

import pytest

from chalicelib.service.definitions.event_registry import (
    DefinitionError,
    event_references,
    parse_channel,
    parse_event,
)


def test_an_event_reads_correlation_parameters_and_payload_fields():
    event = parse_event(
        json.dumps(
            {
                "key": "invoicePaid",
                "correlationParameters": [{"name": "invoice", "type": "string"}],
                "payload": [
                    {"name": "amount", "type": "double"},
                    {"name": "customer", "type": "string", "correlationParameter": True},
                ],
            }
        )
    )
    assert event.correlation == {"invoice": "string", "customer": "string"}
    assert event.payload == {"amount": "double", "customer": "string", "invoice": "string"}
    assert parse_event(json.dumps(event.to_json())) == event


def test_an_event_takes_at_most_four_correlation_parameters():
    """Each inbound event reads one index partition per subset of its correlation values
    (``event_registry.event_lookup``): 16 at most, refused beyond at deploy."""

    def event(count: int) -> str:
        fields = [{"name": f"c{n}", "type": "string"} for n in range(count)]
        return json.dumps({"key": "wide", "correlationParameters": fields})

    assert len(parse_event(event(4)).correlation) == 4
    with pytest.raises(DefinitionError) as exc:
        parse_event(event(5))
    assert exc.value.field == "correlationParameters"
    assert "at most 4" in str(exc.value)


def test_the_corpus_channel_is_refused_for_its_jms_type_and_runs_as_sqs(corpus):
    text = (corpus / "flowable-integration/eventregistry/simpleChannel.channel").read_text()
    with pytest.raises(DefinitionError) as exc:
        parse_channel(text)
    assert exc.value.field == "type"
    data = json.loads(text) | {"type": "sqs"}
    data.pop("destination")
    channel = parse_channel(json.dumps(data))
    assert channel.key_detection == ("fixedValue", "myEvent")


def test_a_json_pointer_must_start_with_a_slash():
    data = {
        "key": "c",
        "channelType": "inbound",
        "type": "sqs",
        "channelEventKeyDetection": {"jsonPointerExpression": "meta/type"},
    }
    with pytest.raises(DefinitionError) as exc:
        parse_channel(json.dumps(data))
    assert exc.value.field == "channelEventKeyDetection.jsonPointerExpression"


def test_references_name_the_element_and_the_event_key(corpus):
    name = "BpmnEventRegistryConsumerTest.testBoundaryEventListenerWithCorrelation.bpmn20.xml"
    text = (corpus / "flowable-integration/eventregistry" / name).read_text()
    refs = event_references(name, text)
    assert [(r.element, r.activity_id, r.event_key) for r in refs] == [
        ("boundaryEvent", "eventBoundary", "myEvent")
    ]
