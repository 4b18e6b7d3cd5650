"""The historic tasks' state partitions (``htask-state=<finished|unfinished>#n`` of the history
table's ``lookup-sort`` index) and their counts, written by the commit, on both stores."""

from __future__ import annotations

from types import SimpleNamespace

from chalicelib import ids
from chalicelib.clock import FixedClock
from chalicelib.engine.runtime.effects import HistoryKind, HistoryRecord
from chalicelib.engine.runtime.records import InstanceRecord, TaskRecord
from chalicelib.service.repositories.history import task_state_base
from chalicelib.service.repositories.history_index import (
    CommittedInstance,
    commit_writes,
    deletion_counts,
    task_count,
    task_state_count,
    task_state_page,
    task_state_skip,
)
from chalicelib.service.repositories.instances import item_of
from chalicelib.storage.aggregate import HEADER_SK, Aggregate
from chalicelib.storage.ports import Delete, Table

H = Table.HISTORY
CONTAINER = SimpleNamespace(settings=SimpleNamespace(history_ttl_days=0), clock=FixedClock())
ENDED = "2026-11-27T12:00:00.000Z"


def header(instance_id: str) -> InstanceRecord:
    return InstanceRecord(
        id=instance_id,
        definition_id="p:1:d",
        definition_key="p",
        start_time="2026-11-27T10:00:00.000Z",
    )


def task(instance_id: str, n: int) -> TaskRecord:
    return TaskRecord(
        id=ids.child_id(instance_id),
        instance_id=instance_id,
        execution_id=instance_id,
        definition_id="p:1:d",
        task_definition_key=f"t{n}",
        create_time=f"2026-11-27T10:00:{n:02d}.000Z",
    )


def historic(record: TaskRecord, end: str | None = None) -> HistoryRecord:
    """The task's history record as the engine emits it at creation (or at its end)."""
    fields = {
        "id": record.id,
        "processInstanceId": record.instance_id,
        "taskDefinitionKey": record.task_definition_key,
        "createTime": record.create_time,
        "startTime": record.create_time,
        "endTime": end,
        "deleteReason": None,
    }
    return HistoryRecord(record.instance_id, HistoryKind.TASK_INSTANCE, record.id, fields)


def loaded(instance: InstanceRecord, *tasks: TaskRecord) -> Aggregate:
    """The runtime collection of a running instance holding ``tasks``, as a commit loads it."""
    items = {HEADER_SK: item_of(instance.id, instance.to_dict())}
    for record in tasks:
        items[f"task#{record.id}"] = item_of(instance.id, record.to_dict())
    return Aggregate(instance.id, 1, items)


def commit(store, known: CommittedInstance, effects: list[HistoryRecord]) -> None:
    store.transact(commit_writes(CONTAINER, effects, lambda _: known))


def page_ids(store, finished: bool, **page) -> list[str]:
    return [
        item.sk.removeprefix("task#") for item in task_state_page(store, finished, **page).items
    ]


def paged(store, finished: bool, limit: int, descending: bool = False) -> list[str]:
    seen, token = [], None
    while True:
        page = task_state_page(store, finished, limit=limit, start=token, descending=descending)
        seen.extend(item.sk.removeprefix("task#") for item in page.items)
        token = page.next_token
        if token is None:
            return seen


def test_created_tasks_are_unfinished_an_end_moves_them_and_the_counts_follow(store):
    instance = header(ids.new_id())
    first, second, third, fourth = (task(instance.id, n) for n in (1, 2, 3, 4))
    # the start creates three tasks and creates and ends a fourth in the same commit
    effects = [historic(first), historic(second), historic(third), historic(fourth, ENDED)]
    commit(store, CommittedInstance(None, instance, keeps_variables=False), effects)
    assert page_ids(store, False) == [first.id, second.id, third.id]
    assert page_ids(store, False, descending=True) == [third.id, second.id, first.id]
    assert page_ids(store, True) == [fourth.id]
    [item] = task_state_page(store, True).items
    assert item.pk == instance.id and item.data["endTime"] == ENDED
    assert task_state_count(store, False) == 3 and task_state_count(store, True) == 1
    assert task_count(store) == 4
    # an update of a task the instance had (no end) moves and counts nothing
    known = CommittedInstance(loaded(instance, first, second, third), instance, False)
    commit(store, known, [historic(second)])
    assert page_ids(store, False) == [first.id, second.id, third.id]
    assert task_state_count(store, False) == 3 and task_count(store) == 4
    # ending the second moves it to the finished partition, in creation order there
    commit(store, known, [historic(second, ENDED)])
    assert page_ids(store, False) == [first.id, third.id]
    assert page_ids(store, True) == [second.id, fourth.id]
    assert task_state_count(store, False) == 2 and task_state_count(store, True) == 2
    assert task_count(store) == 4
    # the history deleted: its tasks leave both partitions and their counts
    items = store.query(H, instance.id).items
    store.transact([Delete.of(H, item) for item in items] + deletion_counts(items))
    assert page_ids(store, False) == [] and page_ids(store, True) == []
    assert task_state_count(store, False) == 0 and task_state_count(store, True) == 0
    assert task_count(store) == 0


def test_a_state_partition_is_sharded_and_paged_exactly_in_both_orders(store):
    created: list[TaskRecord] = []
    for n in range(1, 10):
        instance = header(ids.new_id())
        record = task(instance.id, n)
        commit(store, CommittedInstance(None, instance, False), [historic(record)])
        created.append(record)
    expected = [record.id for record in created]
    shards = {
        item.index["lookup"] for item in task_state_page(store, False, limit=len(expected)).items
    }
    assert len(shards) > 1 and all(s.startswith(task_state_base(False) + "#") for s in shards)
    assert paged(store, False, 2) == expected
    assert paged(store, False, 4, descending=True) == expected[::-1]
    assert paged(store, True, 2) == []
    # an offset skips on the partition: the token resumes after the first 4, in order
    token, ended, following = task_state_skip(store, False, 4)
    assert following is None and not ended
    assert continued(store, token) == expected[4:]
    token, ended, following = task_state_skip(store, False, len(expected))
    assert token is None and ended
    # with ``then``, the items that follow come with it, and its token goes on after them
    token, ended, following = task_state_skip(store, False, 4, then=3)
    assert following is not None and following.items
    after = [item.sk.removeprefix("task#") for item in following.items]
    assert after + continued(store, following.next_token) == expected[4:]


def continued(store, token: str | None) -> list[str]:
    rest: list[str] = []
    while token is not None:
        page = task_state_page(store, False, limit=3, start=token)
        rest.extend(item.sk.removeprefix("task#") for item in page.items)
        token = page.next_token
    return rest
