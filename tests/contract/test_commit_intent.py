"""Commits larger than one transaction (``storage.intent``), on both stores."""

from __future__ import annotations

import pytest

from chalicelib.api.errors import status_of
from chalicelib.errors import ConcurrencyError
from chalicelib.storage import intent
from chalicelib.storage.aggregate import HEADER_SK, AggregateStore
from chalicelib.storage.ports import (
    AddCount,
    ConditionCheck,
    Delete,
    DuplicateWrite,
    Item,
    MustNotExist,
    Put,
    Table,
    VersionIs,
)


def item(pk: str, sk: str, **data) -> Item:
    return Item(pk=pk, sk=sk, kind="thing", data=data)


def big_commit(aggregates: AggregateStore, pk: str, version: int, count: int, value: str):
    """A commit of ``count`` items of ``pk`` (plus history), far beyond one transaction."""
    previous = aggregates.load(pk) if version else None
    writes = aggregates.writes(
        pk,
        version,
        [item(pk, f"thing#{n:04}", value=value) for n in range(count)],
        previous=previous,
    )
    writes += [Put(Table.HISTORY, item(pk, f"act#{n:04}", value=value)) for n in range(count)]
    return intent.split(pk, version + 1, writes)


def test_a_commit_of_many_items_lands_whole(store):
    aggregates = AggregateStore(store)
    first, pending = big_commit(aggregates, "i1", 0, 250, "v1")
    assert len(first) == 2  # the header and the intent: everything else is deferred
    store.transact(first)
    assert intent.apply(store, pending) is True
    loaded = aggregates.load("i1")
    assert loaded.version == 1
    assert sorted(loaded.items) == [HEADER_SK] + [f"thing#{n:04}" for n in range(250)]
    assert len(store.query(Table.HISTORY, "i1").items) == 250


def test_a_loader_rolls_a_pending_intent_forward_before_reading(store):
    aggregates = AggregateStore(store)
    first, _ = big_commit(aggregates, "i2", 0, 150, "v1")
    store.transact(first)  # the committer dies here
    loaded = aggregates.load("i2")
    assert len([sk for sk in loaded.items if sk.startswith("thing#")]) == 150
    assert intent.INTENT_SK not in loaded.items
    assert store.get(Table.RUNTIME, "i2", intent.INTENT_SK) is None


def test_a_stale_applier_never_overwrites_a_later_commit(store):
    aggregates = AggregateStore(store)
    first, stale = big_commit(aggregates, "i3", 0, 120, "old")
    store.transact(first)
    aggregates.load("i3")  # someone else finished the intent...
    aggregates.commit("i3", 1, [item("i3", "thing#0000", value="newer")])  # ...and committed
    assert intent.apply(store, stale) is False
    assert store.get(Table.RUNTIME, "i3", "thing#0000").data == {"value": "newer"}


def test_a_later_intent_does_not_let_an_earlier_one_apply(store):
    aggregates = AggregateStore(store)
    first, stale = big_commit(aggregates, "i4", 0, 120, "old")
    store.transact(first)
    assert intent.apply(store, stale)
    first, newer = big_commit(aggregates, "i4", 1, 120, "new")
    store.transact(first)  # a second intent is pending, at version 2
    assert intent.apply(store, stale) is False
    assert intent.apply(store, newer) is True
    assert store.get(Table.RUNTIME, "i4", "thing#0119").data == {"value": "new"}


def test_the_decide_transaction_is_conditioned_on_the_version(store):
    aggregates = AggregateStore(store)
    first, pending = big_commit(aggregates, "i5", 0, 120, "v1")
    store.transact(first)
    intent.apply(store, pending)
    racing, _ = big_commit(aggregates, "i5", 0, 120, "lost")  # built on version 0
    with pytest.raises(ConcurrencyError):
        store.transact(racing)
    assert store.get(Table.RUNTIME, "i5", "thing#0000").data == {"value": "v1"}


