"""Runtime items as the code before ``listed_variables``, lookup and candidate items wrote
them (the layout backfill's tests)."""

from __future__ import annotations

from dataclasses import replace

from chalicelib.service.repositories import counters
from chalicelib.service.repositories.instances import LISTED_VARIABLES
from chalicelib.storage.aggregate import AggregateStore
from chalicelib.storage.ports import Delete, Put, Table, Write


def make_old(store, instance_id: str) -> None:
    """Rewrite a running instance as the old code left it: a header without
    ``listed_variables``, no lookup items, no candidate items (the version stays)."""
    aggregate = AggregateStore(store).load(instance_id)
    header = aggregate.header
    assert header is not None
    data = {name: value for name, value in header.data.items() if name != LISTED_VARIABLES}
    writes: list[Write] = [Put(Table.RUNTIME, replace(header, data=data))]
    gone = [sk for sk in aggregate.items if sk.startswith(("look#", "cand#"))]
    writes += [Delete(Table.RUNTIME, instance_id, sk) for sk in gone]
    # and never counted (the counters count what the old code had written)
    writes += counters.membership_deltas(Table.RUNTIME, instance_id, [], gone, aggregate.items)
    store.transact(writes)
