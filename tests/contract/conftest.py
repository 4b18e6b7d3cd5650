"""Fixtures of the storage contract suite: every test runs against both ``ItemStore``s."""

from __future__ import annotations

import pytest

from chalicelib.storage.ports import Table


@pytest.fixture
def moto_tables(settings):
    """moto with the four tables (no queues), fresh per test (keep moto tables small)."""
    from moto import mock_aws

    from chalicelib import aws
    from chalicelib.storage.dynamo import create_tables

    with mock_aws():
        aws.reset_clients()
        create_tables(settings)
        yield settings
        aws.reset_clients()


class RawView:
    """Counts stored records (chunk items included) behind a store, for cleanup assertions."""

    def __init__(self, count):
        self.count = count


@pytest.fixture(params=["memory", "dynamo"])
def backend(request, settings):
    """(store, raw view) for one implementation: ``MemoryItemStore`` or ``DynamoItemStore``."""
    if request.param == "memory":
        from chalicelib.storage.memory import MemoryItemStore

        store = MemoryItemStore()

        def count(table: Table, pk: str) -> int:
            with store._lock:
                return len(store._tables[table].get(pk, {}))

        yield store, RawView(count)
        return
    from chalicelib import aws
    from chalicelib.storage.dynamo import DynamoItemStore
    from chalicelib.storage.dynamo.models import model_for

    request.getfixturevalue("moto_tables")
    store = DynamoItemStore(settings, lock=aws.moto_lock())

    def count(table: Table, pk: str) -> int:
        return sum(1 for _ in model_for(settings, table).query(pk, consistent_read=True))

    yield store, RawView(count)


@pytest.fixture
def store(backend):
    return backend[0]


@pytest.fixture
def raw(backend):
    return backend[1]
