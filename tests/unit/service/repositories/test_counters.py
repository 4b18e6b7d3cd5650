"""Maintained counts (``service/repositories/counters.py``): deltas from what a commit writes,
merged per counter item, and exact under concurrent commits on the memory store."""

from __future__ import annotations

import threading

from chalicelib.service.repositories import counters
from chalicelib.storage.aggregate import AggregateStore
from chalicelib.storage.memory import MemoryItemStore
from chalicelib.storage.ports import AddCount, Index, Item, Table

R = Table.RUNTIME


def header(pk: str, *, listed: bool = True) -> Item:
    index = {"kind_shard": "instance#3", "sort": f"t#{pk}"} if listed else {}
    return Item(pk, "#header", "header", {"id": pk}, index)


def task(pk: str, sk: str, assignee: str | None = None) -> Item:
    index = {"kind_shard": "task#1", "sort": "t"}
    if assignee:
        index["assignee"] = assignee
    return Item(pk, sk, "task", {}, index)


def deltas(writes: list[AddCount]) -> dict[tuple[str, str], int]:
    return {(w.pk, w.sk): w.delta for w in writes}


def test_membership_counts_only_listed_partitions_with_both_keys():
    assert counters.membership(R, header("i1")) == {(Index.KIND_SHARD_SORT, "instance")}
    assert counters.membership(R, header("i1", listed=False)) == set()
    job = Item("i1", "job#1", "job", {}, {"kind_shard": "job#2", "sort": "t"})
    assert counters.membership(R, job) == set()  # jobs are not counted
    no_range = Item("i1", "task#1", "task", {}, {"assignee": "bob"})
    assert counters.membership(R, no_range) == set()


def test_deltas_follow_additions_changes_and_deletions():
    shard = str(counters.shard_for("i1", counters.COUNTER_SHARDS))
    listing = counters.counter_pk(Index.KIND_SHARD_SORT, "instance")
    tasks = counters.counter_pk(Index.KIND_SHARD_SORT, "task")
    bob = counters.counter_pk(Index.ASSIGNEE_SORT, "bob")
    new = counters.membership_deltas(R, "i1", [header("i1"), task("i1", "task#a")], [], {})
    assert deltas(new) == {(listing, shard): 1, (tasks, shard): 1}
    stored = {"#header": header("i1"), "task#a": task("i1", "task#a")}
    claimed = counters.membership_deltas(R, "i1", [task("i1", "task#a", "bob")], [], stored)
    assert deltas(claimed) == {(bob, shard): 1}
    stored["task#a"] = task("i1", "task#a", "bob")
    ended = counters.membership_deltas(R, "i1", [header("i1", listed=False)], ["task#a"], stored)
    assert deltas(ended) == {(listing, shard): -1, (tasks, shard): -1, (bob, shard): -1}
    unchanged = counters.membership_deltas(R, "i1", [header("i1")], [], stored)
    assert unchanged == []


def test_merged_sums_per_counter_item_and_drops_zeros():
    writes = [AddCount(R, "c", "1", 2), AddCount(R, "c", "1", -2), AddCount(R, "c", "2", 1)]
    assert counters.merged(writes) == [AddCount(R, "c", "2", 1)]


def test_counts_stay_exact_under_concurrent_commits():
    store = MemoryItemStore()
    aggregates = AggregateStore(store)

    def start(first: int) -> None:
        for n in range(first, first + 25):
            pk = f"i{n:03d}"
            item = header(pk)
            writes = aggregates.writes(pk, 0, [item])
            writes += counters.membership_deltas(R, pk, [item], [], {})
            store.transact(writes)

    threads = [threading.Thread(target=start, args=(n * 25,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counters.read(store, R, Index.KIND_SHARD_SORT, "instance") == 100
