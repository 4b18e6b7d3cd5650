"""Deploying ``.event``/``.channel`` resources and BPMN naming ``flowable:eventType``: refused
with the field or the event key named, or accepted and stored with the deployment."""

from __future__ import annotations

import json

import pytest

from chalicelib.service.definitions import deploy as deployments
from chalicelib.service.definitions import event_registry
from chalicelib.service.definitions.errors import InvalidDeployment
from tests.support.eventregistry import MY_EVENT, consumer_bpmn, inbound_channel_json


def _deploy(container, bpmn: str, resources=None, source="model:m"):
    return deployments.deploy(
        container, source=source, name="t", bpmn={"p.bpmn20.xml": bpmn}, resources=resources
    )


def _errors(exc) -> list[dict]:
    return exc.value.detail["errors"]


def test_a_start_event_naming_an_undefined_event_type_is_refused_naming_the_key(container, corpus):
    with pytest.raises(InvalidDeployment) as exc:
        _deploy(container, consumer_bpmn("testProcessStartNoCorrelationParameter"))
    [problem] = _errors(exc)
    assert problem["problem"] == "unknown-event-type"
    assert problem["eventKey"] == "myEvent" and problem["activityId"] == "theStart"
    assert "myEvent" in str(exc.value)


def test_the_event_definition_in_the_deployment_makes_it_deployable_and_is_stored(
    container, corpus
):
    result = _deploy(
        container,
        consumer_bpmn("testProcessStartNoCorrelationParameter"),
        {"myEvent.event": MY_EVENT, "test.channel": inbound_channel_json()},
    )
    assert result.definition_ids
    event = event_registry.find_event(container.store, "myEvent")
    assert event is not None and event.correlation == {"customerId": "string", "orderId": "string"}
    [channel] = event_registry.inbound_channels(container.store)
    assert channel.key == "test-channel" and channel.key_detection == ("jsonField", "type")


def test_an_event_already_deployed_serves_a_later_model(container, corpus):
    _deploy(container, consumer_bpmn("testProcessStartWithPayload"), {"e.event": MY_EVENT})
    result = _deploy(
        container, consumer_bpmn("testReceiveEventTaskNoCorrelation"), source="model:other"
    )
    assert result.definition_ids


def test_deleting_the_deployment_removes_its_definitions(container, corpus):
    result = _deploy(
        container,
        consumer_bpmn("testProcessStartWithPayload"),
        {"e.event": MY_EVENT, "c.channel": inbound_channel_json()},
    )
    deployments.delete_deployment(container, result.definition_ids[0])
    assert event_registry.find_event(container.store, "myEvent") is None
    assert event_registry.inbound_channels(container.store) == []
    with pytest.raises(InvalidDeployment):
        _deploy(container, consumer_bpmn("testProcessStartWithPayload"), source="model:n")


@pytest.mark.parametrize(
    ("resource", "text", "field"),
    [
        ("e.event", "{not json", "$"),
        ("e.event", json.dumps({"name": "x"}), "key"),
        (
            "e.event",
            json.dumps({"key": "k", "payload": [{"name": "a", "type": "map"}]}),
            "payload[0].type",
        ),
        (
            "e.event",
            json.dumps({"key": "k", "correlationParameters": [{"type": "string"}]}),
            "correlationParameters[0].name",
        ),
        (
            "c.channel",
            json.dumps(
                {
                    "key": "c",
                    "channelType": "inbound",
                    "type": "jms",
                    "channelEventKeyDetection": {"fixedValue": "e"},
                }
            ),
            "type",
        ),
        (
            "c.channel",
            json.dumps(
                {
                    "key": "c",
                    "channelType": "inbound",
                    "type": "sns",
                    "channelEventKeyDetection": {"fixedValue": "e"},
                }
            ),
            "type",
        ),
        (
            "c.channel",
            json.dumps(
                {
                    "key": "c",
                    "channelType": "inbound",
                    "type": "sqs",
                    "destination": "some-other-queue",
                    "channelEventKeyDetection": {"fixedValue": "e"},
                }
            ),
            "destination",
        ),
        (
            "c.channel",
            json.dumps({"key": "c", "channelType": "sideways", "type": "sqs"}),
            "channelType",
        ),
        (
            "c.channel",
            json.dumps({"key": "c", "channelType": "inbound", "type": "sqs"}),
            "channelEventKeyDetection",
        ),
        (
            "c.channel",
            json.dumps(
                {
                    "key": "c",
                    "channelType": "inbound",
                    "type": "sqs",
                    "channelEventKeyDetection": {"xmlXPathExpression": "/a"},
                }
            ),
            "channelEventKeyDetection.xmlXPathExpression",
        ),
        (
            "c.channel",
            json.dumps(
                {
                    "key": "c",
                    "channelType": "inbound",
                    "type": "sqs",
                    "deserializerType": "xml",
                    "channelEventKeyDetection": {"fixedValue": "e"},
                }
            ),
            "deserializerType",
        ),
        (
            "c.channel",
            json.dumps({"key": "c", "channelType": "outbound", "type": "sqs"}),
            "destination",
        ),
        (
            "c.channel",
            json.dumps(
                {"key": "c", "channelType": "outbound", "type": "kafka", "destination": "q"}
            ),
            "type",
        ),
    ],
)
def test_a_definition_we_would_not_run_is_refused_naming_the_field(
    container, corpus, resource, text, field
):
    with pytest.raises(InvalidDeployment) as exc:
        _deploy(
            container,
            consumer_bpmn("testProcessStartWithPayload"),
            {"myEvent.event": MY_EVENT, resource: text},
        )
    [problem] = _errors(exc)
    assert problem["field"] == field and problem["resourceName"] == resource


