"""AWS failures leave the DynamoDB store as domain errors, never as botocore exceptions."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from chalicelib import aws, errors
from chalicelib.storage.dynamo import DynamoItemStore
from chalicelib.storage.ports import Index, Item, Put, Table


class FailingClient:
    """Stands in for the botocore client: every call raises ``error``."""

    def __init__(self, error: Exception):
        self.error = error
        self.calls: list[str] = []

    def _make_api_call(self, operation, params):
        self.calls.append(operation)
        raise self.error


def client_error(code: str, operation: str, **extra) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}, **extra}, operation)


@pytest.fixture
def failing(monkeypatch, settings):
    def install(error: Exception) -> DynamoItemStore:
        fake = FailingClient(error)
        monkeypatch.setattr(aws, "client", lambda *args, **kwargs: fake)
        return DynamoItemStore(settings)

    return install


@pytest.mark.parametrize(
    "error",
    [
        client_error("ProvisionedThroughputExceededException", "Query"),
        client_error("InternalServerError", "Query"),
        client_error("ResourceNotFoundException", "Query"),
        EndpointConnectionError(endpoint_url="http://nowhere"),
    ],
)
def test_service_failures_become_service_unavailable(failing, error):
    store = failing(error)
    for call in (
        lambda: store.get(Table.RUNTIME, "p", "s"),
        lambda: store.query(Table.RUNTIME, "p"),
        lambda: store.query_index(Table.RUNTIME, Index.EVENT_SORT, "e"),
        lambda: store.transact([Put(Table.RUNTIME, Item("p", "s", "var"))]),
        lambda: store.batch_put(Table.RUNTIME, [Item("p", "s", "var")]),
    ):
        with pytest.raises(errors.ServiceUnavailable):
            call()


def test_cancellation_reasons_are_mapped(failing):
    def cancelled(*codes):
        return client_error(
            "TransactionCanceledException",
            "TransactWriteItems",
            CancellationReasons=[{"Code": code} for code in codes],
        )

    writes = [Put(Table.RUNTIME, Item("p", "a", "var")), Put(Table.RUNTIME, Item("p", "b", "var"))]
    with pytest.raises(errors.ConcurrencyError) as conflict:
        failing(cancelled("None", "TransactionConflict")).transact(writes)
    assert conflict.value.detail == {"write": 1, "reason": "TransactionConflict"}
    with pytest.raises(errors.ServiceUnavailable):
        failing(cancelled("ThrottlingError", "None")).transact(writes)
    with pytest.raises(errors.InternalError):
        failing(cancelled("ValidationError", "None")).transact(writes)
    with pytest.raises(errors.InternalError):
        failing(client_error("ValidationException", "GetItem")).get(Table.RUNTIME, "p", "a")


def test_missing_tables_under_moto_are_service_unavailable(settings):
    from moto import mock_aws

    with mock_aws():
        aws.reset_clients()
        store = DynamoItemStore(settings, lock=aws.moto_lock())
        with pytest.raises(errors.ServiceUnavailable):
            store.get(Table.RUNTIME, "p", "s")
        with pytest.raises(errors.ServiceUnavailable):
            store.transact([Put(Table.RUNTIME, Item("p", "s", "var"))])
        aws.reset_clients()
