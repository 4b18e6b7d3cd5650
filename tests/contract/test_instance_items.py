"""A process instance's records stored as runtime items, on both stores."""

from __future__ import annotations

import os

from chalicelib import aws, ids
from chalicelib.engine.runtime.records import (
    ExecutionRecord,
    InstanceRecord,
    TaskRecord,
    VariableRecord,
)
from chalicelib.engine.runtime.state import InstanceState
from chalicelib.service.repositories.instances import changed_items, item_of, state_of
from chalicelib.storage.aggregate import AggregateStore
from chalicelib.storage.ports import Index, Table


def new_state() -> InstanceState:
    instance = ids.new_id()
    state = InstanceState(
        InstanceRecord(
            id=instance,
            definition_id="p:1:d",
            definition_key="p",
            start_time="2026-11-27T10:00:00.000Z",
        )
    )
    state.put(ExecutionRecord(id=instance, instance_id=instance))
    child = ids.child_id(instance)
    state.put(
        ExecutionRecord(id=child, instance_id=instance, parent_id=instance, activity_id="review")
    )
    state.put(VariableRecord(scope_id=instance, name="amount", value=42))
    state.put(
        TaskRecord(
            id=ids.child_id(instance),
            instance_id=instance,
            execution_id=child,
            definition_id="p:1:d",
            task_definition_key="review",
            assignee="bob",
            candidate_groups=("managers",),
            create_time="2026-11-27T10:00:01.000Z",
        )
    )
    return state


def commit(aggregates: AggregateStore, state: InstanceState, version: int, previous=None) -> int:
    puts, deletes = changed_items(state.changes(), previous)
    new_version = aggregates.commit(state.id, version, puts, deletes, previous=previous)
    state.mark_clean()
    return new_version


def test_round_trip_and_incremental_commits(store):
    aggregates = AggregateStore(store)
    state = new_state()
    assert commit(aggregates, state, 0) == 1
    loaded = aggregates.load(state.id)
    again = state_of(loaded)
    assert sorted(map(repr, again.to_records())) == sorted(map(repr, state.to_records()))
    # change one variable, complete the task: only those items are written
    again.put(VariableRecord(scope_id=state.id, name="amount", value=43))
    task = next(iter(again.tasks.values()))
    again.remove(task)
    puts, deletes = changed_items(again.changes())
    assert [p.sk for p in puts] == [f"var#{state.id}/amount"]
    assert deletes == [f"task#{task.id}"]
    assert commit(aggregates, again, 1, previous=loaded) == 2
    final = state_of(aggregates.load(state.id))
    assert final.local_variables(state.id)["amount"].value == 43
    assert final.tasks == {}


def test_tasks_are_indexed_by_assignee(store):
    state = new_state()
    commit(AggregateStore(store), state, 0)
    page = store.query_index(Table.RUNTIME, Index.ASSIGNEE_SORT, "bob")
    assert [item.data["task_definition_key"] for item in page.items] == ["review"]


def test_large_variable_is_stored(store):
    state = new_state()
    big = os.urandom(160 * 1024).hex()  # 320 KB of incompressible text
    state.put(VariableRecord(scope_id=state.id, name="blob", value=big))
    commit(AggregateStore(store), state, 0)
    loaded = state_of(AggregateStore(store).load(state.id))
    assert loaded.local_variables(state.id)["blob"].value == big


def test_header_item_carries_the_instance_record():
    state = new_state()
    header = item_of(state.id, state.header.to_dict())
    assert header.sk == "#header" and header.kind == "header"
    assert header.index["kind_shard"].startswith("instance#")


