"""A process instance's records stored as runtime items, on both stores."""

from __future__ import annotations

import hashlib
import os

from chalicelib import aws, ids
from chalicelib.engine.runtime.records import (
    ExecutionRecord,
    InstanceRecord,
    TaskRecord,
    VariableRecord,
)
from chalicelib.engine.runtime.state import InstanceState
from chalicelib.service.repositories.instances import (
    LISTED_VARIABLES,
    VARIABLE_NAMES,
    changed_items,
    item_of,
    state_of,
)
from chalicelib.storage.aggregate import AggregateStore
from chalicelib.storage.ports import Delete, Index, Table
from tests.support.counting import counting


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


def _lookups(store, key: str) -> list[str]:
    page = store.query_index(Table.RUNTIME, Index.LOOKUP_SORT, key)
    return [f"{item.pk}/{item.sk}" for item in page.items]


def test_lookup_items_follow_the_header(store):
    """One ``lookup-sort`` item per set lookup attribute of a running instance, holding the
    header data (with its listed variables) but no ``kind``; rewritten with the header, gone
    when the instance ends."""
    from dataclasses import replace

    from chalicelib.engine.runtime.records import InstanceStatus
    from chalicelib.service.repositories.instance_reads import instance_lookup
    from chalicelib.service.repositories.instances import LISTED_VARIABLES, lookup_key

    aggregates = AggregateStore(store)
    state = new_state()
    state.put(replace(state.header, business_key="bk-1", start_user_id="ann"))
    version = commit(aggregates, state, 0)
    i = state.id
    assert _lookups(store, "bk=bk-1") == [f"{i}/look#bk"]
    assert _lookups(store, "pdk=p") == [f"{i}/look#pdk"]
    assert _lookups(store, "pdi=p:1:d") == [f"{i}/look#pdi"]
    assert _lookups(store, "su=ann") == [f"{i}/look#su"]
    assert store.get(Table.RUNTIME, i, "look#sup") is None  # no super instance: no item
    [item] = instance_lookup(store, "bk", "bk-1").items
    header = store.get(Table.RUNTIME, i, "#header")
    assert "kind" not in item.data and item.kind == "lookup"
    assert item.data == {k: v for k, v in header.data.items() if k != "kind"}
    assert item.data[LISTED_VARIABLES] == {"amount": 42}
    assert item.index["sort"] == header.index["sort"]
    # lookup items never become engine records
    loaded = aggregates.load(i)
    again = state_of(loaded)
    assert sorted(map(repr, again.to_records())) == sorted(map(repr, state.to_records()))
    # a variable of the instance scope changes: header and lookups carry the new value
    again.put(VariableRecord(scope_id=i, name="amount", value=43))
    version = commit(aggregates, again, version, previous=loaded)
    [item] = instance_lookup(store, "pdk", "p").items
    assert item.data[LISTED_VARIABLES] == {"amount": 43}
    assert store.get(Table.RUNTIME, i, "#header").data[LISTED_VARIABLES] == {"amount": 43}
    # the business key changes: the old partition loses it
    loaded = aggregates.load(i)
    again = state_of(loaded)
    again.put(replace(again.header, business_key="bk-2"))
    version = commit(aggregates, again, version, previous=loaded)
    assert _lookups(store, "bk=bk-1") == [] and _lookups(store, "bk=bk-2") == [f"{i}/look#bk"]
    # the instance ends: every lookup item goes in the same commit
    loaded = aggregates.load(i)
    again = state_of(loaded)
    again.put(
        replace(again.header, status=InstanceStatus.COMPLETED, end_time="2026-11-27T11:00:00.000Z")
    )
    commit(aggregates, again, version, previous=loaded)
    for key in ("bk=bk-2", "pdk=p", "pdi=p:1:d", "su=ann"):
        assert _lookups(store, key) == []
    long_key = "x" * 300  # longer than LOOKUP_VALUE_BYTES: keyed by its hash
    assert lookup_key("bk", long_key) == "bk#" + hashlib.sha256(long_key.encode()).hexdigest()


