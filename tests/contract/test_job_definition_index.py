"""The runtime jobs of a definition: the ``jobdef=<processDefinitionId>`` partition of the runtime
table's ``lookup-sort`` index (``repositories.jobs.definition_jobs``), on both stores."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from chalicelib import ids
from chalicelib.engine.runtime.records import (
    ExecutionRecord,
    InstanceRecord,
    SubscriptionRecord,
    SubscriptionType,
)
from chalicelib.engine.runtime.state import InstanceState
from chalicelib.service.instances.migrate import _reference_writes
from chalicelib.service.jobs.items import new_job
from chalicelib.service.repositories.instances import lookup_key
from chalicelib.service.repositories.jobs import (
    DEFINITION_LOOKUP,
    count_of,
    counted,
    dead_letter_item,
    definition_jobs,
    delete_write,
    lookup_repair,
    read_job,
    rescheduled_job,
)
from chalicelib.storage.ports import Item, MustNotExist, Put, Table, VersionIs

R = Table.RUNTIME
START = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def added(store, definition_id: str | None, minute: int, instance: str | None = None) -> Item:
    """A new job of ``definition_id`` (of ``instance``, else of an instance of its own), created
    ``minute`` minutes after ``START``, written as the unit of work writes one."""
    instance = instance or ids.new_id()
    item = new_job(
        job_id=ids.child_id(instance),
        handler_type="async-continuation",
        created=START + timedelta(minutes=minute),
        instance_id=instance,
        execution_id=instance,
        definition_id=definition_id,
        element_id="work",
    )
    store.transact(counted([Put(R, item, MustNotExist())]))
    return item


def of(store, definition_id: str, limit: int | None = None) -> list[str]:
    """The job ids of ``definition_id``'s partition, read page by page of ``limit``."""
    seen, token = [], None
    while True:
        page = definition_jobs(store, definition_id, limit=limit, start=token)
        seen.extend(item.data["_id"] for item in page.items)
        token = page.next_token
        if token is None:
            return seen


def test_a_new_job_is_in_its_definitions_partition_in_creation_order(store):
    later = added(store, "p:1:a", 5)
    first = added(store, "p:1:a", 1)
    other = added(store, "q:1:b", 2)
    middle = added(store, "p:1:a", 3)
    broadcast = added(store, None, 4)  # a job of no definition is in no partition
    expected = [first.data["_id"], middle.data["_id"], later.data["_id"]]
    assert of(store, "p:1:a") == expected
    assert of(store, "p:1:a", limit=1) == expected
    assert of(store, "p:1:a", limit=2) == expected
    assert of(store, "q:1:b") == [other.data["_id"]]
    assert of(store, "p:1") == [] and of(store, "p:1:a:x") == []
    [item] = definition_jobs(store, "q:1:b").items
    assert item.kind == "job" and item.data == other.data
    assert "lookup" not in broadcast.index
    assert read_job(store, broadcast.data["_id"]) is not None
    assert count_of(store) == 5


def test_a_long_definition_id_is_keyed_by_its_hash(store):
    long_id = "p:1:" + "d" * 2000
    item = added(store, long_id, 1)
    added(store, "p:1:d", 2)
    assert item.index["lookup"] == lookup_key(DEFINITION_LOOKUP, long_id)
    assert long_id not in item.index["lookup"]
    assert of(store, long_id) == [item.data["_id"]]


def test_a_retried_job_stays_a_deleted_or_dead_lettered_one_leaves(store):
    retried, deleted, dead = (added(store, "p:1:a", n) for n in (1, 2, 3))
    # a retry rewrites the job, one version on: still in the partition
    data = {**retried.data, "retries": 2, "exceptionMessage": "boom"}
    again = rescheduled_job(retried, data, START + timedelta(hours=1))
    store.transact(counted([Put(R, again, VersionIs(retried.version or 1))]))
    [item, *_] = definition_jobs(store, "p:1:a").items
    assert item.data["retries"] == 2 and item.version == retried.version + 1
    # a REST delete
    store.transact(counted([delete_write(deleted)]))
    # out of retries: deleted from the runtime table, written to the dead-letter table
    store.transact(
        counted(
            [delete_write(dead), Put(Table.DEADLETTER, dead_letter_item(dead.data), MustNotExist())]
        )
    )
    assert of(store, "p:1:a") == [retried.data["_id"]]
    assert count_of(store) == 1 and count_of(store, dead=True) == 1
    # the dead letter is listed in the dead-letter table only (it has no ``lookup-sort``)
    letter = read_job(store, dead.data["_id"], dead=True)
    assert letter is not None and "lookup" not in letter.index


def test_a_migration_moves_the_instances_jobs_to_the_new_definitions_partition(store):
    instance = ids.new_id()
    timer = added(store, "p:1:a", 1, instance)
    continuation = added(store, "p:1:a", 2, instance)
    stranger = added(store, "p:1:a", 3)
    state = InstanceState(
        InstanceRecord(id=instance, definition_id="p:2:b", definition_key="p", start_time="t")
    )
    state.put(ExecutionRecord(id=instance, instance_id=instance, job_id=continuation.data["_id"]))
    state.put(
        SubscriptionRecord(
            id=timer.data["_id"],
            instance_id=instance,
            type=SubscriptionType.TIMER,
            execution_id=instance,
            activity_id="late",
        )
    )
    result = SimpleNamespace(instances={instance: state}, effects=[])
    writes = _reference_writes(SimpleNamespace(store=store), instance, "p:2:b", result)
    store.transact(counted(writes))
    assert of(store, "p:1:a") == [stranger.data["_id"]]
    assert of(store, "p:2:b") == [timer.data["_id"], continuation.data["_id"]]
    moved = read_job(store, timer.data["_id"])
    assert moved is not None and moved.data["processDefinitionId"] == "p:2:b"
    assert moved.version == timer.version + 1
    assert count_of(store) == 3
    # a second migration to the same definition rewrites nothing
    assert _reference_writes(SimpleNamespace(store=store), instance, "p:2:b", result) == []


def test_a_job_written_before_the_partition_joins_it_once_repaired(store):
    item = added(store, "p:1:a", 1)
    old = dataclasses.replace(item, index={k: v for k, v in item.index.items() if k != "lookup"})
    stored = read_job(store, item.data["_id"])
    assert stored is not None
    store.transact(counted([Put(R, old, VersionIs(stored.version or 1))]))
    assert of(store, "p:1:a") == []
    stored = read_job(store, item.data["_id"])
    assert stored is not None
    repair = lookup_repair(stored)
    assert repair is not None
    store.transact(counted([repair]))
    assert of(store, "p:1:a") == [item.data["_id"]]
    again = read_job(store, item.data["_id"])
    assert again is not None and lookup_repair(again) is None and count_of(store) == 1
