"""The history table's ``lookup-sort`` index and the historic read model, on both stores."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

from chalicelib import ids
from chalicelib.clock import FixedClock
from chalicelib.engine.runtime.effects import HistoryKind, HistoryRecord
from chalicelib.engine.runtime.history import process_fields
from chalicelib.engine.runtime.records import InstanceRecord
from chalicelib.service.repositories.history import carried_historic_variables, read_process
from chalicelib.service.repositories.history_index import (
    FINISHED,
    HISTORY_LOOKUP_KIND,
    UNFINISHED,
    CommittedInstance,
    commit_writes,
    deletion_counts,
    history_count,
    lookup_page,
    process_repairs,
)
from chalicelib.service.repositories.instances import LISTED_VARIABLES, VARIABLE_NAMES, item_of
from chalicelib.storage.aggregate import HEADER_SK, Aggregate
from chalicelib.storage.ports import Delete, Index, Item, Table
from tests.support.counting import counting

H = Table.HISTORY
CONTAINER = SimpleNamespace(settings=SimpleNamespace(history_ttl_days=0), clock=FixedClock())


def all_ids(page_of, limit: int) -> list[str]:
    seen, token = [], None
    while True:
        page = page_of(limit=limit, start=token)
        seen.extend(item.pk for item in page.items)
        token = page.next_token
        if token is None:
            return seen


def test_history_lookup_index_is_sparse_ordered_and_paged(store):
    """The history table has ``lookup-sort``: only items with a ``lookup``, in ``sort`` order,
    paged exactly, both ways."""
    items = [
        Item(f"h{n}", "look#pdk", HISTORY_LOOKUP_KIND, {}, {"lookup": key, "sort": f"2026-{n:02d}"})
        for n, key in enumerate(["finished/pdk=p", "unfinished/pdk=p", "finished/pdk=p"], 1)
    ]
    store.batch_put(H, items + [Item("h9", "#process", "history-process", {}, {"sort": "2026"})])
    index = Index.LOOKUP_SORT
    assert [i.pk for i in store.query_index(H, index, "finished/pdk=p").items] == ["h1", "h3"]
    [last] = store.query_index(H, index, "finished/pdk=p", limit=1, descending=True).items
    assert last.pk == "h3" and last.kind == HISTORY_LOOKUP_KIND
    assert store.query_index(H, index, "pdk=p").items == []


def header(instance_id: str, n: int, key: str, end: str | None = None) -> InstanceRecord:
    return InstanceRecord(
        id=instance_id,
        definition_id=f"{key}:1:d",
        definition_key=key,
        business_key=f"bk-{n}",
        start_user_id="alice",
        start_time=f"2026-11-27T10:00:{n:02d}.000Z",
        end_time=end,
    )


def variable(instance_id: str, name: str, value) -> HistoryRecord:
    record_id = f"{instance_id}/{instance_id}/{name}"
    fields = {"id": record_id, "name": name, "value": value, "executionId": instance_id}
    return HistoryRecord(instance_id, HistoryKind.VARIABLE_INSTANCE, record_id, fields)


def process(record: InstanceRecord) -> HistoryRecord:
    return HistoryRecord(record.id, HistoryKind.PROCESS_INSTANCE, record.id, process_fields(record))


def started(store, n: int, key: str, **variables) -> InstanceRecord:
    record = header(ids.new_id(), n, key)
    effects = [process(record)] + [variable(record.id, k, v) for k, v in variables.items()]
    known = CommittedInstance(None, record, keeps_variables=True)
    store.transact(commit_writes(CONTAINER, effects, lambda _: known))
    return record


def loaded(record: InstanceRecord, **variables) -> Aggregate:
    """The runtime collection of a running instance as a commit loads it."""
    items = {HEADER_SK: item_of(record.id, record.to_dict())}
    for name, value in variables.items():
        data = {"kind": "variable", "scope_id": record.id, "name": name, "value": value}
        items[f"var#{record.id}/{name}"] = Item(
            record.id, f"var#{record.id}/{name}", "variable", data
        )
    return Aggregate(record.id, 1, items)


def test_a_start_lists_and_counts_the_instance_an_end_moves_it(store):
    first = started(store, 1, "p", amount=1)
    second = started(store, 2, "p", amount=2)
    third = started(store, 3, "q")
    unfinished = lookup_page(store, state=UNFINISHED)
    assert [item.pk for item in unfinished.items] == [first.id, second.id, third.id]
    assert [item.data[LISTED_VARIABLES] for item in unfinished.items] == [
        {"amount": 1},
        {"amount": 2},
        {},
    ]
    assert [i.pk for i in lookup_page(store, "pdk", "p", descending=True).items] == [
        second.id,
        first.id,
    ]
    assert history_count(store) == 3 and history_count(store, "pdk", "p") == 2
    assert history_count(store, "su", "alice", UNFINISHED) == 3
    assert history_count(store, state=FINISHED) == 0
    with counting(store) as calls:  # both states: their 16 counter shards in one batch
        assert history_count(store, "bk", "bk-2") == 1
    with counting(store) as one_state:
        assert history_count(store, "bk", "bk-2", UNFINISHED) == 1
    assert (calls, one_state) == ({"batch_get": 1}, {"query": 1})
    # the first ends, setting a variable: its items move to the finished partitions
    ended = dataclasses.replace(first, end_time="2026-11-27T11:00:00.000Z")
    known = CommittedInstance(loaded(first, amount=1), ended, keeps_variables=True)
    effects = [variable(first.id, "done", True), process(ended)]
    store.transact(commit_writes(CONTAINER, effects, lambda _: known))
    assert [i.pk for i in lookup_page(store, state=FINISHED).items] == [first.id]
    assert [i.pk for i in lookup_page(store, "bk", "bk-1", FINISHED).items] == [first.id]
    assert lookup_page(store, "bk", "bk-1", UNFINISHED).items == []
    assert [i.pk for i in lookup_page(store, "pdk", "p").items] == [first.id, second.id]
    assert read_process(store, first.id).data[LISTED_VARIABLES] == {"amount": 1, "done": True}
    assert history_count(store, state=FINISHED) == 1
    assert history_count(store, state=UNFINISHED) == 2
    assert history_count(store, "pdk", "p") == 2 and history_count(store, "pdk", "p", FINISHED) == 1
    # a later variable change of the second rewrites its process item only
    known = CommittedInstance(loaded(second, amount=2), second, keeps_variables=True)
    writes = commit_writes(CONTAINER, [variable(second.id, "amount", 3)], lambda _: known)
    assert sorted(w.item.sk for w in writes) == ["#process", f"var#{second.id}/{second.id}/amount"]
    [rewritten] = [w.item for w in writes if w.item.sk == "#process"]
    assert rewritten.data[LISTED_VARIABLES] == {"amount": 3}
    store.transact(writes)
    # the history of the first deleted: its counts go with its lookup items
    items = store.query(H, first.id).items
    store.transact([Delete.of(H, item) for item in items] + deletion_counts(items))
    assert lookup_page(store, state=FINISHED).items == []
    assert history_count(store) == 2 and history_count(store, "bk", "bk-1") == 0


def test_variables_that_do_not_fit_are_not_listed(store):
    doc = {"a": [1], "text": "x" * 4200}
    record = started(store, 1, "p", doc=doc, m=1)
    data = read_process(store, record.id).data
    assert LISTED_VARIABLES not in data and data[VARIABLE_NAMES] == ["doc", "m"]
    # a page of such items reads their variables by name, in one BatchGetItem together
    others = [started(store, n, "p", doc=doc, m=n) for n in (2, 3)]
    processes = [read_process(store, r.id).data for r in [record, *others]]
    with counting(store) as calls:
        found = carried_historic_variables(store, processes)
    assert calls == {"batch_get": 1}
    assert found == {r.id: {"doc": doc, "m": n} for n, r in enumerate([record, *others], 1)}
    below = header(ids.new_id(), 2, "p")
    known = CommittedInstance(None, below, keeps_variables=False)
    store.transact(commit_writes(CONTAINER, [process(below)], lambda _: known))
    assert read_process(store, below.id).data[LISTED_VARIABLES] == {}


def test_repairs_bring_old_history_to_the_layout_once(store):
    """A process item written before the layout: the repairs add its listed variables (once
    finished) and lookup items; a second look finds nothing to do."""
    record = header(ids.new_id(), 1, "p", end="2026-11-27T11:00:00.000Z")
    data = process_fields(record)
    old = Item(record.id, "#process", "history-processInstance", data, {"sort": "x"})
    var = variable(record.id, "amount", 5)
    var_item = Item(record.id, f"var#{var.id}", "history-variableInstance", dict(var.fields))
    store.batch_put(H, [old, var_item])
    writes, wanted = process_repairs(store, read_process(store, record.id))
    assert len(writes) == 1 + 5 and set(wanted) == {
        "look#state",
        "look#bk",
        "look#pdk",
        "look#pdi",
        "look#su",
    }
    store.transact(writes)
    assert read_process(store, record.id).data[LISTED_VARIABLES] == {"amount": 5}
    assert [i.pk for i in lookup_page(store, "bk", "bk-1", FINISHED).items] == [record.id]
    assert process_repairs(store, read_process(store, record.id))[0] == []


def test_repairs_name_the_variables_that_do_not_fit(store):
    """A finished process item written before ``variable_names`` (variables over 4 KB, neither
    listed nor named) gets their names from the repairs, once."""
    record = header(ids.new_id(), 1, "p", end="2026-11-27T11:00:00.000Z")
    old = Item(record.id, "#process", "history-processInstance", process_fields(record))
    doc = variable(record.id, "doc", "x" * 5000)
    store.batch_put(
        H, [old, Item(record.id, f"var#{doc.id}", "history-variableInstance", dict(doc.fields))]
    )
    writes, _ = process_repairs(store, read_process(store, record.id))
    store.transact(writes)
    assert read_process(store, record.id).data[VARIABLE_NAMES] == ["doc"]
    assert process_repairs(store, read_process(store, record.id))[0] == []