def test_variables_that_do_not_fit_are_not_listed(store):
    from chalicelib.service.repositories.instances import LISTED_VARIABLES_BYTES, listed_variables

    assert listed_variables({"a": 1, "b": "x", "c": None, "d": True, "openidmcontext": {}}) == {
        "a": 1,
        "b": "x",
        "c": None,
        "d": True,
    }
    # any JSON value, objects and arrays included, while the whole fits 4 KB
    assert listed_variables({"a": {"nested": [1, {"b": None}]}, "c": [1]}) == {
        "a": {"nested": [1, {"b": None}]},
        "c": [1],
    }
    assert listed_variables({"a": "x" * 2000}) == {"a": "x" * 2000}
    assert listed_variables({"a": {"text": "x" * 4100}}) is None
    assert listed_variables({f"v{n}": "x" * 500 for n in range(9)}) is None  # > 4 KB in all
    aggregates = AggregateStore(store)
    state = new_state()
    state.put(VariableRecord(scope_id=state.id, name="doc", value={"a": "x" * 5000}))
    version = commit(aggregates, state, 0)
    header = store.get(Table.RUNTIME, state.id, "#header")
    assert LISTED_VARIABLES not in header.data
    assert header.data[VARIABLE_NAMES] == ["amount", "doc"]  # their names instead
    # the large one goes: the rest fits again
    loaded = aggregates.load(state.id)
    again = state_of(loaded)
    again.remove(again.local_variables(state.id)["doc"])
    commit(aggregates, again, version, previous=loaded)
    header = store.get(Table.RUNTIME, state.id, "#header")
    assert header.data[LISTED_VARIABLES] == {"amount": 42}
    assert VARIABLE_NAMES not in header.data
    assert LISTED_VARIABLES_BYTES == 4096


def test_headers_name_the_variables_that_do_not_fit_them():
    """``carried_variables``: the values when they fit, else at most 100 names within 4 KB (a
    page reads them by key), else nothing (a reader Queries them); hidden ones never."""
    from chalicelib.service.repositories.instances import (
        VARIABLE_NAMES_MAX,
        carried_variables,
        with_carried_variables,
    )

    assert carried_variables({"a": 1}) == {LISTED_VARIABLES: {"a": 1}}
    big = {"b": "x" * 4100, "a": 1, "openidmcontext": {}}
    assert carried_variables(big) == {VARIABLE_NAMES: ["a", "b"]}
    names = {f"v{n:03}": "y" * 50 for n in range(VARIABLE_NAMES_MAX)}
    assert carried_variables(names) == {VARIABLE_NAMES: sorted(names)}
    assert carried_variables({**names, "one-more": 1}) == {}  # more names than a header holds
    assert carried_variables({"n" * 250 + str(n): "y" * 50 for n in range(20)}) == {}  # > 4 KB
    # what the data carried before is replaced, whichever it was
    data = {"id": "i", LISTED_VARIABLES: {"a": 1}}
    assert with_carried_variables(data, big) == {"id": "i", VARIABLE_NAMES: ["a", "b"]}
    assert with_carried_variables({"id": "i", VARIABLE_NAMES: ["b"]}, {}) == {
        "id": "i",
        LISTED_VARIABLES: {},
    }


def _committed(store, variables: dict) -> str:
    """A new instance holding ``variables`` too, set 40 at a time (a commit's writes fit one
    transaction)."""
    aggregates = AggregateStore(store)
    state = new_state()
    version = commit(aggregates, state, 0)
    names = list(variables)
    for first in range(0, len(names), 40):
        loaded = aggregates.load(state.id)
        again = state_of(loaded)
        for name in names[first : first + 40]:
            again.put(VariableRecord(scope_id=state.id, name=name, value=variables[name]))
        version = commit(aggregates, again, version, previous=loaded)
    return state.id


