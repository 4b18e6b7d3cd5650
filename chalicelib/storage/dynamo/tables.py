"""Create the stage's four tables (local launcher and tests; deploys use the merge template).

Each table: hash ``pk``, range ``sk``, its sparse GSIs (projection ALL), PAY_PER_REQUEST billing
and TTL on ``expires``. Idempotent: existing tables are left as they are, indexes included:
``missing_indexes`` tells which indexes a table made by an older version lacks, ``add_index``
creates one in place (UpdateTable; DynamoDB backfills it from the items).
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

from pynamodb.exceptions import TableError

from ... import aws, errors
from ...settings import Settings
from ..ports import INDEXES, Index, Table
from .models import model_for, table_name

__all__ = ["create_tables", "delete_tables", "missing_indexes", "add_index"]


def create_tables(settings: Settings, *, lock: AbstractContextManager | None = None) -> None:
    """Create every missing table of ``settings`` (with indexes and TTL) and wait until active."""
    with lock if lock is not None else nullcontext():
        for table in Table:
            model = model_for(settings, table)
            if model.exists():
                continue
            try:
                model.create_table(wait=True)
            except TableError as exc:
                if exc.cause_response_code != "ResourceInUseException":  # created meanwhile
                    raise errors.ServiceUnavailable(f"Cannot create table {table.value}") from exc


def delete_tables(settings: Settings, *, lock: AbstractContextManager | None = None) -> None:
    """Delete the stage's tables if they exist (tests and local resets only)."""
    with lock if lock is not None else nullcontext():
        for table in Table:
            model = model_for(settings, table)
            if model.exists():
                model.delete_table()


def missing_indexes(settings: Settings, table: Table) -> list[Index]:
    """The indexes of ``table`` (``ports.INDEXES``) that its DynamoDB table lacks (one
    DescribeTable; an index still being created counts as present)."""
    client = aws.client("dynamodb", settings.region, settings.endpoint_url)
    described = client.describe_table(TableName=table_name(settings, table))["Table"]
    present = {index["IndexName"] for index in described.get("GlobalSecondaryIndexes") or ()}
    return [index for index in INDEXES[table] if index.spec.name not in present]


def add_index(settings: Settings, table: Table, index: Index) -> None:
    """Create ``index`` on the existing table (UpdateTable with a GSI ``Create``; projection
    ALL, like ``create_table``). Returns at once: DynamoDB builds it in the background (the
    index status is CREATING until it has every item)."""
    spec = index.spec
    client = aws.client("dynamodb", settings.region, settings.endpoint_url)
    client.update_table(
        TableName=table_name(settings, table),
        AttributeDefinitions=[
            {"AttributeName": spec.hash_attr, "AttributeType": "S"},
            {"AttributeName": spec.range_attr, "AttributeType": "S"},
        ],
        GlobalSecondaryIndexUpdates=[
            {
                "Create": {
                    "IndexName": spec.name,
                    "KeySchema": [
                        {"AttributeName": spec.hash_attr, "KeyType": "HASH"},
                        {"AttributeName": spec.range_attr, "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            }
        ],
    )
