"""The layout backfill (``service/instances/backfill.py``) on the in-memory store: instances
written as the code before ``listed_variables``, lookup and candidate items wrote them are found
again by the equality queries, the definition delete check and the candidate queries."""

from __future__ import annotations

from dataclasses import replace

from chalicelib.engine.runtime import StartProcess
from chalicelib.service import unit_of_work
from chalicelib.service.definitions.deploy import any_running
from chalicelib.service.instances.backfill import backfill
from chalicelib.service.instances.lifecycle import delete_instance
from chalicelib.service.repositories.instance_reads import (
    execution_count,
    execution_listing,
    instance_executions,
    instance_lookup,
    read_header,
    running_listing,
    task_lookup,
    task_lookup_count,
    variable_count,
    variable_lookup,
)
from chalicelib.service.repositories.instances import (
    EXECUTION_HEADER,
    LISTED_VARIABLES,
    TASK_UNASSIGNED,
    VARIABLE_NAMES,
    candidate_key,
)
from chalicelib.storage.aggregate import AggregateStore
from chalicelib.storage.ports import Index, Put, SetVersion, Table, VersionIs
from tests.support.layout import make_keyless, make_old
from tests.support.tasks import deploy_onboard


def start(container, definition_id: str, business_key: str) -> str:
    _, result = unit_of_work.run_command(
        container,
        lambda uow: StartProcess(
            definition_id,
            variables={"who": business_key},
            business_key=business_key,
            initiator="starter-user",
        ),
    )
    return result.instance_id


def snapshot(store, instance_ids) -> dict:
    return {i: AggregateStore(store).load(i).items for i in instance_ids}


def by_business_key(store, key: str) -> list[str]:
    return [item.pk for item in instance_lookup(store, "bk", key).items]


def candidates(store, group: str) -> set[str]:
    page = store.query_index(Table.RUNTIME, Index.CANDIDATE_SORT, candidate_key(group=group))
    return {item.pk for item in page.items}


def setup(container):
    definition_id = deploy_onboard(container)
    old = [start(container, definition_id, f"old-{n}") for n in range(3)]
    new = start(container, definition_id, "new")
    for instance_id in old:
        make_old(container.store, instance_id)
    return definition_id, old, new


def test_the_backfill_names_variables_that_do_not_fit_the_header(container):
    """An instance written before ``variable_names`` with over 4 KB of variables: the backfill
    gives its header their names (a page reads them by key), once."""
    definition_id = deploy_onboard(container)
    _, result = unit_of_work.run_command(
        container,
        lambda uow: StartProcess(definition_id, variables={"who": "x", "doc": "y" * 5000}),
    )
    instance_id = result.instance_id
    names = ["doc", "starter", "who"]  # the onboarding process sets ``starter``
    assert read_header(container.store, instance_id).data[VARIABLE_NAMES] == names
    make_old(container.store, instance_id)
    assert VARIABLE_NAMES not in read_header(container.store, instance_id).data
    assert backfill(container.store).updated == 1
    assert read_header(container.store, instance_id).data[VARIABLE_NAMES] == names
    assert backfill(container.store).updated == 0


def test_old_instances_are_found_again_after_the_backfill(container):
    store = container.store
    definition_id, old, new = setup(container)
    assert by_business_key(store, "old-0") == []
    assert {item.pk for item in instance_lookup(store, "pdi", definition_id).items} == {new}
    assert [item.pk for item in variable_lookup(store, "who", ["old-1"]).items] == []
    assert variable_count(store, "who", "old-1") == 0 and variable_count(store, "who", "new") == 1
    assert candidates(store, "managers") == {new}
    before = snapshot(store, old + [new])

    dry = backfill(store, dry_run=True, page_size=2)
    assert (dry.scanned, dry.updated, dry.current, dry.conflicts) == (4, 3, 1, 0)
    assert dry.puts > 0 and dry.deletes == 0
    assert snapshot(store, old + [new]) == before  # a dry run writes nothing

    report = backfill(store, page_size=2)
    assert (report.scanned, report.updated, report.current, report.conflicts) == (4, 3, 1, 0)
    assert (report.puts, report.deletes) == (dry.puts, dry.deletes)
    for n, instance_id in enumerate(old):
        assert by_business_key(store, f"old-{n}") == [instance_id]
        header = read_header(store, instance_id)
        assert header.data[LISTED_VARIABLES]["who"] == f"old-{n}"
        assert header.version == before[instance_id]["#header"].version + 1
    assert {item.pk for item in instance_lookup(store, "pdi", definition_id).items} == {
        *old,
        new,
    }
    assert candidates(store, "managers") == {*old, new}
    assert candidates(store, "internal/role/hr") == {*old, new}
    for n, instance_id in enumerate(old):  # the variable lookup items too, and their counts
        assert [item.pk for item in variable_lookup(store, "who", [f"old-{n}"]).items] == [
            instance_id
        ]
        assert variable_count(store, "who", f"old-{n}") == 1
    page = store.query_index(Table.RUNTIME, Index.CANDIDATE_SORT, candidate_key(user="bob"))
    assert {item.pk for item in page.items} == {*old, new}
    after = snapshot(store, old + [new])

    again = backfill(store)
    assert (again.scanned, again.updated, again.current, again.puts, again.deletes) == (
        4,
        0,
        4,
        0,
        0,
    )
    assert snapshot(store, old + [new]) == after  # the second run writes nothing