def test_outbound_sns_and_eventbridge_channels_deploy(container, corpus):
    channels = {
        f"{t}.channel": json.dumps(
            {"key": t, "channelType": "outbound", "type": t, "destination": f"arn:{t}"}
        )
        for t in ("sqs", "sns", "eventbridge")
    }
    _deploy(
        container, consumer_bpmn("testProcessStartWithPayload"), {"e.event": MY_EVENT, **channels}
    )
    found = {
        t: event_registry.find_channel(container.store, t) for t in ("sqs", "sns", "eventbridge")
    }
    assert {t: c.type for t, c in found.items() if c} == {t: t for t in found}


def test_the_model_route_answers_400_naming_the_event_key(client, container, corpus):
    from tests.support.rest import expect, post

    stored = expect(
        post(
            client,
            "model?_action=create",
            {
                "name": "evt",
                "bpmnXML": consumer_bpmn("testProcessStartWithPayload"),
                "resourceMap": {"other.event": json.dumps({"key": "other"})},
            },
        ),
        201,
    )
    refused = expect(post(client, f"model/{stored['_id']}?_action=deploy"), 400, "myEvent")
    assert refused["detail"]["errors"][0]["eventKey"] == "myEvent"


def test_the_merge_template_adds_the_events_queue_its_dlq_and_partial_batch_responses():
    from chalicelib.deploy.template import TABLE_SETTINGS, merge_template

    environment = {setting: f"t-{table.name}" for table, setting in TABLE_SETTINGS.items()}
    environment |= {"WORKFLOW_JOBS_QUEUE": "wf-jobs", "WORKFLOW_EVENTS_QUEUE": "wf-events"}
    resources = merge_template(environment)["Resources"]
    assert resources["EventsQueue"]["Properties"]["QueueName"] == "wf-events"
    assert resources["EventsDeadLetterQueue"]["Properties"]["QueueName"] == "wf-events-dlq"
    source = resources["OnEventMessage"]["Properties"]["Events"]["OnEventMessageSqsEventSource"]
    assert source["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_an_expression_in_a_process_start_correlation_is_refused(container, corpus):
    bpmn = consumer_bpmn("testProcessStartSimpleCorrelationParameter").replace(
        'value="testCustomer"', 'value="${customer}"'
    )
    with pytest.raises(InvalidDeployment) as exc:
        _deploy(container, bpmn, {"myEvent.event": MY_EVENT})
    [problem] = _errors(exc)
    assert problem["problem"] == "start-correlation-expression"


def test_an_expression_in_an_event_sub_process_start_correlation_deploys(container, corpus):
    from tests.support.eventregistry import corpus_file

    bpmn = corpus_file("EventRegistryEventSubprocessTest.testInterruptingSubProcess.bpmn20.xml")
    assert "${" in bpmn
    assert _deploy(container, bpmn, {"myEvent.event": MY_EVENT}).definition_ids
