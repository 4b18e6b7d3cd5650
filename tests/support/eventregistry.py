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


def channel_json() -> str:
    """``setupTestChannel``: json deserializer, event key from the field ``type``."""
    return inbound_channel_json("test-channel", jsonField="type")


def event_subprocess_bpmn(method: str) -> str:
    return corpus_file(f"EventRegistryEventSubprocessTest.{method}.bpmn20.xml")


def deploy_consumer(
    container, method: str, *, source: str | None = None, extra=None, bpmn: str | None = None
) -> str:
    """Deploy ``BpmnEventRegistryConsumerTest.<method>`` (or ``bpmn``) with myEvent and the
    test channel."""
    from chalicelib.service.definitions import deploy as deployments

    resources = {"myEvent.event": MY_EVENT, "testChannel.channel": channel_json(), **(extra or {})}
    result = deployments.deploy(
        container,
        source=source or f"file:{method}",
        name=method,
        bpmn={f"{method}.bpmn20.xml": bpmn or consumer_bpmn(method)},
        resources=resources,
    )
    return result.definition_ids[0]


def event_body(customer_id=None, order_id=None, **extra) -> dict:
    """``TestInboundEventChannelAdapter.triggerTestEvent``'s JSON."""
    body = {"type": "myEvent", "payload1": "Hello World", "payload2": 42}
    if customer_id is not None:
        body["customerId"] = customer_id
    if order_id is not None:
        body["orderId"] = order_id
    return {**body, **extra}


def queue_url(container, queue: str | None = None) -> str:
    from chalicelib import aws

    name = queue or container.settings.events_queue
    return aws.client("sqs").get_queue_url(QueueName=name)["QueueUrl"]


def send(container, body, queue: str | None = None) -> str:
    """SendMessage to the events queue (``body``: a dict as JSON, or raw text)."""
    from chalicelib import aws

    text = body if isinstance(body, str) else json.dumps(body)
    return aws.client("sqs").send_message(QueueUrl=queue_url(container, queue), MessageBody=text)[
        "MessageId"
    ]


def sqs_event(messages, queue: str) -> dict:
    """The event Lambda's SQS trigger passes the function for received ``messages``."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {
                    name: {"stringValue": a.get("StringValue"), "dataType": a.get("DataType")}
                    for name, a in (m.get("MessageAttributes") or {}).items()
                },
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{queue}",
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


def deliver(client, container, *, queue: str | None = None, delete: bool = True) -> list[dict]:
    """Receive what the events queue holds and invoke the handler as Lambda would (Chalice's
    ``client.lambda_.invoke``); delete the records it did not report failed. Returns the
    responses' ``batchItemFailures``."""
    from chalicelib import aws

    sqs = aws.client("sqs")
    name = queue or container.settings.events_queue
    url = queue_url(container, name)
    failures: list[dict] = []
    for _ in range(20):
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            return failures
        response = client.lambda_.invoke("on_event_message", sqs_event(messages, name))
        failed = {f["itemIdentifier"] for f in response.payload["batchItemFailures"]}
        failures.extend(response.payload["batchItemFailures"])
        for m in messages:
            if delete and m["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        if failed:
            return failures
    return failures


def trigger(client, container, **kwargs) -> None:
    """``triggerTestEvent(customerId, orderId)`` through SQS and the Lambda handler."""
    send(container, event_body(**kwargs))
    assert deliver(client, container) == []


def subscriptions(container, activity_id: str | None = None) -> list[dict]:
    """The runtime subscriptions to myEvent of the running instances, optionally of one
    activity, each checked to be in its ``event-sort`` index partition (the event type's, or
    its correlation values' when it expects some)."""
    from chalicelib.service.repositories.instance_reads import running_listing
    from chalicelib.storage.ports import Index, Table

    store = container.store
    found = []
    for header in running_listing(store).items:
        for item in store.query(Table.RUNTIME, header.pk, sk_prefix="sub#").items:
            if item.data.get("event_name") != "eventRegistry:myEvent":
                continue
            listed = store.query_index(Table.RUNTIME, Index.EVENT_SORT, item.index["event"])
            assert item.sk in {i.sk for i in listed.items if i.pk == item.pk}
            if activity_id is None or item.data["activity_id"] == activity_id:
                found.append(item.data)
    return found


def instances_of(container, definition_id: str) -> int:
    from chalicelib.service.definitions.deploy import running_instances

    return running_instances(container, definition_id)


def complete_task(container, instance_id: str, key: str, first: bool = False) -> None:
    """Complete the open task ``key`` of an instance (``first``: the first of several)."""
    from chalicelib.engine.runtime import CompleteTask
    from chalicelib.service import unit_of_work as instances

    state = instances.load_instance(container, instance_id)
    found = sorted(t.id for t in state.tasks.values() if t.task_definition_key == key)
    if not first:
        assert len(found) == 1, found
    task_id = found[0]
    instances.run_command(
        container, lambda uow: (uow.load(instance_id), CompleteTask(task_id, {}, None))[1]
    )


def instance_ids(container, definition_id: str) -> list[str]:
    from chalicelib.service.repositories.instance_reads import instance_lookup

    return [i.pk for i in instance_lookup(container.store, "pdi", definition_id).items]


def trigger_with(client, container, body: dict) -> None:
    """Send ``body`` to the events queue and handle it as Lambda would."""
    send(container, body)
    assert deliver(client, container) == []


def variables(container, instance_id: str) -> dict:
    from tests.support.executions import variables as instance_variables

    return instance_variables(container, instance_id)
