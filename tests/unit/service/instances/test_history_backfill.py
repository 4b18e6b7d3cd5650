"""The history backfill (``service/instances/history_backfill.py``) on the in-memory store:
history written before the read model is listed, counted and carries its variables after it;
a second run writes nothing; a concurrent commit wins and the instance is retried."""

from __future__ import annotations

from chalicelib.engine.runtime import StartProcess
from chalicelib.errors import ConcurrencyError
from chalicelib.service import unit_of_work
from chalicelib.service.instances.history_backfill import backfill_history
from chalicelib.service.instances.lifecycle import delete_instance
from chalicelib.service.repositories import counters
from chalicelib.service.repositories.history import read_process
from chalicelib.service.repositories.history_index import (
    FINISHED,
    UNFINISHED,
    history_count,
    lookup_page,
)
from chalicelib.service.repositories.instances import LISTED_VARIABLES
from chalicelib.storage.ports import Index, Table
from tests.support.layout import make_old_history
from tests.support.tasks import deploy_onboard


def start(container, definition_id: str, business_key: str) -> str:
    _, result = unit_of_work.run_command(
        container,
        lambda uow: StartProcess(
            definition_id, variables={"who": business_key}, business_key=business_key
        ),
    )
    return result.instance_id


def setup(container) -> list[str]:
    definition_id = deploy_onboard(container)
    old = [start(container, definition_id, f"old-{n}") for n in range(3)]
    delete_instance(container, "openidm-admin", old[0])
    for instance_id in old:
        make_old_history(container.store, instance_id)
    return old


def test_old_history_is_listed_counted_and_listed_with_its_variables(container):
    store = container.store
    old = setup(container)
    assert lookup_page(store, state=FINISHED).items == []
    store.transact([counters.add(Table.HISTORY, Index.LOOKUP_SORT, "state=unfinished", "x", 7)])
    dry = backfill_history(store, dry_run=True)
    assert (dry.scanned, dry.updated, dry.counters) == (3, 3, 1)
    assert lookup_page(store, state=FINISHED).items == []  # nothing written
    report = backfill_history(store)
    assert (report.scanned, report.updated, report.conflicts, report.counters) == (3, 3, 0, 1)
    assert [i.pk for i in lookup_page(store, state=FINISHED).items] == old[:1]
    assert [i.pk for i in lookup_page(store, state=UNFINISHED).items] == old[1:]
    assert [i.pk for i in lookup_page(store, "bk", "old-1").items] == [old[1]]
    assert history_count(store, state=UNFINISHED) == 2 and history_count(store) == 3
    # the finished one's process item lists its variables; a running one's waits for a commit
    assert read_process(store, old[0]).data[LISTED_VARIABLES]["who"] == "old-0"
    assert LISTED_VARIABLES not in read_process(store, old[1]).data
    again = backfill_history(store)
    assert (again.updated, again.current, again.counters) == (0, 3, 0)


class RacingStore:
    """A store whose first ``races`` transactions lose to a concurrent commit."""

    def __init__(self, store, races: int):
        self.store, self.races = store, races

    def __getattr__(self, name):
        return getattr(self.store, name)

    def transact(self, writes, *, token=None):
        if self.races:
            self.races -= 1
            raise ConcurrencyError("a concurrent commit won")
        return self.store.transact(writes, token=token)


def test_a_concurrent_commit_wins_and_the_instance_is_retried(container):
    store = container.store
    definition_id = deploy_onboard(container)
    instance_id = start(container, definition_id, "racy")
    make_old_history(store, instance_id)
    report = backfill_history(RacingStore(store, races=1))
    assert (report.updated, report.conflicts) == (1, 0)
    assert [i.pk for i in lookup_page(store, "bk", "racy").items] == [instance_id]
    lost = backfill_history(RacingStore(store, races=0))
    assert lost.updated == 0


def test_the_count_of_historic_tasks_is_recounted(container):
    from chalicelib.service.repositories.history import TASK_LISTING
    from chalicelib.service.repositories.history_index import instance_task_count, task_count

    store = container.store
    old = setup(container)
    tasks = sum(instance_task_count(store, instance_id) for instance_id in old)
    assert task_count(store) == tasks >= 3
    store.transact([counters.add(Table.HISTORY, Index.KIND_SHARD_SORT, TASK_LISTING, "x", 5)])
    assert task_count(store) == tasks + 5
    backfill_history(store)
    assert task_count(store) == tasks
    assert backfill_history(store).counters == 0


def test_historic_tasks_get_their_state_partition_and_its_counts(container):
    from dataclasses import replace

    from chalicelib.service.repositories.history import historic_tasks
    from chalicelib.service.repositories.history_index import task_state_count, task_state_page
    from chalicelib.storage.ports import Put

    store = container.store
    old = setup(container)
    tasks = [item for instance_id in old for item in historic_tasks(store, instance_id).items]
    finished = sorted(i.pk for i in tasks if i.data.get("endTime"))
    unfinished = sorted(i.pk for i in tasks if not i.data.get("endTime"))
    assert finished and unfinished
    # as written before the state partition: no ``lookup``, counts off
    store.transact(
        [
            Put(
                Table.HISTORY, replace(i, index={k: v for k, v in i.index.items() if k != "lookup"})
            )
            for i in tasks
        ]
        + [counters.add(Table.HISTORY, Index.LOOKUP_SORT, "htask-state=finished", "x", 4)]
    )
    assert task_state_page(store, False).items == []
    backfill_history(store)
    assert sorted(i.pk for i in task_state_page(store, True).items) == finished
    assert sorted(i.pk for i in task_state_page(store, False).items) == unfinished
    assert task_state_count(store, True) == len(finished)
    assert task_state_count(store, False) == len(unfinished)
    again = backfill_history(store)
    assert (again.puts, again.counters) == (0, 0)


def test_a_task_completed_while_its_repair_is_written_keeps_its_end(container, monkeypatch):
    """The repair of an unfinished historic task rewrites the whole item: a completion
    committed between the repair's read and its write must win (the write is conditioned on
    the instance's header version), and the retry repairs what the completion wrote."""
    from dataclasses import replace

    from chalicelib.service.instances import history_backfill
    from chalicelib.service.repositories.history import historic_tasks
    from chalicelib.service.tasks.commands import complete_task
    from chalicelib.storage.ports import Put

    store = container.store
    running = setup(container)[1]
    [task] = historic_tasks(store, running).items
    assert not task.data.get("endTime")
    stale = replace(task, index={k: v for k, v in task.index.items() if k != "lookup"})
    store.transact([Put(Table.HISTORY, stale)])
    real = history_backfill.task_repairs
    raced: list[str] = []

    def racing(store_, instance_id):
        found = real(store_, instance_id)
        if instance_id == running and not raced:  # the repair has read the open task
            task_id = task.sk.removeprefix("task#")
            complete_task(
                container, task_id, {"decision": "reject"}, authorize=lambda s: None, user_id="u"
            )
            raced.append(task_id)
        return found

    monkeypatch.setattr(history_backfill, "task_repairs", racing)
    report = backfill_history(store)

    assert raced and report.conflicts == 0
    [after] = historic_tasks(store, running).items
    assert after.data.get("endTime"), "the repair overwrote the completion"
    assert after.index.get("lookup", "").startswith("htask-state=finished")
