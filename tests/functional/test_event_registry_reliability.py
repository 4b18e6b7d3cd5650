"""Inbound events over SQS: one effect per message (redelivery, ``idempotencyKey``), partial
batch failures, and poison messages in the dead-letter listing with their reason."""

from __future__ import annotations

import json

import pytest

from tests.support.eventregistry import (
    deliver,
    deploy_consumer,
    event_body,
    inbound_channel_json,
    instances_of,
    send,
    sqs_event,
    trigger,
)
from tests.support.rest import ADMIN, WF


@pytest.fixture(autouse=True)
def _corpus(corpus):
    return corpus


def _dead_letters(client) -> list[dict]:
    response = client.http.get(f"{WF}/job/deadletter?_queryFilter=true", headers=ADMIN)
    assert response.status_code == 200, response.body
    return json.loads(response.body)["result"]


def _receive(container, count=10):
    from chalicelib import aws
    from tests.support.eventregistry import queue_url

    sqs = aws.client("sqs")
    return sqs.receive_message(
        QueueUrl=queue_url(container), MaxNumberOfMessages=count, VisibilityTimeout=0
    ).get("Messages", [])


def test_the_same_message_delivered_twice_has_one_effect(client, container):
    definition = deploy_consumer(container, "testProcessStartNoCorrelationParameter")
    send(container, event_body())
    [message] = _receive(container)
    queue = container.settings.events_queue
    for _ in range(2):  # SQS at-least-once: the same record again
        response = client.lambda_.invoke("on_event_message", sqs_event([message], queue))
        assert response.payload == {"batchItemFailures": []}
    assert instances_of(container, definition) == 1


def test_an_idempotency_key_field_makes_two_messages_one_effect(client, container):
    definition = deploy_consumer(container, "testProcessStartNoCorrelationParameter")
    send(container, event_body(idempotencyKey="hire-42"))
    send(container, event_body(idempotencyKey="hire-42"))
    send(container, event_body(idempotencyKey="hire-43"))
    assert deliver(client, container) == []
    assert instances_of(container, definition) == 2


def test_a_correlated_delivery_redelivered_moves_the_instance_once(client, container):
    from tests.support.executions import start, tasks

    definition = deploy_consumer(container, "testIntermediateCatchEventNoCorrelation")
    instance = start(container, definition)
    send(container, event_body())
    [message] = _receive(container)
    queue = container.settings.events_queue
    for _ in range(2):
        response = client.lambda_.invoke("on_event_message", sqs_event([message], queue))
        assert response.payload == {"batchItemFailures": []}
    assert tasks(container, instance) == ["taskAfterTask"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("this is not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        (json.dumps({"type": "noSuchEvent"}), "unknown event key 'noSuchEvent'"),
        (json.dumps({"payload1": "x"}), "no event key found"),
        (json.dumps(event_body(payload2="many")), "payload field 'payload2'"),
    ],
)
def test_a_poison_message_is_dead_lettered_with_its_reason_and_body(
    client, container, body, reason
):
    deploy_consumer(container, "testProcessStartNoCorrelationParameter")
    send(container, body)
    assert deliver(client, container) == []  # acknowledged: never retried by SQS
    [dead] = _dead_letters(client)
    assert reason in dead["exceptionMessage"]
    assert dead["jobHandlerType"] == "inbound-event"
    assert dead["jobHandlerConfiguration"]["body"] == body
    assert _receive(container) == []


def test_no_match_is_poison_only_when_the_channel_requires_a_match(client, container):
    channel = json.loads(inbound_channel_json("test-channel", jsonField="type"))
    channel["requireMatch"] = True
    deploy_consumer(
        container,
        "testIntermediateCatchEventNoCorrelation",
        extra={"testChannel.channel": json.dumps(channel)},
    )
    trigger(client, container)  # nobody waits: dead-lettered, acknowledged
    [dead] = _dead_letters(client)
    assert "matched no start event and no waiting execution" in dead["exceptionMessage"]


def test_no_match_without_require_match_is_dropped(client, container):
    deploy_consumer(container, "testIntermediateCatchEventNoCorrelation")
    trigger(client, container)
    assert _dead_letters(client) == []