def test_a_page_of_headers_reads_their_named_variables_in_one_batch(store):
    """``carried_runtime_variables``: listed variables without a read, named ones of every
    header in one BatchGetItem, and (``alone``) an instance with more than 100 variables in one
    Query; a named variable gone since is left out."""
    from chalicelib.service.repositories.instance_reads import (
        carried_runtime_variables,
        read_header,
    )

    doc = {"text": "x" * 5000}
    listed = _committed(store, {})
    named = [_committed(store, {"doc": doc, "n": n}) for n in range(3)]
    many_values = {f"v{n:03}": "y" * 50 for n in range(101)}
    many = _committed(store, many_values)
    headers = [read_header(store, i).data for i in [listed, *named, many]]
    assert VARIABLE_NAMES not in headers[-1] and LISTED_VARIABLES not in headers[-1]
    store.transact([Delete(Table.RUNTIME, named[2], f"var#{named[2]}/doc")])  # gone since

    with counting(store) as calls:
        found = carried_runtime_variables(store, headers)
    assert calls == {"batch_get": 1, "query": 1}
    assert found[listed] == {"amount": 42}
    assert found[named[0]] == {"amount": 42, "doc": doc, "n": 0}
    assert list(found[named[1]]) == ["amount", "doc", "n"]  # in name order, as a Query reads
    assert found[named[2]] == {"amount": 42, "n": 2}
    assert found[many] == {"amount": 42, **many_values}
    with counting(store) as calls:
        assert many not in carried_runtime_variables(store, headers, alone=False)
    assert calls == {"batch_get": 1}
    with counting(store) as calls:
        assert carried_runtime_variables(store, headers[:1]) == {listed: {"amount": 42}}
    assert calls == {}


def test_variable_commit_with_lookups_is_still_one_request(moto_tables):
    from dataclasses import replace

    from chalicelib.storage.dynamo import DynamoItemStore

    store = DynamoItemStore(moto_tables, lock=aws.moto_lock())
    aggregates = AggregateStore(store)
    state = new_state()
    state.put(replace(state.header, business_key="bk", start_user_id="ann"))
    with aws.counting() as counter:
        commit(aggregates, state, 0)
    assert counter.counts == {"dynamodb": {"TransactWriteItems": 1}}
    with aws.counting() as counter:
        loaded = aggregates.load(state.id)
        again = state_of(loaded)
        again.put(VariableRecord(scope_id=state.id, name="amount", value=7))
        commit(aggregates, again, loaded.version, previous=loaded)
    assert counter.counts == {"dynamodb": {"Query": 1, "TransactWriteItems": 1}}


def counted_commit(aggregates, state, version: int, previous=None) -> int:
    """``commit`` with the counter writes the unit of work adds (``counters``)."""
    from chalicelib.service.repositories import counters

    puts, deletes = changed_items(state.changes(), previous)
    writes = aggregates.writes(state.id, version, puts, deletes, previous=previous)
    stored = previous.items if previous is not None else {}
    writes += counters.membership_deltas(Table.RUNTIME, state.id, puts, deletes, stored)
    aggregates.store.transact(writes)
    state.mark_clean()
    return version + 1


def _var_lookups(store, name: str, text: str) -> list[str]:
    from chalicelib.service.repositories.instances import variable_lookup_key

    return _lookups(store, variable_lookup_key(name, text))


