"""Activity-history segments (``service.activity_history``), on both stores."""

from __future__ import annotations

import random
from types import SimpleNamespace

from chalicelib.clock import FixedClock
from chalicelib.engine.runtime import HistoryKind, HistoryRecord
from chalicelib.service.repositories import history as activity_history
from chalicelib.storage.ports import Put, Table


def container(clock: FixedClock, ttl_days: int = 0):
    return SimpleNamespace(clock=clock, settings=SimpleNamespace(history_ttl_days=ttl_days))


def record(
    record_id: str, activity_id: str, end: str | None = None, definition: str = "p:1:d", **extra
) -> dict:
    return {
        "id": record_id,
        "activityId": activity_id,
        "startTime": "2026-01-01T00:00:00.000Z",
        "endTime": end,
        "processDefinitionId": definition,
        **extra,
    }


def write(store, owner, instance_id: str, records: list[dict]) -> None:
    now_ms = int(owner.clock.now().timestamp() * 1000)
    store.transact(
        [
            Put(
                Table.HISTORY,
                activity_history.segment_item(
                    instance_id, records, now_ms=now_ms, ttl=activity_history.history_ttl(owner)
                ),
            )
        ]
    )


def test_segments_fold_to_the_latest_record_of_each_activity_in_start_order(store):
    owner = container(FixedClock())
    write(
        store,
        owner,
        "i1",
        [record("a1", "start", end="t0"), record("a2", "flow", end="t0"), record("a3", "task")],
    )
    owner.clock.advance(seconds=5)
    write(store, owner, "i1", [record("a3", "task", end="t5"), record("a4", "end", end="t5")])
    write(store, owner, "other", [record("x", "elsewhere")])
    folded = activity_history.read(store, "i1")
    assert [(r["id"], r["endTime"]) for r in folded] == [
        ("a1", "t0"),
        ("a2", "t0"),
        ("a3", "t5"),
        ("a4", "t5"),
    ]
    items = store.query(Table.HISTORY, "i1").items
    assert [i.kind for i in items] == [activity_history.SEGMENT_KIND] * 2  # one per command


def test_an_ended_record_is_never_replaced_by_an_open_one(store):
    """Segment order follows ids, not commit order: an end record written under a clock a
    little behind the start's still wins."""
    owner = container(FixedClock())
    owner.clock.advance(seconds=5)
    write(store, owner, "i2", [record("a1", "task", end="t5")])
    owner.clock.advance(seconds=-5)
    write(store, owner, "i2", [record("a1", "task")])
    [folded] = activity_history.read(store, "i2")
    assert folded["endTime"] == "t5"


def test_a_segment_larger_than_an_item_is_chunked_and_read_whole(store):
    owner = container(FixedClock())
    noise = random.Random(7)
    records = [
        record(f"r{n:05}", f"step{n}", end="t", payload=noise.randbytes(100).hex())
        for n in range(5000)
    ]  # hardly compressible: about 500 KB compressed
    write(store, owner, "i3", records)
    [item] = store.query(Table.HISTORY, "i3").items
    assert item.stored_chunks >= 1  # past CHUNK_BYTES: stored as more than one record
    folded = activity_history.read(store, "i3")
    assert folded == records


def test_repointing_rewrites_only_segments_naming_another_definition(store):
    owner = container(FixedClock())
    write(store, owner, "i4", [record("a1", "start", end="t0"), record("a2", "task")])
    owner.clock.advance(seconds=1)
    write(store, owner, "i4", [record("a3", "other", definition="p:2:d")])
    writes = activity_history.repointed(store, "i4", "p:2:d")
    assert len(writes) == 1
    store.transact(writes)
    assert {r["processDefinitionId"] for r in activity_history.read(store, "i4")} == {"p:2:d"}
    assert activity_history.repointed(store, "i4", "p:2:d") == []


def test_segments_carry_the_history_ttl():
    clock = FixedClock()
    effects = [HistoryRecord.owned("i5", HistoryKind.ACTIVITY_INSTANCE, "a", record("a", "s"))]
    [item] = activity_history.history_items(container(clock, ttl_days=2), effects)
    assert item.kind == activity_history.SEGMENT_KIND
    assert item.ttl == int(clock.now().timestamp()) + 2 * 86400
    assert activity_history.history_items(container(clock), effects)[0].ttl is None
