"""Flowable's ``SendEventTaskTest.testSendEvent`` over SQS: the send event task's event is an
outbox job written with the command's commit; the jobs worker publishes it to the outbound
channel's queue (moto)."""

from __future__ import annotations

import json

import pytest

from chalicelib.service.definitions import deploy as deployments
from chalicelib.service.definitions.errors import InvalidDeployment
from tests.support.eventregistry import complete_task, corpus_file, event_json
from tests.support.executions import drain, start, tasks

OUT_QUEUE = "wf-test-out"
SEND_EVENT = event_json("myEvent", payload=[("eventProperty", "string")])


def _out_channel(type_: str = "sqs") -> str:
    return json.dumps(
        {"key": "out-channel", "channelType": "outbound", "type": type_, "destination": OUT_QUEUE}
    )


def _deploy(container, method: str, channel: str | None = None) -> str:
    return deployments.deploy(
        container,
        source=f"file:{method}",
        name=method,
        bpmn={"p.bpmn20.xml": corpus_file(f"SendEventTaskTest.{method}.bpmn20.xml")},
        resources={"myEvent.event": SEND_EVENT, "out.channel": channel or _out_channel()},
    ).definition_ids[0]


def _received(queue_url: str) -> list[dict]:
    from chalicelib import aws

    messages = aws.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


@pytest.fixture
def out_queue(container, corpus):
    from chalicelib import aws

    return aws.client("sqs").create_queue(QueueName=OUT_QUEUE)["QueueUrl"]


def test_send_event(container, out_queue):
    definition = _deploy(container, "testSendEvent")
    instance = start(container, definition, {"test": "Hello World"})
    assert tasks(container, instance) == ["task"]
    assert _received(out_queue) == []

    complete_task(container, instance, "task")
    assert tasks(container, instance) == ["taskAfter"]  # the task did not wait
    drain(container)  # the outbox job, after the commit
    [body] = _received(out_queue)
    assert body["eventType"] == "myEvent" and body["eventProperty"] == "Hello World"
    assert body["eventId"]
    drain(container)
    assert _received(out_queue) == []  # sent once


def _subscribed_queue(name: str) -> tuple[str, str]:
    """A queue of its own: ``(url, arn)``."""
    from chalicelib import aws

    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


def test_send_event_to_an_sns_topic(container, corpus):
    """An ``sns`` channel's destination is a topic ARN: the event is the message, its key the
    ``eventType`` attribute (read here through an SQS subscription of the topic)."""
    from chalicelib import aws

    topic = aws.client("sns").create_topic(Name="wf-test-out-topic")["TopicArn"]
    url, arn = _subscribed_queue("wf-test-out-topic-reader")
    aws.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    channel = json.dumps(
        {"key": "out-channel", "channelType": "outbound", "type": "sns", "destination": topic}
    )
    definition = _deploy(container, "testSendEvent", channel)
    instance = start(container, definition, {"test": "Hello World"})
    complete_task(container, instance, "task")
    drain(container)
    [envelope] = _received(url)
    assert envelope["TopicArn"] == topic
    assert envelope["MessageAttributes"]["eventType"]["Value"] == "myEvent"
    body = json.loads(envelope["Message"])
    assert body["eventType"] == "myEvent" and body["eventProperty"] == "Hello World"


def test_send_event_to_an_eventbridge_bus(container, corpus):
    """An ``eventbridge`` channel's destination is a bus: the event is the ``detail``, its key
    the ``detail-type``, ``workflow`` the ``source`` (read here through a rule's SQS target)."""
    from chalicelib import aws

    events = aws.client("events")
    events.create_event_bus(Name="wf-test-out-bus")
    url, arn = _subscribed_queue("wf-test-out-bus-reader")
    events.put_rule(
        Name="all",
        EventBusName="wf-test-out-bus",
        EventPattern=json.dumps({"source": ["workflow"]}),
    )
    events.put_targets(
        Rule="all", EventBusName="wf-test-out-bus", Targets=[{"Id": "reader", "Arn": arn}]
    )
    channel = json.dumps(
        {
            "key": "out-channel",
            "channelType": "outbound",
            "type": "eventbridge",
            "destination": "wf-test-out-bus",
        }
    )
    definition = _deploy(container, "testSendEvent", channel)
    instance = start(container, definition, {"test": "Hello World"})
    complete_task(container, instance, "task")
    drain(container)
    [event] = _received(url)
    assert event["source"] == "workflow" and event["detail-type"] == "myEvent"
    assert event["detail"]["eventProperty"] == "Hello World"


