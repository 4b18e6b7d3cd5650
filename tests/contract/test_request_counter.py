"""The botocore request counter sees pynamodb's calls and our own clients' calls."""

from __future__ import annotations

import threading

from chalicelib import aws
from chalicelib.messaging.sqs import SqsPublisher
from chalicelib.storage.aggregate import HEADER_SK, AggregateStore
from chalicelib.storage.dynamo import DynamoItemStore
from chalicelib.storage.ports import Item, Put, Table


def test_load_and_commit_is_one_query_and_one_transaction(moto_backend):
    settings = moto_backend
    aggregates = AggregateStore(DynamoItemStore(settings, lock=aws.moto_lock()))
    aggregates.commit(
        "inst", 0, [Item("inst", HEADER_SK, "header", {"n": 0}), Item("inst", "task#1", "task")]
    )
    with aws.counting() as counter:
        loaded = aggregates.load("inst")
        aggregates.commit(
            "inst",
            loaded.version,
            [Item("inst", "var#a", "var")],
            deletes=["task#1"],
            previous=loaded,
            side_writes=[Put(Table.HISTORY, Item("inst", "act#1", "activity"))],
        )
    assert counter.counts == {"dynamodb": {"Query": 1, "TransactWriteItems": 1}}
    assert counter.total() == 2 and counter.total("sqs") == 0


def test_counts_sqs_and_can_count_one_thread_only(moto_backend):
    settings = moto_backend
    publisher = SqsPublisher(settings)
    store = DynamoItemStore(settings, lock=aws.moto_lock())
    with aws.counting() as everything, aws.counting(current_thread_only=True) as mine:
        publisher.send(settings.jobs_queue, {"jobId": "j"})
        worker = threading.Thread(target=lambda: store.get(Table.RUNTIME, "p", "s"))
        worker.start()
        worker.join()
    assert everything.counts == {
        "sqs": {"GetQueueUrl": 1, "SendMessage": 1},
        "dynamodb": {"GetItem": 1},
    }
    assert mine.counts == {"sqs": {"GetQueueUrl": 1, "SendMessage": 1}}
    with aws.counting() as after:
        pass
    assert after.counts == {}
