"""The inbound events handler's decoding: the queue of a record and the partial batch answer."""

from __future__ import annotations

from chalicelib.workers.events import handle_batch, queue_of


def test_the_queue_is_the_last_part_of_the_event_source_arn():
    record = {"eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:wf-events"}
    assert queue_of(record, "default") == "wf-events"
    assert queue_of({}, "default") == "default"


def test_only_the_records_whose_handling_raised_are_reported():
    seen = []

    def receive(queue, message_id, body, attributes):
        seen.append((queue, message_id, body, attributes))
        if body == "boom":
            raise RuntimeError("storage unavailable")
        return "started 1"

    records = [
        {"messageId": "a", "body": "{}", "messageAttributes": {"h": {"stringValue": "v"}}},
        {"messageId": "b", "body": "boom"},
        {"messageId": "c", "body": "x", "eventSourceARN": "arn:aws:sqs:r:1:other"},
    ]
    assert handle_batch(records, "events", receive) == {
        "batchItemFailures": [{"itemIdentifier": "b"}]
    }
    assert seen == [
        ("events", "a", "{}", {"h": {"stringValue": "v"}}),
        ("events", "b", "boom", {}),
        ("other", "c", "x", {}),
    ]