def test_the_delete_check_sees_an_old_instance_after_the_backfill(container):
    store = container.store
    definition_id = deploy_onboard(container)
    instance_id = start(container, definition_id, "only")
    make_old(store, instance_id)
    assert not any_running(container, [definition_id])
    backfill(store)
    assert any_running(container, [definition_id])


def test_stale_candidate_items_of_an_assigned_task_are_deleted(container):
    """Candidate and unassigned task lookup items left behind (the task was assigned) go, and
    their counts with them."""
    store = container.store
    definition_id = deploy_onboard(container)
    instance_id = start(container, definition_id, "stale")
    aggregate = AggregateStore(store).load(instance_id)
    [task] = [item for item in aggregate.items.values() if item.sk.startswith("task#")]
    store.transact(
        [
            Put(Table.RUNTIME, replace(task, data={**task.data, "assignee": "bob"})),
            SetVersion(
                Table.RUNTIME,
                instance_id,
                "#header",
                aggregate.version,
                VersionIs(aggregate.version),
            ),
        ]
    )
    report = backfill(store)
    # candidates bob, managers, internal/role/hr and the task's unassigned task lookup item
    assert (report.updated, report.deletes) == (1, 4)
    assert candidates(store, "managers") == set()
    assert not task_lookup(store, TASK_UNASSIGNED).items
    assert task_lookup_count(store, TASK_UNASSIGNED) == 0
    assert backfill(store).updated == 0


class RacingStore:
    """A store whose next ``races`` transactions each lose to a concurrent commit (the header's
    version moves on just before)."""

    def __init__(self, store, races: int):
        self.store = store
        self.races = races

    def __getattr__(self, name):
        return getattr(self.store, name)

    def transact(self, writes, *, token=None):
        if self.races:
            self.races -= 1
            header = self.store.get(Table.RUNTIME, writes[0].item.pk, "#header")
            self.store.transact(
                [
                    SetVersion(
                        Table.RUNTIME,
                        header.pk,
                        "#header",
                        header.version + 1,
                        VersionIs(header.version),
                    )
                ]
            )
        return self.store.transact(writes, token=token)


def test_a_concurrent_commit_wins_and_the_instance_is_retried(container):
    store = container.store
    definition_id = deploy_onboard(container)
    instance_id = start(container, definition_id, "racy")
    make_old(store, instance_id)
    report = backfill(RacingStore(store, races=1))
    assert (report.updated, report.conflicts) == (1, 0)
    assert by_business_key(store, "racy") == [instance_id]


def test_an_instance_that_keeps_losing_is_reported_and_left(container):
    store = container.store
    definition_id = deploy_onboard(container)
    instance_id = start(container, definition_id, "busy")
    make_old(store, instance_id)
    report = backfill(RacingStore(store, races=5), attempts=2)
    assert (report.updated, report.conflicts) == (0, 1)
    assert report.skipped == [(instance_id, "concurrent commits won every attempt")]
    assert by_business_key(store, "busy") == []
    assert backfill(store).updated == 1  # a later run does it


def listed_executions(store) -> dict[str, str]:
    """Listed execution id -> its instance (the ``execution#n`` listing)."""
    page = execution_listing(store, limit=1000)
    assert page.next_token is None
    return {item.data["id"]: item.pk for item in page.items}


