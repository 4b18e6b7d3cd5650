"""``repositories.jobs.job_count_writes`` / ``counted``: the job counts a transaction's writes
prove, from their conditions alone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib import ids
from chalicelib.service.jobs.items import new_job
from chalicelib.service.repositories import counters
from chalicelib.service.repositories.jobs import (
    UncountedJobWrite,
    counted,
    dead_letter_item,
    delete_write,
    job_count_writes,
    job_done_write,
    rescheduled_job,
)
from chalicelib.storage.ports import (
    AddCount,
    Delete,
    Index,
    Item,
    MustExist,
    MustNotExist,
    Put,
    Table,
    VersionIs,
)

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def job(instance: str | None = None) -> Item:
    instance = instance or ids.new_id()
    return new_job(
        job_id=ids.child_id(instance), handler_type="noop", created=NOW, instance_id=instance
    )


def count(table: Table, base: str, entity: str, delta: int) -> AddCount:
    return counters.add(table, Index.KIND_SHARD_SORT, base, entity, delta)


def test_a_created_job_counts_one_in_its_collections_shard():
    item = job()
    assert job_count_writes([Put(Table.RUNTIME, item, MustNotExist())]) == [
        count(Table.RUNTIME, "job", item.pk, 1)
    ]


def test_a_deleted_job_counts_minus_one_with_either_existence_condition():
    item = job()
    for write in (
        job_done_write(item),
        Delete(Table.RUNTIME, item.pk, item.sk, MustExist()),
    ):
        assert job_count_writes([write]) == [count(Table.RUNTIME, "job", item.pk, -1)]


def test_a_rewritten_job_counts_nothing():
    item = job()
    data = {**item.data, "retries": 2}
    retried = Put(Table.RUNTIME, rescheduled_job(item, data, NOW), VersionIs(1))
    assert job_count_writes([retried]) == []
    assert counted([retried]) == [retried]


def test_dead_lettering_and_reviving_move_one_count_between_the_listings():
    item = job()
    dead = dead_letter_item(item.data)
    moved = [job_done_write(item), Put(Table.DEADLETTER, dead, MustNotExist())]
    assert job_count_writes(moved) == [
        count(Table.RUNTIME, "job", item.pk, -1),
        count(Table.DEADLETTER, "dlq", dead.pk, 1),
    ]
    revived = [delete_write(dead, dead=True), Put(Table.RUNTIME, item, MustNotExist())]
    assert sorted(job_count_writes(revived), key=lambda w: w.delta) == [
        count(Table.DEADLETTER, "dlq", dead.pk, -1),
        count(Table.RUNTIME, "job", item.pk, 1),
    ]


def test_one_instances_jobs_touch_one_counter_item():
    instance = ids.new_id()
    created = [Put(Table.RUNTIME, job(instance), MustNotExist()) for _ in range(5)]
    removed = job_done_write(job(instance))
    assert job_count_writes([*created, removed]) == [count(Table.RUNTIME, "job", instance, 4)]
    assert job_count_writes([removed, created[0]]) == []  # the sum is zero: no write


def test_jobs_of_many_collections_touch_one_counter_item_per_listing():
    """A deploy's timer start jobs or a broadcast chunk's deliveries belong to many item
    collections: their counts go to one shard (the first job's), so the transaction grows by
    one write, not by one per shard."""
    jobs = [job(ids.new_id()) for _ in range(40)]
    created = [Put(Table.RUNTIME, item, MustNotExist()) for item in jobs]
    assert job_count_writes(created) == [count(Table.RUNTIME, "job", jobs[0].pk, 40)]


def test_other_items_are_not_counted():
    header = Item("i1", "#header", "header", version=1)
    assert job_count_writes([Put(Table.RUNTIME, header), Delete(Table.RUNTIME, "i1", "x")]) == []


@pytest.mark.parametrize(
    "write",
    [
        Put(Table.RUNTIME, job()),
        Delete(Table.RUNTIME, "i", "job#i-1"),
        Delete(Table.RUNTIME, "i", "job#i-1", MustNotExist()),
        Put(Table.DEADLETTER, dead_letter_item(job().data)),
        Delete(Table.DEADLETTER, "j", "#job"),
    ],
    ids=["put", "delete", "delete-must-not-exist", "dead-put", "dead-delete"],
)
def test_an_unconditioned_job_write_raises(write):
    with pytest.raises(UncountedJobWrite):
        job_count_writes([write])
    with pytest.raises(UncountedJobWrite):
        counted([write])


def test_counting_a_transaction_twice_raises():
    once = counted([Put(Table.RUNTIME, job(), MustNotExist())])
    assert len(once) == 2
    with pytest.raises(UncountedJobWrite):
        counted(once)
