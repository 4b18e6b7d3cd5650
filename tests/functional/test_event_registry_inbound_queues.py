"""Inbound channels on a queue of their own (issue 14): ``WORKFLOW_INBOUND_QUEUES`` names the
queues the deploy template wires to the inbound events function besides the events queue; an
inbound channel's ``destination`` may be one of them (any other is refused at deploy), and an
event arriving there is read by that channel only."""

from __future__ import annotations

import dataclasses
import json

import pytest

from chalicelib.service.definitions.errors import InvalidDeployment
from tests.support.eventregistry import (
    deploy_consumer,
    event_body,
    inbound_channel_json,
    instances_of,
    sqs_event,
)

HR_QUEUE = "wf-test-hr-in"


def _channel(destination: str) -> str:
    data = json.loads(inbound_channel_json("test-channel", jsonField="type"))
    return json.dumps({**data, "destination": destination})


@pytest.fixture
def hr_queue(container, monkeypatch):
    from chalicelib import aws

    monkeypatch.setattr(
        container,
        "settings",
        dataclasses.replace(container.settings, inbound_queues=(HR_QUEUE,)),
    )
    return aws.client("sqs").create_queue(QueueName=HR_QUEUE)["QueueUrl"]


def _deliver(url: str, queue: str, body: dict) -> dict:
    from chalicelib import aws
    from chalicelib.workers import entry

    sqs = aws.client("sqs")
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    return entry.on_event_message(sqs_event(messages, queue))


def test_a_channel_on_a_listed_queue_deploys_and_reads_its_events_there(
    container, corpus, hr_queue
):
    definition = deploy_consumer(
        container,
        "testProcessStartNoCorrelationParameter",
        extra={"testChannel.channel": _channel(HR_QUEUE)},
    )
    assert _deliver(hr_queue, HR_QUEUE, event_body()) == {"batchItemFailures": []}
    assert instances_of(container, definition) == 1


def test_the_events_queue_no_longer_reaches_a_channel_on_its_own_queue(container, corpus, hr_queue):
    """The same event on the events queue finds no channel listening there: poison (recorded
    as an ``inbound-event`` dead-letter job), no instance."""
    from chalicelib import aws

    definition = deploy_consumer(
        container,
        "testProcessStartNoCorrelationParameter",
        extra={"testChannel.channel": _channel(HR_QUEUE)},
    )
    url = aws.client("sqs").get_queue_url(QueueName=container.settings.events_queue)["QueueUrl"]
    assert _deliver(url, container.settings.events_queue, event_body()) == {"batchItemFailures": []}
    assert instances_of(container, definition) == 0


def test_a_channel_on_an_unlisted_queue_is_refused_naming_the_setting(container, corpus):
    with pytest.raises(InvalidDeployment) as exc:
        deploy_consumer(
            container,
            "testProcessStartNoCorrelationParameter",
            extra={"testChannel.channel": _channel("someone-elses-queue")},
        )
    problems = [
        p for p in exc.value.detail["errors"] if p["problem"] == "invalid-channel-definition"
    ]
    assert problems and problems[0]["field"] == "destination"
    assert "WORKFLOW_INBOUND_QUEUES" in problems[0]["defaultDescription"]


def test_the_template_wires_each_listed_queue_to_the_events_function_only():
    from chalicelib.deploy.names import Function
    from chalicelib.deploy.policies import function_policy, queue_arn
    from chalicelib.deploy.template import TABLE_SETTINGS, merge_template

    environment = {setting: f"t-{table.name}" for table, setting in TABLE_SETTINGS.items()}
    environment |= {
        "WORKFLOW_JOBS_QUEUE": "wf-jobs",
        "WORKFLOW_EVENTS_QUEUE": "wf-events",
        "WORKFLOW_INBOUND_QUEUES": "hr-in, payments-in",
    }
    resources = merge_template(environment)["Resources"]
    events = resources["OnEventMessage"]["Properties"]["Events"]
    wired = {
        name: source["Properties"]
        for name, source in events.items()
        if name.startswith("InboundQueue")
    }
    assert [p["Queue"] for p in wired.values()] == [queue_arn("hr-in"), queue_arn("payments-in")]
    assert all(p["FunctionResponseTypes"] == ["ReportBatchItemFailures"] for p in wired.values())
    assert "hr-in" not in json.dumps(resources.get("OnJobMessage", {}))
    queues = ("hr-in", "payments-in")
    for function in Function:
        document = function_policy(function, inbound_queues=queues)
        receivers = [
            r
            for s in document["Statement"]
            if "sqs:ReceiveMessage" in s["Action"]
            for r in s["Resource"]
        ]
        if function is Function.EVENTS:
            assert queue_arn("hr-in") in receivers and queue_arn("payments-in") in receivers
        else:
            assert queue_arn("hr-in") not in receivers