def test_old_executions_are_listed_and_counted_after_the_backfill(container):
    store = container.store
    _, old, new = setup(container)
    executions = {
        item.data["id"]: instance_id
        for instance_id in old + [new]
        for item in instance_executions(store, instance_id).items
    }
    assert len(executions) >= 8  # a root and a waiting child each
    assert set(listed_executions(store).values()) == {new}
    listed_before = execution_count(store)
    assert listed_before == len(listed_executions(store))

    backfill(store)
    assert listed_executions(store) == executions
    assert execution_count(store) == len(executions)  # the backfill added its counts
    for instance_id in old:
        header = read_header(store, instance_id)
        for item in instance_executions(store, instance_id).items:
            copy = item.data[EXECUTION_HEADER]
            assert copy["business_key"] == header.data["business_key"]
            assert copy["start_time"] == header.data["start_time"]
            assert item.index["sort"].startswith(f"{header.data['start_time']}#{instance_id}#")
    after = snapshot(store, old + [new])
    again = backfill(store)
    assert (again.updated, again.puts) == (0, 0) and snapshot(store, old + [new]) == after
    assert execution_count(store) == len(executions)


def _skipped_to(store, count: int, **lookup) -> list[str]:
    """The instances the running listing (or ``lookup``'s partition) answers after an offset of
    ``count`` skipped on the key items, walking the header reads from the skip's token."""
    from chalicelib.service.repositories.instance_reads import running_skip

    token, ended, _ = running_skip(store, count, **lookup)
    ids: list[str] = []
    while not ended and token is not None:
        if lookup:
            page = instance_lookup(store, lookup["attribute"], lookup["value"], start=token)
        else:
            page = running_listing(store, start=token)
        ids += [item.pk for item in page.items]
        token = page.next_token
    return ids


def test_old_instances_gain_their_key_items_and_offsets_skip_them(container):
    """Instances started before the key items are miscounted by an offset's skip until the
    backfill adds their key items: no count moves, and a second run writes
    nothing."""
    from chalicelib.service.repositories.instance_reads import lookup_count, running_count

    store = container.store
    definition_id = deploy_onboard(container)
    started = []
    for n in range(5):
        started.append(start(container, definition_id, f"k-{n}"))
        container.clock.advance(seconds=1)
    old = started[1:4]
    for instance_id in old:
        make_keyless(store, instance_id)
    listed = [item.pk for item in running_listing(store).items]
    assert listed == started
    # two key items of five: skipping two goes past the fifth instance
    assert _skipped_to(store, 2) != started[2:]
    assert _skipped_to(store, 2, attribute="pdi", value=definition_id) == []
    counts = (running_count(store), lookup_count(store, "pdi", definition_id))
    assert counts == (5, 5)

    report = backfill(store)
    assert (report.scanned, report.updated, report.current) == (5, 3, 2)
    # each: the listing's key item and those of business key, definition key and id, start user
    assert (report.puts, report.deletes) == (3 * 5, 0)
    for count in (1, 2, 4):
        assert _skipped_to(store, count) == started[count:]
        assert _skipped_to(store, count, attribute="pdi", value=definition_id) == started[count:]
    assert _skipped_to(store, 2, attribute="bk", value="k-2") == []
    assert (running_count(store), lookup_count(store, "pdi", definition_id)) == counts
    after = snapshot(store, started)
    again = backfill(store)
    assert (again.updated, again.puts) == (0, 0) and snapshot(store, started) == after


class EndingStore(RacingStore):
    """A store whose first transaction loses to a commit that ends the instance."""

    def __init__(self, store, container, instance_id: str):
        super().__init__(store, races=0)
        self.end = lambda: delete_instance(container, "admin", instance_id)

    def transact(self, writes, *, token=None):
        if self.end is not None:
            end, self.end = self.end, None
            end()
        return self.store.transact(writes, token=token)


def test_the_key_items_of_an_instance_ended_meanwhile_are_not_written(container):
    """The backfill's commit is conditioned on the version it loaded: an end committed meanwhile
    (which deletes the key items) wins, and the retry finds nothing to add, so no offset skips
    on an ended instance."""
    from chalicelib.service.repositories.instances import INSTANCE_KEYS

    store = container.store
    definition_id = deploy_onboard(container)
    instance_id = start(container, definition_id, "ending")
    make_keyless(store, instance_id)
    racing = EndingStore(store, container, instance_id)
    report = backfill(racing)
    assert racing.end is None  # the end did commit first
    assert (report.updated, report.current, report.conflicts) == (0, 1, 0)
    assert not [sk for sk in AggregateStore(store).load(instance_id).items if "look#" in sk]
    for shard in range(8):
        page = store.query_index(Table.RUNTIME, Index.KIND_SHARD_SORT, f"{INSTANCE_KEYS}#{shard}")
        assert page.items == []
