"""Runtime items as the code before ``listed_variables``, lookup, candidate and task lookup
items and the execution listing wrote them (the layout backfill's tests)."""

from __future__ import annotations

from dataclasses import replace

from chalicelib.service.repositories import counters
from chalicelib.service.repositories.instances import (
    EXECUTION_HEADER,
    LISTED_VARIABLES,
    VARIABLE_NAMES,
)
from chalicelib.storage.aggregate import AggregateStore
from chalicelib.storage.ports import Delete, Put, Table, Write


def make_old(store, instance_id: str) -> None:
    """Rewrite a running instance as the old code left it: a header without
    ``listed_variables`` (nor ``variable_names``), no lookup, candidate or task lookup items, executions neither listed
    nor carrying their header copy (the version stays). The maintained counts drop by what is
    no longer listed, as if it had never been counted."""
    aggregate = AggregateStore(store).load(instance_id)
    header = aggregate.header
    assert header is not None
    data = {n: v for n, v in header.data.items() if n not in (LISTED_VARIABLES, VARIABLE_NAMES)}
    writes: list[Write] = [Put(Table.RUNTIME, replace(header, data=data))]
    writes += [
        Put(
            Table.RUNTIME,
            replace(
                item,
                data={name: value for name, value in item.data.items() if name != EXECUTION_HEADER},
                index={},
            ),
        )
        for sk, item in aggregate.items.items()
        if sk.startswith("exec#")
    ]
    writes += [
        Delete(Table.RUNTIME, instance_id, sk)
        for sk in aggregate.items
        if sk.startswith(("look#", "cand#", "tlook#"))
    ]
    puts = [write.item for write in writes if isinstance(write, Put)]
    deletes = [write.sk for write in writes if isinstance(write, Delete)]
    writes += counters.membership_deltas(Table.RUNTIME, instance_id, puts, deletes, aggregate.items)
    store.transact(writes)


def make_old_history(store, instance_id: str) -> None:
    """Rewrite an instance's history as the code before the history read model left it: a
    process item without ``listed_variables`` (nor ``variable_names``), no lookup items (counts are left as they are)."""
    items = store.query(Table.HISTORY, instance_id).items
    [process] = [item for item in items if item.sk == "#process"]
    data = {n: v for n, v in process.data.items() if n not in (LISTED_VARIABLES, VARIABLE_NAMES)}
    writes: list[Write] = [Put(Table.HISTORY, replace(process, data=data))]
    writes += [Delete(Table.HISTORY, instance_id, i.sk) for i in items if i.sk.startswith("look#")]
    store.transact(writes)


def make_keyless(store, instance_id: str) -> None:
    """Rewrite a running instance as the code before instance key items left it: everything
    current but its ``look#key/`` items (never counted, so no count moves; the version stays)."""
    aggregate = AggregateStore(store).load(instance_id)
    keys = [sk for sk in aggregate.items if sk.startswith("look#key/")]
    assert keys, "the instance has key items to remove"
    store.transact([Delete(Table.RUNTIME, instance_id, sk) for sk in keys])
