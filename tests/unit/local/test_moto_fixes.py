"""moto's transactions copy each table once (``chalicelib.local.moto_fixes``), still roll back."""

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


def test_a_transaction_copies_its_table_once(table, monkeypatch):
    from moto.dynamodb import models

    copies = []
    real = moto_fixes.copy.deepcopy

    def counting(value, memo=None):
        if isinstance(value, models.Table):
            copies.append(value.name)
        return real(value, memo)

    monkeypatch.setattr(moto_fixes.copy, "deepcopy", counting)
    table.transact_write_items(TransactItems=[put(n) for n in range(50)])
    assert copies == ["t"]
    assert table.scan(TableName="t")["Count"] == 50


def test_a_failed_transaction_still_rolls_back(table):
    table.put_item(TableName="t", Item={"pk": {"S": "k7"}})
    items = [put(n) for n in range(10)]
    items[7] = put(7, ConditionExpression="attribute_not_exists(pk)")
    with pytest.raises(ClientError) as failed:
        table.transact_write_items(TransactItems=items)
    assert failed.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert [i["pk"]["S"] for i in table.scan(TableName="t")["Items"]] == ["k7"]
