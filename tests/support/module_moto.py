"""A moto backend kept for one test module, and data sets built once in it.

The conftest's ``moto_backend`` starts ``mock_aws`` for each test, so a module whose tests only
query the same data set builds it again for every test. ``module_backend()`` starts one
``mock_aws`` for the module (from a module-scoped fixture, so it stops when the module's last
test is done and nothing leaks into other modules) with one Chalice test client, and gives each
data set its own four tables (names with a number of their own) and its own container:

* ``fresh()``: new tables and a container, installed for the handlers, for a test that writes
  (starts more, deletes, claims): nothing it does is seen by another test;
* ``shared(name, build)``: a data set built once per module by ``build(client, container)``
  and kept for the module's later tests; ``reading(container)`` installs it for one test and
  fails the test if anything was written while it ran (a query must write nothing, so the
  next test sees the same data).

moto's ``mock_aws`` does not nest (an inner ``mock_aws`` shares the outer one's backend), so a
module using this must not also use the conftest's ``moto_backend``/``container``/``client``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from chalicelib import aws

__all__ = ["ModuleBackend", "module_backend", "coalesced_counts", "WRITES"]

#: DynamoDB and SQS operations that change data: none may run while a shared set is read.
WRITES = {
    "dynamodb": {
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactWriteItems",
        "CreateTable",
        "DeleteTable",
        "UpdateTable",
    },
    "sqs": {"SendMessage", "SendMessageBatch", "DeleteMessage", "DeleteMessageBatch"},
}

_TABLES = (
    "WORKFLOW_REPOSITORY_TABLE",
    "WORKFLOW_RUNTIME_TABLE",
    "WORKFLOW_HISTORY_TABLE",
    "WORKFLOW_DEADLETTER_TABLE",
)


class ModuleBackend:
    """One module's moto backend: its client, and containers over tables of their own."""

    def __init__(self, env: dict[str, str], client: Any):
        self.env = env
        self.client = client
        self._numbers = itertools.count(1)
        self._shared: dict[str, tuple[Any, Any]] = {}

    def fresh(self) -> Any:
        """A container (``FixedClock``) over four new empty tables, installed for handlers."""
        from chalicelib import bootstrap
        from chalicelib.clock import FixedClock
        from chalicelib.settings import Settings
        from chalicelib.storage.dynamo import create_tables

        number = next(self._numbers)
        env = dict(self.env, **{name: f"{self.env[name]}-{number}" for name in _TABLES})
        settings = Settings.from_env(env)
        create_tables(settings)
        container = bootstrap.build_container(settings, clock=FixedClock())
        bootstrap.set_container(container)
        return container

    def shared(self, name: str, build: Callable[[Any, Any], Any]) -> tuple[Any, Any]:
        """``(container, data)`` of the data set ``name``: built by ``build(client, container)``
        on first use in a fresh container, then kept; installed for handlers."""
        from chalicelib import bootstrap

        if name not in self._shared:
            container = self.fresh()
            self._shared[name] = (container, build(self.client, container))
        container, data = self._shared[name]
        bootstrap.set_container(container)
        return container, data

    @contextmanager
    def reading(self, container: Any) -> Iterator[None]:
        """Install ``container`` for one test, and fail if the test wrote anything (its data
        set is shared with the module's other tests)."""
        from chalicelib import bootstrap

        bootstrap.set_container(container)
        now = container.clock.now()
        try:
            with aws.counting() as counter:
                yield
        finally:
            bootstrap.reset_container()
        counts = counter.counts
        written = {
            f"{service}:{operation}": number
            for service, operations in WRITES.items()
            for operation, number in counts.get(service, {}).items()
            if operation in operations
        }
        assert not written, f"a test of a shared data set wrote: {written}"
        assert container.clock.now() == now, "a test of a shared data set moved its clock"


@contextmanager
def module_backend(**overrides: str) -> Iterator[ModuleBackend]:
    """Start ``mock_aws`` with the queues and one Chalice test client, for a module-scoped
    fixture; the test environment with ``overrides`` (e.g. ``WORKFLOW_QUERY_READ_BUDGET``)."""
    from chalice.test import Client
    from moto import mock_aws

    import app as application
    from chalicelib import bootstrap
    from chalicelib.messaging.sqs import create_queues
    from chalicelib.settings import Settings
    from tests.support.env import TEST_ENV

    env = dict(TEST_ENV, **overrides)
    with mock_aws():
        aws.reset_clients()
        try:
            create_queues(Settings.from_env(env))
            with Client(application.app, stage_name="local") as client:
                yield ModuleBackend(env, client)
        finally:
            bootstrap.reset_container()
            aws.reset_clients()


@contextmanager
def coalesced_counts(store: Any) -> Iterator[None]:
    """Within the block, ``store``'s transactions commit everything but their counter
    additions (``AddCount``), which are summed per counter and added when the block ends, a
    hundred counters per transaction: the same items and counts as committing each transaction
    whole, for a test that grows its data set only to query it (moto parses every counter's
    UpdateItem of every transaction, most of a start's cost). Nothing in the block may read a
    counter (a counter Query fails the test); a transaction that fails adds nothing."""
    from chalicelib.service.repositories import counters
    from chalicelib.storage.ports import AddCount, Index

    pending: dict[tuple[Any, str, str], int] = {}
    real = store.transact

    def transact(writes: Any, *, token: str | None = None) -> None:
        kept = [write for write in writes if not isinstance(write, AddCount)]
        if kept:
            real(kept, token=token)
        for write in writes:
            if isinstance(write, AddCount):
                key = (write.table, write.pk, write.sk)
                pending[key] = pending.get(key, 0) + write.delta

    prefix = "#count#"  # of every counter's pk (the counter collections are Queried)
    assert counters.counter_pk(Index.LOOKUP_SORT, "x").startswith(prefix)
    real_query = store.query

    def query(table: Any, pk: str, **options: Any) -> Any:
        assert not pk.startswith(prefix), f"a counter was read while its additions wait: {pk}"
        return real_query(table, pk, **options)

    store.transact = transact
    store.query = query
    try:
        yield
    finally:
        del store.transact
        del store.query
    adds = [AddCount(table, pk, sk, delta) for (table, pk, sk), delta in pending.items()]
    for first in range(0, len(adds), 100):
        real(adds[first : first + 100])