def test_variable_lookup_items_follow_the_variables(store):
    """One key-only ``lookup-sort`` item per instance-scope variable with a text (as a
    ``var-`` parameter compares it), written only when that variable's text changes, deleted
    when it goes, loses its text, or the instance ends; the header is read by ``batch_get``."""
    from dataclasses import replace

    from chalicelib.engine.runtime.records import InstanceStatus
    from chalicelib.service.repositories.instance_reads import variable_count, variable_lookup

    aggregates = AggregateStore(store)
    state = new_state()
    i = state.id
    for name, value in [
        ("s", "seven"),
        ("flag", True),
        ("ratio", 7.0),
        ("nothing", None),
        ("obj", {"a": 1}),
        ("openidmcontext", "x"),
        ("long", "y" * 2000),
    ]:
        state.put(VariableRecord(scope_id=i, name=name, value=value))
    version = counted_commit(aggregates, state, 0)
    header = store.get(Table.RUNTIME, i, "#header")
    assert _var_lookups(store, "amount", "42") == [f"{i}/look#var/amount"]
    assert _var_lookups(store, "s", "seven") == [f"{i}/look#var/s"]
    assert _var_lookups(store, "flag", "true") == [f"{i}/look#var/flag"]
    assert _var_lookups(store, "ratio", "7.0") == [f"{i}/look#var/ratio"]
    assert _var_lookups(store, "ratio", "7") == []
    assert _var_lookups(store, "long", "y" * 2000) == [f"{i}/look#var/long"]
    for absent in ("nothing", "obj", "openidmcontext"):  # no text, or hidden: no item
        assert store.get(Table.RUNTIME, i, f"look#var/{absent}") is None
    item = store.get(Table.RUNTIME, i, "look#var/amount")
    assert item.data == {"name": "amount"} and item.index["sort"] == header.index["sort"]
    [found] = variable_lookup(store, "amount", ["42"]).items
    assert found.sk == "#header" and found.data == header.data
    assert variable_count(store, "amount", "42") == 1 and variable_count(store, "s", "x") == 0
    # never engine records
    loaded = aggregates.load(i)
    again = state_of(loaded)
    assert sorted(map(repr, again.to_records())) == sorted(map(repr, state.to_records()))
    # a variable changes: its item moves to the new partition, the others are not rewritten
    again.put(VariableRecord(scope_id=i, name="amount", value=43))
    puts, _ = changed_items(again.changes(), loaded)
    assert [p.sk for p in puts if p.sk.startswith("look#var")] == ["look#var/amount"]
    version = counted_commit(aggregates, again, version, previous=loaded)
    assert _var_lookups(store, "amount", "42") == []
    assert _var_lookups(store, "amount", "43") == [f"{i}/look#var/amount"]
    assert variable_count(store, "amount", "42") == 0
    assert variable_count(store, "amount", "43") == 1
    # a variable removed, another set to null: their items go
    loaded = aggregates.load(i)
    again = state_of(loaded)
    again.remove(again.local_variables(i)["s"])
    again.put(VariableRecord(scope_id=i, name="flag", value=None))
    version = counted_commit(aggregates, again, version, previous=loaded)
    assert _var_lookups(store, "s", "seven") == [] and _var_lookups(store, "flag", "true") == []
    # a variable of another scope is not indexed
    loaded = aggregates.load(i)
    again = state_of(loaded)
    child = next(e for e in again.executions.values() if e.parent_id)
    again.put(VariableRecord(scope_id=child.id, name="local", value="z"))
    version = counted_commit(aggregates, again, version, previous=loaded)
    assert _var_lookups(store, "local", "z") == []
    # the instance ends: every variable item goes in the same commit
    loaded = aggregates.load(i)
    again = state_of(loaded)
    again.put(
        replace(again.header, status=InstanceStatus.COMPLETED, end_time="2026-11-27T11:00:00.000Z")
    )
    counted_commit(aggregates, again, version, previous=loaded)
    assert [sk for sk in aggregates.load(i).items if sk.startswith("look#")] == []
    assert _var_lookups(store, "amount", "43") == [] and variable_count(store, "amount", "43") == 0


def test_many_variables_overflow_into_one_item(store):
    """More than ``VARIABLE_LOOKUP_MAX`` indexable variables: one ``VARIABLE_OVERFLOW`` item
    instead, which every variable lookup reads too (and which makes the count unknown); back
    under the limit, the items return."""
    from chalicelib.service.repositories.instance_reads import variable_count, variable_lookup
    from chalicelib.service.repositories.instances import VARIABLE_LOOKUP_MAX, VARIABLE_OVERFLOW

    aggregates = AggregateStore(store)
    state = new_state()
    i = state.id
    for n in range(VARIABLE_LOOKUP_MAX):  # with "amount": one too many
        state.put(VariableRecord(scope_id=i, name=f"v{n}", value=n))
    version = counted_commit(aggregates, state, 0)
    assert _lookups(store, VARIABLE_OVERFLOW) == [f"{i}/look#var*"]
    assert _var_lookups(store, "v3", "3") == []
    assert [h.pk for h in variable_lookup(store, "v3", ["3"]).items] == [i]
    assert [h.pk for h in variable_lookup(store, "v3", ["4"]).items] == [i]  # a candidate
    assert variable_count(store, "v3", "3") is None
    loaded = aggregates.load(i)
    again = state_of(loaded)
    again.remove(again.local_variables(i)["v0"])
    counted_commit(aggregates, again, version, previous=loaded)
    assert _lookups(store, VARIABLE_OVERFLOW) == []
    assert _var_lookups(store, "v3", "3") == [f"{i}/look#var/v3"]
    assert variable_count(store, "v3", "3") == 1