def test_a_failing_record_is_reported_alone(client, container, monkeypatch):
    from chalicelib.service.events import inbound

    definition = deploy_consumer(container, "testProcessStartNoCorrelationParameter")
    real = inbound.receive

    def flaky(container_, queue, message_id, body, attributes=None):
        if "boom" in body:
            raise RuntimeError("storage unavailable")
        return real(container_, queue, message_id, body, attributes)

    monkeypatch.setattr(inbound, "receive", flaky)
    send(container, event_body())
    send(container, event_body(payload1="boom"))
    messages = _receive(container)
    response = client.lambda_.invoke(
        "on_event_message", sqs_event(messages, container.settings.events_queue)
    )
    [failed] = [m["MessageId"] for m in messages if "boom" in m["Body"]]
    assert response.payload == {"batchItemFailures": [{"itemIdentifier": failed}]}
    assert instances_of(container, definition) == 1


def test_a_dead_lettered_event_runs_again_once_its_definition_is_deployed(client, container):
    from chalicelib.service.definitions import deploy as deployments
    from chalicelib.service.jobs import actions as jobs
    from tests.support.eventregistry import MY_EVENT, consumer_bpmn

    deployments.deploy(
        container,
        source="model:channel-only",
        name="channel",
        bpmn={"p.bpmn20.xml": consumer_bpmn("testProcessStartNoCorrelationParameter")},
        resources={
            "myEvent.event": MY_EVENT,
            "c.channel": inbound_channel_json("test-channel", jsonField="type"),
        },
    )
    from chalicelib import aws
    from tests.support.eventregistry import queue_url

    aws.client("sqs").send_message(
        QueueUrl=queue_url(container),
        MessageBody=json.dumps({"type": "laterEvent", "customerId": "c"}),
        MessageAttributes={"region": {"DataType": "String", "StringValue": "emea"}},
    )
    assert deliver(client, container) == []
    [dead] = _dead_letters(client)
    assert "unknown event key 'laterEvent'" in dead["exceptionMessage"]
    # its header values are kept with it (a header field of laterEvent reads them on re-run)
    assert dead["jobHandlerConfiguration"]["headers"] == {"region": "emea"}
    later = json.dumps(
        {"key": "laterEvent", "correlationParameters": [{"name": "customerId", "type": "string"}]}
    )
    bpmn = (
        consumer_bpmn("testProcessStartNoCorrelationParameter")
        .replace(">myEvent<", ">laterEvent<")
        .replace('id="process"', 'id="later"')
    )
    result = deployments.deploy(
        container,
        source="model:later",
        name="later",
        bpmn={"l.bpmn20.xml": bpmn},
        resources={"laterEvent.event": later},
    )
    moved = client.http.post(
        f"{WF}/job/deadletter/{dead['_id']}?_action=execute",
        headers={**ADMIN, "Content-Type": "application/json"},
        body="{}",
    )
    assert moved.status_code == 200, moved.body
    assert jobs.run_job(container, dead["_id"])
    assert instances_of(container, result.definition_ids[0]) == 1


def test_concurrent_duplicate_deliveries_have_one_effect_each(container):
    """40 events, each sent twice (SQS at-least-once, or a sender's retry with the same
    ``idempotencyKey``), handled by 8 concurrent invocations: 40 instances."""
    from concurrent.futures import ThreadPoolExecutor

    from chalicelib.workers import entry

    definition = deploy_consumer(container, "testProcessStartNoCorrelationParameter")
    bodies = [json.dumps(event_body(idempotencyKey=f"event-{i}")) for i in range(40)] * 2
    queue = container.settings.events_queue
    records = [
        {
            "messageId": f"m-{n}",
            "body": body,
            "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{queue}",
        }
        for n, body in enumerate(bodies)
    ]
    batches = [records[i::8] for i in range(8)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda b: entry.on_event_message({"Records": b}), batches))
    assert all(a == {"batchItemFailures": []} for a in answers)
    assert instances_of(container, definition) == 40


def test_dynamodb_requests_per_inbound_event(container):
    """Warm worker, the issue's goals: a start is one Query (the key's partition: its start
    events and its subscriptions) and one transaction; a correlation adds the instance's
    Query (load, then commit)."""
    from chalicelib import aws
    from chalicelib.service.events import inbound
    from tests.support.executions import start

    queue = container.settings.events_queue
    deploy_consumer(container, "testProcessStartNoCorrelationParameter")
    inbound.receive(container, queue, "warm", json.dumps(event_body()))
    with aws.counting() as counter:
        inbound.receive(container, queue, "m-1", json.dumps(event_body()))
    assert counter.counts["dynamodb"] == {"Query": 1, "TransactWriteItems": 1}

    definition = deploy_consumer(container, "testIntermediateCatchEventNoCorrelation")
    inbound.receive(container, queue, "warm-2", json.dumps({"type": "nothing"}))  # poison: warms
    instance = start(container, definition)
    inbound.receive(container, queue, "warm-3", json.dumps(event_body()))
    start(container, definition)
    del instance
    with aws.counting() as counter:
        inbound.receive(container, queue, "m-2", json.dumps(event_body()))
    assert counter.counts["dynamodb"] == {"Query": 2, "TransactWriteItems": 1}


