"""The execution listing (``kindShard-sort``, ``execution#n``) on both stores: execution items
carry their header's fields and are listed in instance start order while the instance runs,
follow a header change, leave the listing when the instance ends, and are counted."""

from __future__ import annotations

from dataclasses import replace

from chalicelib import aws, ids
from chalicelib.engine.runtime.records import (
    ExecutionRecord,
    InstanceRecord,
    InstanceStatus,
    VariableRecord,
)
from chalicelib.engine.runtime.state import InstanceState
from chalicelib.service.repositories import counters
from chalicelib.service.repositories.instance_reads import execution_count, execution_listing
from chalicelib.service.repositories.instances import EXECUTION_HEADER, changed_items, state_of
from chalicelib.storage.aggregate import AggregateStore
from chalicelib.storage.ports import Table


def new_state(minute: int, business_key: str) -> InstanceState:
    instance = ids.new_id()
    state = InstanceState(
        InstanceRecord(
            id=instance,
            definition_id="p:1:d",
            definition_key="p",
            business_key=business_key,
            start_time=f"2026-11-27T10:{minute:02d}:00.000Z",
        )
    )
    state.put(ExecutionRecord(id=instance, instance_id=instance))
    for activity in ("a", "b"):
        state.put(
            ExecutionRecord(
                id=ids.child_id(instance),
                instance_id=instance,
                parent_id=instance,
                activity_id=activity,
            )
        )
    return state


def commit(store, state: InstanceState) -> list:
    """Commit ``state``'s changes with their counts, as the unit of work does; the puts."""
    aggregates = AggregateStore(store)
    previous = aggregates.load(state.id)
    loaded = previous if previous.exists else None
    puts, deletes = changed_items(state.changes(), loaded)
    stored = loaded.items if loaded is not None else {}
    counts = counters.membership_deltas(Table.RUNTIME, state.id, puts, deletes, stored)
    aggregates.commit(
        state.id, previous.version, puts, deletes, side_writes=counts, previous=loaded
    )
    state.mark_clean()
    return puts


def listed(store, limit: int = 1000) -> list:
    found, token = [], None
    while True:
        page = execution_listing(store, limit=limit, start=token)
        found += page.items
        token = page.next_token
        if token is None:
            return found


def test_executions_are_listed_in_start_order_with_their_header_fields(store):
    states = [new_state(minute, f"bk-{minute}") for minute in (5, 1, 3)]
    for state in states:
        commit(store, state)
    expected = [
        (state.id, execution.id)
        for state in sorted(states, key=lambda s: s.header.start_time)
        for execution in sorted(state.executions.values(), key=lambda e: e.id)
    ]
    items = listed(store)
    assert [(item.pk, item.data["id"]) for item in items] == expected
    for limit in (1, 2, 4):  # paged through the 8 shards: no skip, no duplicate
        assert [(item.pk, item.data["id"]) for item in listed(store, limit)] == expected
    first = items[0]
    assert first.data[EXECUTION_HEADER]["business_key"] == "bk-1"
    assert first.data[EXECUTION_HEADER]["definition_id"] == "p:1:d"
    assert first.index["sort"].startswith(f"2026-11-27T10:01:00.000Z#{first.pk}#")
    assert execution_count(store) == 9
    # the copy is not a record field: the state loads as it was stored
    again = state_of(AggregateStore(store).load(states[0].id))
    assert sorted(map(repr, again.to_records())) == sorted(map(repr, states[0].to_records()))


def test_a_commit_leaving_the_copied_fields_alone_writes_no_other_execution(store):
    state = new_state(1, "bk")
    commit(store, state)
    state.put(VariableRecord(scope_id=state.id, name="x", value=1))
    child = next(e for e in state.executions.values() if e.activity_id == "a")
    state.put(replace(child, activity_id="c"))
    puts = commit(store, state)
    # the header and its lookup items too (its listed variables changed), but one execution
    assert [item.sk for item in puts if item.sk.startswith("exec#")] == [f"exec#{child.id}"]
    [moved] = [item for item in listed(store) if item.data["id"] == child.id]
    assert moved.data["activity_id"] == "c" and moved.data[EXECUTION_HEADER]["business_key"] == "bk"


def test_a_header_change_rewrites_every_execution_copy(store):
    state = new_state(1, "bk")
    commit(store, state)
    state.put(replace(state.header, definition_id="p:2:d"))  # as a migration does
    puts = commit(store, state)
    assert len([item for item in puts if item.sk.startswith("exec#")]) == 3
    assert {item.data[EXECUTION_HEADER]["definition_id"] for item in listed(store)} == {"p:2:d"}
    assert execution_count(store) == 3


def test_ended_instances_leave_the_listing_and_the_count(store):
    state, other = new_state(1, "bk"), new_state(2, "other")
    commit(store, state)
    commit(store, other)
    assert execution_count(store) == 6
    for execution in list(state.executions.values()):
        state.remove(execution)
    state.put(
        replace(state.header, status=InstanceStatus.COMPLETED, end_time="2026-11-27T11:00:00.000Z")
    )
    commit(store, state)
    assert {item.pk for item in listed(store)} == {other.id}
    assert execution_count(store) == 3


def test_a_commit_is_still_one_request(moto_tables):
    from chalicelib.storage.dynamo import DynamoItemStore

    store = DynamoItemStore(moto_tables, lock=aws.moto_lock())
    state = new_state(1, "bk")
    commit(store, state)
    loaded = AggregateStore(store).load(state.id)
    again = state_of(loaded)
    child = next(e for e in again.executions.values() if e.activity_id == "a")
    again.put(replace(child, activity_id="c"))
    with aws.counting() as counter:
        puts, deletes = changed_items(again.changes(), loaded)
        AggregateStore(store).commit(state.id, loaded.version, puts, deletes, previous=loaded)
    assert counter.counts == {"dynamodb": {"TransactWriteItems": 1}}