def test_variable_lookup_keys_stay_within_dynamodb_limits():
    from chalicelib.service.repositories.instances import LOOKUP_KEY_BYTES, variable_lookup_key

    assert variable_lookup_key("n", "7") == "var:n=7"
    long_text = "é" * 300
    digest = hashlib.sha256(long_text.encode()).hexdigest()
    assert variable_lookup_key("n", long_text) == f"var:n#{digest}"
    for name in ("a=b", "a#b", "x" * 1500):  # ambiguous or long names: one hash of both
        key = variable_lookup_key(name, "c")
        assert key.startswith("var#") and len(key.encode()) <= LOOKUP_KEY_BYTES
    assert variable_lookup_key("a=b", "c") != variable_lookup_key("a", "b=c")


def _commit_counted(aggregates, state, version: int, previous=None) -> int:
    """``commit`` with the maintained counts, as the unit of work writes them."""
    from chalicelib.service.repositories import counters

    puts, deletes = changed_items(state.changes(), previous)
    stored = previous.items if previous is not None else {}
    counts = counters.membership_deltas(Table.RUNTIME, state.id, puts, deletes, stored)
    new_version = aggregates.commit(
        state.id, version, puts, deletes, side_writes=counts, previous=previous
    )
    state.mark_clean()
    return new_version


def test_task_lookup_items_follow_the_task(store):
    """``task:unassigned`` while the task has no assignee, ``task:pdi=`` and ``task:pdk=`` while
    it is open: each holding the task record without ``kind``, counted, gone with the task."""
    from dataclasses import replace

    from chalicelib.service.repositories.instance_reads import task_lookup, task_lookup_count
    from chalicelib.service.repositories.instances import (
        TASK_UNASSIGNED,
        candidate_task,
        task_lookup_key,
    )

    def listed(key: str) -> list[str]:
        return [item.sk for item in task_lookup(store, key).items]

    def count(key: str) -> int:
        return task_lookup_count(store, key)

    pdi, pdk = task_lookup_key("pdi", "p:1:d"), task_lookup_key("pdk", "p")
    assert (pdi, pdk) == ("task:pdi=p:1:d", "task:pdk=p")
    aggregates = AggregateStore(store)
    state = new_state()
    task = next(iter(state.tasks.values()))
    state.put(replace(task, assignee=None))
    version = _commit_counted(aggregates, state, 0)
    prefix = f"tlook#{task.id}#"
    assert listed(TASK_UNASSIGNED) == [prefix + "un"]
    assert listed(pdi) == [prefix + "pdi"] and listed(pdk) == [prefix + "pdk"]
    assert (count(TASK_UNASSIGNED), count(pdi), count(pdk)) == (1, 1, 1)
    [item] = task_lookup(store, TASK_UNASSIGNED).items
    assert "kind" not in item.data and item.kind == "task-lookup"
    assert item.index["sort"] == f"2026-11-27T10:00:01.000Z#{task.id}"
    assert candidate_task(item) == state.tasks[task.id].to_dict()
    # never engine records
    loaded = aggregates.load(state.id)
    again = state_of(loaded)
    assert sorted(map(repr, again.to_records())) == sorted(map(repr, state.to_records()))
    # claimed: out of the unassigned partition, the definition ones rewritten with the task
    again.put(replace(again.tasks[task.id], assignee="ann"))
    version = _commit_counted(aggregates, again, version, previous=loaded)
    assert listed(TASK_UNASSIGNED) == [] and count(TASK_UNASSIGNED) == 0
    [item] = task_lookup(store, pdi).items
    assert item.data["assignee"] == "ann" and count(pdi) == 1
    # unclaimed: back
    loaded = aggregates.load(state.id)
    again = state_of(loaded)
    again.put(replace(again.tasks[task.id], assignee=None))
    version = _commit_counted(aggregates, again, version, previous=loaded)
    assert listed(TASK_UNASSIGNED) == [prefix + "un"] and count(TASK_UNASSIGNED) == 1
    # task gone: every task lookup item and its counts go with it
    loaded = aggregates.load(state.id)
    again = state_of(loaded)
    again.remove(again.tasks[task.id])
    _commit_counted(aggregates, again, version, previous=loaded)
    assert listed(TASK_UNASSIGNED) == [] and listed(pdi) == [] and listed(pdk) == []
    assert (count(TASK_UNASSIGNED), count(pdi), count(pdk)) == (0, 0, 0)
    assert not [sk for sk in aggregates.load(state.id).items if sk.startswith("tlook#")]


