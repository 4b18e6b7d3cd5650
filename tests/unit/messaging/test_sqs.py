"""The SQS publisher under moto."""

from __future__ import annotations

import json

import pytest

from chalicelib import aws, errors
from chalicelib.messaging.ports import Publisher
from chalicelib.messaging.sqs import SqsPublisher, create_queues


@pytest.fixture
def sqs(settings):
    from moto import mock_aws

    with mock_aws():
        aws.reset_clients()
        create_queues(settings)
        yield aws.client("sqs", settings.region)
        aws.reset_clients()


def receive(sqs, url: str, count: int) -> list[dict]:
    bodies: list[dict] = []
    for _ in range(count):
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        )
        if not messages:
            break
        bodies.extend(json.loads(m["Body"]) for m in messages)
    return bodies


def test_send_and_delay(sqs, settings):
    publisher = SqsPublisher(settings)
    assert isinstance(publisher, Publisher)
    message_id = publisher.send(settings.jobs_queue, {"jobId": "j1"})
    assert message_id
    url = publisher.queue_url(settings.jobs_queue)
    assert receive(sqs, url, 1) == [{"jobId": "j1"}]
    publisher.send(settings.jobs_queue, {"jobId": "later"}, delay_seconds=30)
    assert receive(sqs, url, 1) == []  # not visible before its delay


def test_batches_are_sent_ten_at_a_time(sqs, settings):
    publisher = SqsPublisher(settings)
    publisher.queue_url(settings.jobs_queue)
    with aws.counting() as counter:
        ids = publisher.send_batch(settings.jobs_queue, [{"n": n} for n in range(23)])
    assert len(ids) == 23 and all(ids)
    assert counter.counts == {"sqs": {"SendMessageBatch": 3}}  # URL cached: no GetQueueUrl
    got = receive(sqs, publisher.queue_url(settings.jobs_queue), 10)
    assert sorted(b["n"] for b in got) == list(range(23))
    assert publisher.send_batch(settings.jobs_queue, []) == []


def test_queues_have_redrive_to_dead_letter_queue(sqs, settings):
    again = create_queues(settings)  # idempotent
    attributes = sqs.get_queue_attributes(
        QueueUrl=again[settings.jobs_queue], AttributeNames=["All"]
    )["Attributes"]
    dlq_arn = sqs.get_queue_attributes(
        QueueUrl=again[settings.jobs_dead_letter_queue], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == dlq_arn
    assert int(redrive["maxReceiveCount"]) == 5
    assert attributes["VisibilityTimeout"] == "60"


def test_missing_queue_is_service_unavailable(sqs, settings):
    with pytest.raises(errors.ServiceUnavailable):
        SqsPublisher(settings).send("no-such-queue", {"x": 1})