def test_a_publish_the_topic_refuses_fails_the_job_naming_the_channel(container, corpus):
    from chalicelib.service.jobs import actions as jobs
    from tests.support.executions import job_items

    channel = json.dumps(
        {
            "key": "out-channel",
            "channelType": "outbound",
            "type": "sns",
            "destination": "arn:aws:sns:us-east-1:123456789012:no-such-topic",
        }
    )
    definition = _deploy(container, "testSendEvent", channel)
    instance = start(container, definition, {"test": "x"})
    complete_task(container, instance, "task")
    [job] = [j for j in job_items(container, instance) if j.data["jobHandlerType"] == "send-event"]
    outcome = jobs.execute(container, job.data["_id"])
    assert outcome["status"] == "failed" and "out-channel" in outcome["exceptionMessage"]


def test_an_sns_channel_needs_a_topic_arn(container, corpus):
    with pytest.raises(InvalidDeployment) as exc:
        _deploy(container, "testSendEvent", _out_channel("sns"))
    problems = {(p["problem"], p.get("field")) for p in exc.value.detail["errors"]}
    assert ("invalid-channel-definition", "destination") in problems


def test_a_send_event_task_naming_an_unknown_channel_is_refused_at_deploy(container, corpus):
    with pytest.raises(InvalidDeployment) as exc:
        deployments.deploy(
            container,
            source="file:x",
            name="x",
            bpmn={"p.bpmn20.xml": corpus_file("SendEventTaskTest.testSendEvent.bpmn20.xml")},
            resources={"myEvent.event": SEND_EVENT},
        )
    [problem] = exc.value.detail["errors"]
    assert problem["problem"] == "unknown-channel"


TRIGGER_EVENT = event_json("myTriggerEvent", correlation=[("customerId", "string")])


def _deploy_triggerable(container, method: str) -> str:
    from tests.support.eventregistry import inbound_channel_json

    return deployments.deploy(
        container,
        source=f"file:{method}",
        name=method,
        bpmn={"p.bpmn20.xml": corpus_file(f"SendEventTaskTest.{method}.bpmn20.xml")},
        resources={
            "myEvent.event": SEND_EVENT,
            "myTriggerEvent.event": TRIGGER_EVENT,
            "out.channel": _out_channel(),
            "in.channel": inbound_channel_json("in-channel", jsonField="type"),
        },
    ).definition_ids[0]


def test_triggerable_send_event(client, container, out_queue):
    from tests.support.eventregistry import trigger_with, variables

    definition = _deploy_triggerable(container, "testTriggerableSendEvent")
    instance = start(container, definition, {"test": "Hello World"})
    complete_task(container, instance, "task")
    assert tasks(container, instance) == []  # waits at the send event task for the reply
    drain(container)
    [body] = _received(out_queue)
    assert body["eventProperty"] == "Hello World"

    trigger_with(client, container, {"type": "myTriggerEvent", "customerId": "testCustomer"})
    assert tasks(container, instance) == ["taskAfter"]
    assert variables(container, instance)["anotherVariable"] == "testCustomer"


def test_triggerable_send_event_with_correlation(client, container, out_queue):
    from tests.support.eventregistry import trigger_with

    definition = _deploy_triggerable(container, "testTriggerableSendEventWithCorrelation")
    kermit = start(container, definition, {"test": "a", "customerIdVar": "kermit"})
    gonzo = start(container, definition, {"test": "b", "customerIdVar": "gonzo"})
    complete_task(container, kermit, "task")
    complete_task(container, gonzo, "task")
    drain(container)
    assert len(_received(out_queue)) == 2

    trigger_with(client, container, {"type": "myTriggerEvent", "customerId": "fozzie"})
    assert (tasks(container, kermit), tasks(container, gonzo)) == ([], [])
    trigger_with(client, container, {"type": "myTriggerEvent", "customerId": "gonzo"})
    assert (tasks(container, kermit), tasks(container, gonzo)) == ([], ["taskAfter"])
    trigger_with(client, container, {"type": "myTriggerEvent", "customerId": "kermit"})
    assert tasks(container, kermit) == ["taskAfter"]