def test_task_lookup_keys_of_long_definition_ids_are_hashed():
    from chalicelib.service.repositories.instances import task_lookup_items

    state = new_state()
    task = next(iter(state.tasks.values()))
    long_id = "k" * 300 + ":1:d"
    items = task_lookup_items(state.id, {**task.to_dict(), "definition_id": long_id})
    keys = {item.sk.rpartition("#")[2]: item.index["lookup"] for item in items}
    assert set(keys) == {"pdi", "pdk"}  # assigned to bob: not in the unassigned partition
    expected = hashlib.sha256(long_id.encode()).hexdigest()
    assert keys["pdi"] == f"task:pdi#{expected}"
    assert keys["pdk"] == f"task:pdk#{hashlib.sha256(('k' * 300).encode()).hexdigest()}"


def test_task_lookup_items_follow_a_migration(store):
    """A migration puts each task with its new definition id: its definition partitions move."""
    from dataclasses import replace

    from chalicelib.service.repositories.instance_reads import task_lookup, task_lookup_count
    from chalicelib.service.repositories.instances import task_lookup_key

    aggregates = AggregateStore(store)
    state = new_state()
    task = next(iter(state.tasks.values()))
    version = _commit_counted(aggregates, state, 0)
    loaded = aggregates.load(state.id)
    again = state_of(loaded)
    again.put(replace(again.tasks[task.id], definition_id="q:2:e"))
    _commit_counted(aggregates, again, version, previous=loaded)
    for old in (task_lookup_key("pdi", "p:1:d"), task_lookup_key("pdk", "p")):
        assert not task_lookup(store, old).items and task_lookup_count(store, old) == 0
    for new in (task_lookup_key("pdi", "q:2:e"), task_lookup_key("pdk", "q")):
        [item] = task_lookup(store, new).items
        assert item.data["definition_id"] == "q:2:e" and task_lookup_count(store, new) == 1


def _keyed(store, partition: str) -> list[str]:
    page = store.query_index(Table.RUNTIME, Index.KIND_SHARD_SORT, partition)
    return [f"{item.pk}/{item.sk}" for item in page.items]


def test_instance_key_items_follow_the_header(store):
    """Key-only twins of the header's listing and lookup items (``instance-keys#<n>``,
    ``instance-keys:<attr>=<value>``): written at the start, moved with their key, untouched by
    a variable change, gone when the instance ends; never counted, and the listing's and the
    lookups' own counts stay 1 (nothing counted twice)."""
    from dataclasses import replace

    from chalicelib.engine.runtime.records import InstanceStatus
    from chalicelib.service.repositories import counters
    from chalicelib.service.repositories.instance_reads import lookup_count, running_count
    from chalicelib.service.repositories.instances import (
        INSTANCE_KEY_KIND,
        instance_key_partition,
    )
    from chalicelib.storage.sharding import shard_for, shard_key

    aggregates = AggregateStore(store)
    state = new_state()
    state.put(replace(state.header, business_key="bk-1", start_user_id="ann"))
    version = _commit_counted(aggregates, state, 0)
    i = state.id
    listing = shard_key("instance-keys", shard_for(i, 8))
    assert _keyed(store, listing) == [f"{i}/look#key/run"]
    assert _keyed(store, instance_key_partition("bk", "bk-1")) == [f"{i}/look#key/bk"]
    assert _keyed(store, "instance-keys:bk=bk-1") == [f"{i}/look#key/bk"]
    assert _keyed(store, "instance-keys:pdk=p") == [f"{i}/look#key/pdk"]
    assert _keyed(store, "instance-keys:pdi=p:1:d") == [f"{i}/look#key/pdi"]
    assert _keyed(store, "instance-keys:su=ann") == [f"{i}/look#key/su"]
    assert store.get(Table.RUNTIME, i, "look#key/sup") is None  # no super instance
    header = store.get(Table.RUNTIME, i, "#header")
    for sk in ("look#key/run", "look#key/bk", "look#key/pdk", "look#key/pdi", "look#key/su"):
        item = store.get(Table.RUNTIME, i, sk)
        assert item.kind == INSTANCE_KEY_KIND and item.data == {}  # key-only
        assert item.index["sort"] == header.index["sort"]
    assert running_count(store) == 1 and lookup_count(store, "bk", "bk-1") == 1
    assert lookup_count(store, "pdk", "p") == 1
    for base in ("instance-keys", "instance-keys:bk=bk-1", "instance-keys:pdk=p"):
        for index in (Index.KIND_SHARD_SORT, Index.LOOKUP_SORT):
            assert not store.query(Table.RUNTIME, counters.counter_pk(index, base)).items
    # a variable of the instance scope changes: the header is rewritten, no key item
    loaded = aggregates.load(i)
    again = state_of(loaded)
    again.put(VariableRecord(scope_id=i, name="amount", value=43))
    puts, _ = changed_items(again.changes(), loaded)
    assert "#header" in {p.sk for p in puts}
    assert not [p.sk for p in puts if p.sk.startswith("look#key/")]
    version = _commit_counted(aggregates, again, version, previous=loaded)
    # the business key changes: its key item moves, the others stay
    loaded = aggregates.load(i)
    again = state_of(loaded)
    again.put(replace(again.header, business_key="bk-2"))
    puts, _ = changed_items(again.changes(), loaded)
    assert [p.sk for p in puts if p.sk.startswith("look#key/")] == ["look#key/bk"]
    version = _commit_counted(aggregates, again, version, previous=loaded)
    assert _keyed(store, "instance-keys:bk=bk-1") == []
    assert _keyed(store, "instance-keys:bk=bk-2") == [f"{i}/look#key/bk"]
    # the instance ends: every key item goes in the same commit
    loaded = aggregates.load(i)
    again = state_of(loaded)
    again.put(
        replace(again.header, status=InstanceStatus.COMPLETED, end_time="2026-11-27T11:00:00.000Z")
    )
    _commit_counted(aggregates, again, version, previous=loaded)
    assert not [sk for sk in aggregates.load(i).items if sk.startswith("look#")]
    for partition in (listing, "instance-keys:bk=bk-2", "instance-keys:pdk=p"):
        assert _keyed(store, partition) == []
    assert running_count(store) == 0 and lookup_count(store, "pdk", "p") == 0


