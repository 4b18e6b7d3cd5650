"""moto's transactions snapshot each table once, copy no whole table (``chalicelib.local.moto_fixes``),
and still roll back (a failed ``Update`` too: it changes its item in place)."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from chalicelib.local import moto_fixes


@pytest.fixture
def table():
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        )
        yield client


def put(n: int, **extra) -> dict:
    return {"Put": {"TableName": "t", "Item": {"pk": {"S": f"k{n}"}}, **extra}}


def test_a_transaction_snapshots_its_table_once_and_deep_copies_no_table(table, monkeypatch):
    from moto.dynamodb import models

    copies, snapshots = [], []
    real_copy, real_snapshot = moto_fixes.copy.deepcopy, moto_fixes._snapshot

    def counting(value, memo=None):
        if isinstance(value, models.Table):
            copies.append(value.name)
        return real_copy(value, memo)

    def snapshot(value, operations):
        snapshots.append(value.name)
        return real_snapshot(value, operations)

    monkeypatch.setattr(moto_fixes.copy, "deepcopy", counting)
    monkeypatch.setattr(moto_fixes, "_snapshot", snapshot)
    table.transact_write_items(TransactItems=[put(n) for n in range(50)])
    assert snapshots == ["t"] and copies == []
    assert table.scan(TableName="t")["Count"] == 50


def test_a_failed_transaction_still_rolls_back(table):
    table.put_item(TableName="t", Item={"pk": {"S": "k7"}})
    items = [put(n) for n in range(10)]
    items[7] = put(7, ConditionExpression="attribute_not_exists(pk)")
    with pytest.raises(ClientError) as failed:
        table.transact_write_items(TransactItems=items)
    assert failed.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert [i["pk"]["S"] for i in table.scan(TableName="t")["Items"]] == ["k7"]


def test_a_failed_transaction_rolls_back_an_update_and_a_delete(table):
    for n in (1, 2):
        table.put_item(TableName="t", Item={"pk": {"S": f"k{n}"}, "v": {"N": "1"}})
    update = {
        "Update": {
            "TableName": "t",
            "Key": {"pk": {"S": "k1"}},
            "UpdateExpression": "SET v = :two",
            "ExpressionAttributeValues": {":two": {"N": "2"}},
        }
    }
    delete = {"Delete": {"TableName": "t", "Key": {"pk": {"S": "k2"}}}}
    check = {
        "ConditionCheck": {
            "TableName": "t",
            "Key": {"pk": {"S": "k9"}},
            "ConditionExpression": "attribute_exists(pk)",
        }
    }
    with pytest.raises(ClientError):
        table.transact_write_items(TransactItems=[update, delete, check])
    items = {i["pk"]["S"]: i["v"]["N"] for i in table.scan(TableName="t")["Items"]}
    assert items == {"k1": "1", "k2": "1"}


def test_sending_counts_no_message_and_the_queue_attributes_still_count(monkeypatch):
    from moto.sqs import models

    moto_fixes.install()
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="q")["QueueUrl"]
        counted = []
        real = models.Queue.messages

        def counting(queue):
            counted.append(queue.name)
            return real.fget(queue)

        monkeypatch.setattr(models.Queue, "messages", property(counting))
        for n in range(5):
            sqs.send_message(QueueUrl=url, MessageBody=str(n))
        assert counted == []
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert attributes["ApproximateNumberOfMessages"] == "5" and counted
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        assert sorted(m["Body"] for m in received) == ["0", "1", "2", "3", "4"]


@pytest.fixture
def ranged():
    moto_fixes.install()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="r",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "g", "d")
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by-g",
                    "KeySchema": [
                        {"AttributeName": "g", "KeyType": "HASH"},
                        {"AttributeName": "d", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        )
        for p in ("b", "a", "c"):
            for s in ("2", "1", "3"):
                item = {"pk": {"S": p}, "sk": {"S": s}}
                if s != "3":
                    item.update(g={"S": "G"}, d={"S": "same" if p != "c" else "0"})
                client.put_item(TableName="r", Item=item)
        yield client


def test_a_partition_query_reads_its_partition_in_range_order(ranged, monkeypatch):
    from moto.dynamodb.models import table as tables

    sorted_all = []
    monkeypatch.setattr(
        tables, "sorted", lambda *a, **k: sorted_all.append(1) or sorted(*a, **k), raising=False
    )
    answer = ranged.query(
        TableName="r",
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "b"}},
    )
    assert [(i["pk"]["S"], i["sk"]["S"]) for i in answer["Items"]] == [
        ("b", "1"),
        ("b", "2"),
        ("b", "3"),
    ]
    assert sorted_all == []  # the table's items were not sorted to find them
    backwards = ranged.query(
        TableName="r",
        KeyConditionExpression="pk = :p AND sk > :s",
        ExpressionAttributeValues={":p": {"S": "a"}, ":s": {"S": "1"}},
        ScanIndexForward=False,
    )
    assert [i["sk"]["S"] for i in backwards["Items"]] == ["3", "2"]
    assert ranged.scan(TableName="r")["Count"] == 9


def test_an_index_query_keeps_its_order_index_keys_then_table_keys(ranged):
    pages, start = [], None
    while True:
        kwargs = {"ExclusiveStartKey": start} if start else {}
        answer = ranged.query(
            TableName="r",
            IndexName="by-g",
            KeyConditionExpression="g = :g",
            ExpressionAttributeValues={":g": {"S": "G"}},
            Limit=2,
            **kwargs,
        )
        pages += [(i["d"]["S"], i["pk"]["S"], i["sk"]["S"]) for i in answer["Items"]]
        start = answer.get("LastEvaluatedKey")
        if not start:
            break
    assert pages == [
        ("0", "c", "1"),
        ("0", "c", "2"),
        ("same", "a", "1"),
        ("same", "a", "2"),
        ("same", "b", "1"),
        ("same", "b", "2"),
    ]


#: an item holding every kind of attribute value, nested ones too
EVERY_KIND = {
    "pk": {"S": "p"},
    "sk": {"S": "1"},
    "s": {"S": "text é"},
    "empty": {"S": ""},
    "n": {"N": "-12.50"},
    "b": {"B": b"\x00bytes"},
    "ss": {"SS": ["x", "y"]},
    "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": [b"a", b"\xff"]},
    "null": {"NULL": True},
    "t": {"BOOL": True},
    "f": {"BOOL": False},
    "m": {
        "M": {
            "s": {"S": "v"},
            "n": {"N": "3"},
            "b": {"B": b"in"},
            "l": {"L": [{"S": "a"}, {"N": "1"}, {"NULL": True}, {"M": {"x": {"BOOL": False}}}]},
        }
    },
    "l": {"L": [{"SS": ["q"]}, {"B": b"z"}, {"L": []}, {"M": {}}]},
}


def test_attribute_values_serialize_as_the_generic_walk_does(ranged, monkeypatch):
    """The direct ``AttributeValue`` serialization writes the very bytes moto's generic walk
    writes, for every kind of value, in each reading operation."""
    from moto.core import serialize

    assert serialize.BaseJSONSerializer._serialize is not serialize.ResponseSerializer._serialize
    ranged.put_item(TableName="r", Item=EVERY_KIND)
    ranged.put_item(TableName="r", Item=dict(EVERY_KIND, sk={"S": "2"}, g={"S": "G"}))
    bodies: list[bytes] = []
    ranged.meta.events.register(
        "before-parse.dynamodb.*", lambda response_dict, **_: bodies.append(response_dict["body"])
    )
    key = {"pk": {"S": "p"}, "sk": {"S": "1"}}

    def read_everything() -> list:
        return [
            ranged.get_item(TableName="r", Key=key, ReturnConsumedCapacity="TOTAL"),
            ranged.query(
                TableName="r",
                KeyConditionExpression="pk = :p",
                ExpressionAttributeValues={":p": {"S": "p"}},
                Limit=1,
                ReturnConsumedCapacity="INDEXES",
            ),
            ranged.query(
                TableName="r",
                IndexName="by-g",
                KeyConditionExpression="g = :g",
                ExpressionAttributeValues={":g": {"S": "G"}},
            ),
            ranged.scan(TableName="r"),
            ranged.batch_get_item(RequestItems={"r": {"Keys": [key]}}),
            ranged.update_item(
                TableName="r",
                Key=key,
                UpdateExpression="SET n = :n",
                ExpressionAttributeValues={":n": {"N": "-12.50"}},
                ReturnValues="ALL_OLD",
            ),
        ]

    direct = read_everything()
    direct_bodies = list(bodies)
    bodies.clear()
    monkeypatch.setattr(
        serialize.BaseJSONSerializer, "_serialize", serialize.ResponseSerializer._serialize
    )
    walked = read_everything()
    assert bodies == direct_bodies
    for answer in (*direct, *walked):
        answer.pop("ResponseMetadata")
    assert direct == walked
    assert direct[0]["Item"] == EVERY_KIND