def test_conditioned_writes_are_never_deferred_and_must_fit():
    writes = [Put(Table.RUNTIME, item("other", f"x#{n}"), MustNotExist()) for n in range(100)]
    with pytest.raises(intent.TooLarge) as too_large:
        intent.split("i6", 1, writes)
    assert status_of(too_large.value) == 400
    assert too_large.value.detail == {"limit": 100, "items": 101}
    kept = [
        ConditionCheck(Table.RUNTIME, "other", HEADER_SK, VersionIs(3)),
        Delete(Table.HISTORY, "h", "gone", MustNotExist()),
    ]
    first, _ = intent.split("i6", 1, kept)
    assert first[:2] == kept


def test_apply_uses_several_transactions_within_the_limits(store):
    aggregates = AggregateStore(store)
    sent = []
    original = store.transact

    def counting(writes, **kwargs):
        sent.append(len(writes))
        return original(writes, **kwargs)

    first, pending = big_commit(aggregates, "i7", 0, 300, "v")
    store.transact(first)
    store.transact = counting
    try:
        assert intent.apply(store, pending)
    finally:
        store.transact = original
    assert max(sent) <= 100
    assert sum(sent) - len(sent) + 1 >= 600  # every write once, plus one check per batch


def test_two_writes_on_one_item_are_refused_before_anything_is_sent():
    writes = [Put(Table.HISTORY, item("i8", f"act#{n}")) for n in range(150)]
    writes.append(Delete(Table.HISTORY, "i8", "act#7"))
    with pytest.raises(DuplicateWrite):
        intent.split("i8", 1, writes)


def test_an_apply_interrupted_halfway_is_finished_by_the_next_loader(store):
    aggregates = AggregateStore(store)
    first, pending = big_commit(aggregates, "i9", 0, 250, "v")
    store.transact(first)
    original = store.transact
    calls = []

    def dies_at_the_third(writes, **kwargs):
        calls.append(len(writes))
        if len(calls) == 3:
            raise RuntimeError("Lambda timed out")
        return original(writes, **kwargs)

    store.transact = dies_at_the_third
    try:
        with pytest.raises(RuntimeError):
            intent.apply(store, pending)
    finally:
        store.transact = original
    assert store.get(Table.RUNTIME, "i9", intent.INTENT_SK) is not None  # still pending
    loaded = aggregates.load("i9")
    assert len([sk for sk in loaded.items if sk.startswith("thing#")]) == 250
    assert len(store.query(Table.HISTORY, "i9").items) == 250
    assert store.get(Table.RUNTIME, "i9", intent.INTENT_SK) is None


def counted_commit(aggregates: AggregateStore, pk: str, partitions: int):
    """A commit of 250 items plus one count per partition (a fan-out with an assignee per
    branch): the counts are deferred with the items."""
    writes = aggregates.writes(pk, 0, [item(pk, f"thing#{n:04}") for n in range(250)])
    writes += [AddCount(Table.RUNTIME, f"#count#p{n:03}", "0", 1) for n in range(partitions)]
    return intent.split(pk, 1, writes)


def counted(store, partitions: int) -> list[int]:
    return [
        int(getattr(store.get(Table.RUNTIME, f"#count#p{n:03}", "0"), "version", 0) or 0)
        for n in range(partitions)
    ]


def test_counts_of_a_large_commit_are_deferred_and_added_exactly_once(store):
    aggregates = AggregateStore(store)
    first, pending = counted_commit(aggregates, "c1", 300)
    assert len(first) == 2  # the header and the intent: 300 counts would not fit beside them
    store.transact(first)
    original = store.transact
    calls = []

    def dies_after_the_fourth(writes, **kwargs):
        calls.append(len(writes))
        result = original(writes, **kwargs)
        if len(calls) == 4:
            raise RuntimeError("Lambda timed out")  # after its batch committed
        return result

    store.transact = dies_after_the_fourth
    try:
        with pytest.raises(RuntimeError):
            intent.apply(store, pending)
    finally:
        store.transact = original
    assert store.get(Table.RUNTIME, "c1", intent.INTENT_SK) is not None
    assert intent.apply(store, pending) is True  # re-applies from the start: markers skip
    assert counted(store, 300) == [1] * 300
    assert intent.apply(store, pending) is False  # finished: nothing more
    assert counted(store, 300) == [1] * 300
    assert len([sk for sk in aggregates.load("c1").items if sk.startswith("thing#")]) == 250