def test_send_event_with_expressions(container, out_queue):
    another = event_json(
        "anotherEvent", payload=[("nameProperty", "string"), ("numberProperty", "integer")]
    )
    definition = deployments.deploy(
        container,
        source="file:expr",
        name="expr",
        bpmn={
            "p.bpmn20.xml": corpus_file("SendEventTaskTest.testSendEventWithExpressions.bpmn20.xml")
        },
        resources={"anotherEvent.event": another, "out.channel": _out_channel()},
    ).definition_ids[0]
    instance = start(container, definition, {"name": "Kermit", "accountNumber": 123})
    complete_task(container, instance, "task")
    drain(container)
    [body] = _received(out_queue)
    assert (body["eventType"], body["nameProperty"], body["numberProperty"]) == (
        "anotherEvent",
        "Kermit",
        123,
    )


@pytest.mark.parametrize(
    "method", ["testParallelMultiInstanceSendEvent", "testSequentialMultiInstanceSendEvent"]
)
def test_multi_instance_send_event_sends_one_event_per_instance(container, out_queue, method):
    definition = _deploy(container, method)
    instance = start(container, definition, {"test": "Hello World"})
    complete_task(container, instance, "task")
    assert tasks(container, instance) == ["taskAfter"]
    drain(container)
    bodies = _received(out_queue)
    assert [b["eventProperty"] for b in bodies] == ["Hello World"] * 3
    assert len({b["eventId"] for b in bodies}) == 3


@pytest.mark.parametrize(("skip", "sent"), [(True, 0), (False, 1)])
def test_send_event_skip_expression(container, out_queue, skip, sent):
    definition = _deploy(container, "testSendEventSkipExpression")
    instance = start(
        container,
        definition,
        {"test": "Hello World", "_FLOWABLE_SKIP_EXPRESSION_ENABLED": True, "skipExpression": skip},
    )
    complete_task(container, instance, "task")
    assert tasks(container, instance) == ["taskAfter"]
    drain(container)
    assert len(_received(out_queue)) == sent


def test_a_send_failure_after_the_commit_is_retried_from_the_outbox(
    container, out_queue, monkeypatch
):
    from chalicelib.service.jobs import actions as jobs
    from tests.support.executions import job_items

    definition = _deploy(container, "testSendEvent")
    instance = start(container, definition, {"test": "Hello World"})
    complete_task(container, instance, "task")
    [job] = job_items(container, instance)
    assert job.data["jobHandlerType"] == "send-event"
    real = container.publisher.send
    calls = []

    def failing_once(queue, body, **kwargs):
        calls.append(queue)
        if len(calls) == 1:
            raise ConnectionError("SQS unavailable")
        return real(queue, body, **kwargs)

    monkeypatch.setattr(container.publisher, "send", failing_once)
    first = jobs.execute(container, job.data["_id"])
    assert first["status"] == "failed" and "SQS unavailable" in first["exceptionMessage"]
    assert _received(out_queue) == []
    assert jobs.execute(container, job.data["_id"])["status"] == "executed"
    [body] = _received(out_queue)
    assert body["eventProperty"] == "Hello World"
    assert job_items(container, instance) == []


def test_send_event_with_headers(container, out_queue):
    """SendEventTaskTest.testSendEventWithHeadersSynchronously: payload fields marked
    ``"header": true`` go out as the SQS message's attributes (a number as a Number), the
    others in the body."""
    from chalicelib import aws

    event = json.loads(
        event_json(
            "myEvent",
            payload=[
                ("headerProperty1", "string"),
                ("headerProperty2", "integer"),
                ("eventProperty", "string"),
            ],
        )
    )
    event["payload"][0]["header"] = True
    event["payload"][1]["header"] = True
    definition = deployments.deploy(
        container,
        source="file:headers",
        name="headers",
        bpmn={
            "p.bpmn20.xml": corpus_file(
                "SendEventTaskTest.testSendEventWithHeadersSynchronously.bpmn20.xml"
            )
        },
        resources={"myEvent.event": json.dumps(event), "out.channel": _out_channel()},
    ).definition_ids[0]
    instance = start(container, definition, {"test": "Hello World", "headerValue": 123})
    complete_task(container, instance, "task")
    drain(container)
    [message] = aws.client("sqs").receive_message(
        QueueUrl=out_queue, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )["Messages"]
    body = json.loads(message["Body"])
    assert body["eventProperty"] == "Hello World"
    assert "headerProperty1" not in body and "headerProperty2" not in body
    attributes = message["MessageAttributes"]
    assert attributes["headerProperty1"] == {"StringValue": "Hello World", "DataType": "String"}
    assert attributes["headerProperty2"] == {"StringValue": "123", "DataType": "Number"}