def test_events_from_16_concurrent_senders_each_have_exactly_one_effect(container):
    """``EVENTS_LOAD_N`` events (64; the issue's figure is 1,000) from 16 sender threads, each
    event sent twice (a sender's retry: same ``idempotencyKey``), handled by 4 concurrent
    workers that receive from the queue as Lambda's poller does: one instance per event."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    from chalicelib import aws
    from chalicelib.workers import entry
    from tests.support.eventregistry import queue_url

    total = int(os.environ.get("EVENTS_LOAD_N", "64"))
    definition = deploy_consumer(container, "testProcessStartNoCorrelationParameter")
    sqs = aws.client("sqs")
    url = queue_url(container)
    queue = container.settings.events_queue

    def sender(index: int) -> None:
        for n in range(index, total, 16):
            body = json.dumps(event_body(idempotencyKey=f"load-{n}"))
            sqs.send_message(QueueUrl=url, MessageBody=body)
            sqs.send_message(QueueUrl=url, MessageBody=body)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(sender, range(16)))

    seen: list[str] = []

    def worker(_: int) -> int:
        handled = 0
        idle = 0
        while idle < 2:
            messages = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60
            ).get("Messages", [])
            if not messages:
                idle += 1
                continue
            idle = 0
            answer = entry.on_event_message(sqs_event(messages, queue))
            failed = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
            assert not failed
            for m in messages:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            seen.extend(m["MessageId"] for m in messages)
            handled += len(messages)
        return handled

    with ThreadPoolExecutor(4) as pool:
        handled = sum(pool.map(worker, range(4)))
    # SQS delivers at least once (moto's receive, like the real one, may hand one message to
    # two concurrent receivers): every message was handled, some maybe twice, and still each
    # event had exactly one effect.
    assert len(set(seen)) == 2 * total
    assert handled >= 2 * total
    assert instances_of(container, definition) == total


def test_an_event_costs_the_same_however_many_subscriptions_wait_on_its_type(container):
    """Bounded work per request: the events sample's receive task waits for
    ``accountApproved`` with ``userName`` = the hired user. With 2 instances waiting, then 12
    (each for another user), the event for one user costs the same: the event type's
    partition (start events, uncorrelated subscriptions) and the partition of its
    ``userName`` (1 Query each), the instance's load (1 Query) and the delivery (1
    transaction); it never reads the other users' subscriptions."""
    from chalicelib import aws
    from chalicelib.service.definitions import deploy as deployments
    from chalicelib.service.events import inbound
    from tests.support.env import REPO

    sample = REPO / "workflow" / "events"
    deployments.deploy(
        container,
        source="file:events",
        name="events",
        bpmn={"contractorHired.bpmn20.xml": (sample / "contractorHired.bpmn20.xml").read_text()},
        resources={
            p.name: p.read_text() for p in sample.iterdir() if p.suffix in (".event", ".channel")
        },
    )
    queue = container.settings.events_queue

    def event(key: str, user: str, message_id: str) -> inbound.Outcome:
        body = {"eventType": key, "userName": user, "mail": "m", "startDate": "d"}
        return inbound.receive(container, queue, message_id, json.dumps(body))

    def approval_requests(user: str, message_id: str) -> dict[str, int]:
        with aws.counting() as counter:
            outcome = event("accountApproved", user, message_id)
        assert len(outcome.delivered) == 1
        return dict(counter.counts["dynamodb"])

    for n in range(3):
        assert len(event("contractorHired", f"small-{n}", f"h-s{n}").started) == 1
    approval_requests("small-0", "warm")  # warms the definition caches
    small = approval_requests("small-1", "a-small")
    for n in range(10):
        event("contractorHired", f"large-{n}", f"h-l{n}")

    large = approval_requests("large-7", "a-large")

    assert small == large == {"Query": 3, "TransactWriteItems": 1}