def _started(aggregates, count: int) -> list[str]:
    """``count`` running instances of ``p``, one second apart, business key ``bk`` for the
    even ones; their ids in start order."""
    from dataclasses import replace

    started = []
    for n in range(count):
        state = new_state()
        state.put(
            replace(
                state.header,
                start_time=f"2026-11-27T10:00:{n:02d}.000Z",
                business_key="bk" if n % 2 == 0 else f"other-{n}",
            )
        )
        commit(aggregates, state, 0)
        started.append(state.id)
    return started


def test_an_offset_skips_on_the_key_items(store):
    """``running_skip`` finds where the listing (either order) and a lookup partition go on
    after ``count`` instances, reading key items only; its page's headers and both tokens
    continue exactly as the header reads without an offset do."""
    from chalicelib.service.repositories.instance_reads import (
        instance_lookup,
        keyed_headers,
        running_listing,
        running_skip,
    )

    aggregates = AggregateStore(store)
    started = _started(aggregates, 12)
    even = started[::2]

    def walk(read, start):
        ids = []
        while start is not None:
            page = read(limit=2, start=start)
            ids += [item.pk for item in page.items]
            start = page.next_token
        return ids

    cases = [
        (None, None, False, started, lambda **p: running_listing(store, **p)),
        (None, None, True, started[::-1], lambda **p: running_listing(store, descending=True, **p)),
        ("bk", "bk", False, even, lambda **p: instance_lookup(store, "bk", "bk", **p)),
        (
            "bk",
            "bk",
            True,
            even[::-1],
            lambda **p: instance_lookup(store, "bk", "bk", descending=True, **p),
        ),
    ]
    for attribute, value, descending, expected, read in cases:
        for count in (1, 3, len(expected) - 3):
            token, ended, keys = running_skip(
                store, count, attribute=attribute, value=value, descending=descending, then=2
            )
            assert not ended and keys is not None
            assert all(item.data == {} for item in keys.items)  # keys, not headers
            page = keyed_headers(store, keys)
            assert all(item.sk == "#header" for item in page.items)
            assert [item.pk for item in page.items] == expected[count : count + 2]
            assert walk(read, token) == expected[count:], (attribute, descending, count)
            assert walk(read, page.next_token) == expected[count + 2 :]
        token, ended, keys = running_skip(
            store, len(expected), attribute=attribute, value=value, descending=descending
        )
        assert (token, ended, keys) == (None, True, None)