def test_load_and_commit_cost_one_request_each(moto_tables):
    from chalicelib.storage.dynamo import DynamoItemStore

    store = DynamoItemStore(moto_tables, lock=aws.moto_lock())
    aggregates = AggregateStore(store)
    state = new_state()
    commit(aggregates, state, 0)
    with aws.counting() as counter:
        loaded = aggregates.load(state.id)
        again = state_of(loaded)
        again.put(VariableRecord(scope_id=state.id, name="x", value=1))
        commit(aggregates, again, loaded.version, previous=loaded)
    assert counter.counts == {"dynamodb": {"Query": 1, "TransactWriteItems": 1}}


def test_ended_header_leaves_the_listing_and_expires():
    from dataclasses import replace

    from chalicelib.engine.runtime.records import InstanceStatus

    state = new_state()
    ended = replace(
        state.header, status=InstanceStatus.COMPLETED, end_time="2026-11-27T11:00:00.000Z"
    )
    header = item_of(state.id, ended.to_dict())
    assert header.index == {}
    assert header.ttl == 1795777200 + 7 * 86400  # 2026-11-27T11:00Z + 7 days


def _candidates(store, key: str) -> list[str]:
    page = store.query_index(Table.RUNTIME, Index.CANDIDATE_SORT, key)
    return [item.sk for item in page.items]


def test_candidate_items_follow_the_task(store):
    """One ``candidate-sort`` item per candidate of an open unassigned task, kept in step."""
    from dataclasses import replace

    from chalicelib.service.repositories.instances import candidate_task

    aggregates = AggregateStore(store)
    state = new_state()
    task = next(iter(state.tasks.values()))
    state.put(replace(task, assignee=None, candidate_users=("ann", "bob")))
    version = commit(aggregates, state, 0)
    prefix = f"cand#{task.id}#"
    assert _candidates(store, "u#bob") == [prefix + "u#bob"]
    assert _candidates(store, "g#managers") == [prefix + "g#managers"]
    [item] = store.query_index(Table.RUNTIME, Index.CANDIDATE_SORT, "u#ann").items
    assert "kind" not in item.data and item.kind == "candidate"
    assert item.index["sort"] == f"2026-11-27T10:00:01.000Z#{task.id}"
    assert candidate_task(item) == state.tasks[task.id].to_dict()
    # candidate items never become engine records
    loaded = aggregates.load(state.id)
    again = state_of(loaded)
    assert sorted(map(repr, again.to_records())) == sorted(map(repr, state.to_records()))
    # candidates change: stale items go, new ones come
    again.put(replace(again.tasks[task.id], candidate_users=("ann",), candidate_groups=("staff",)))
    version = commit(aggregates, again, version, previous=loaded)
    assert _candidates(store, "u#bob") == [] and _candidates(store, "g#managers") == []
    assert _candidates(store, "u#ann") == [prefix + "u#ann"]
    assert _candidates(store, "g#staff") == [prefix + "g#staff"]
    # claimed: none; unclaimed: back
    loaded = aggregates.load(state.id)
    again = state_of(loaded)
    again.put(replace(again.tasks[task.id], assignee="ann"))
    version = commit(aggregates, again, version, previous=loaded)
    assert _candidates(store, "u#ann") == [] and _candidates(store, "g#staff") == []
    loaded = aggregates.load(state.id)
    again = state_of(loaded)
    again.put(replace(again.tasks[task.id], assignee=None))
    version = commit(aggregates, again, version, previous=loaded)
    assert _candidates(store, "u#ann") == [prefix + "u#ann"]
    # task gone (completed or deleted): all its candidate items go with it
    loaded = aggregates.load(state.id)
    again = state_of(loaded)
    again.remove(again.tasks[task.id])
    commit(aggregates, again, version, previous=loaded)
    assert _candidates(store, "u#ann") == [] and _candidates(store, "g#staff") == []
    assert not [sk for sk in aggregates.load(state.id).items if sk.startswith("cand#")]


def test_assigned_task_has_no_candidate_items():
    from chalicelib.service.repositories.instances import candidate_items

    state = new_state()
    task = next(iter(state.tasks.values()))
    assert task.assignee == "bob" and candidate_items(state.id, task.to_dict()) == []
