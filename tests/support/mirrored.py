"""Data built through the service on the memory store, then written to moto in bulk.

A query-cost test over moto needs hundreds of instances, and starting each one over moto
costs tens of milliseconds of moto's request parsing (a start is a transaction of dozens of
items and counter additions). ``Mirror`` builds the data with the real service instead (HTTP
handlers, engine, repositories) on a ``MemoryItemStore`` (it stores the same records as the
DynamoDB store and passes the same storage contract suite), sharing the moto container's
settings and clock, and then writes what changed to the moto container's store:

* every item that is new or changed since the last ``sync``, as the memory store holds it
  (``ItemStore.batch_put``: BatchWriteItem; chunks split again by the codec as they were);
* every item deleted since (``Delete`` transactions);
* every counter item that changed, written (BatchWriteItem) with the count the target holds
  plus the change (so counts that writes made on moto directly, e.g. a start through the API
  over moto, are kept): a reader sums the same counts.

Nothing built on moto directly is copied into the memory store: the data built in memory must
not need it (a definition used by both is deployed in memory and synced first).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from chalicelib import bootstrap
from chalicelib.storage import codec
from chalicelib.storage.memory import MemoryItemStore
from chalicelib.storage.ports import COUNTER_KIND, Delete, Item, Table

__all__ = ["Mirror"]

#: writes per transaction (DynamoDB's limit)
_TRANSACTION = 100


class Mirror:
    """A memory container beside ``container`` (its settings and clock), synced into it."""

    def __init__(self, container: Any):
        from chalicelib.messaging.memory import MemoryPublisher

        self.target = container
        self.store = MemoryItemStore()
        self.memory = bootstrap.build_container(
            container.settings,
            store=self.store,
            publisher=MemoryPublisher(),
            clock=container.clock,
        )
        self._synced: dict[tuple[Table, str, str], Item] = {}

    @contextmanager
    def building(self) -> Iterator[Any]:
        """The memory container, installed for handlers within the block; synced into the
        target (installed again) when the block ends."""
        bootstrap.set_container(self.memory)
        try:
            yield self.memory
        finally:
            bootstrap.set_container(self.target)
        self.sync()

    def items(self) -> dict[tuple[Table, str, str], Item]:
        """Every item the memory store holds (chunks assembled), by table and key."""
        found = {}
        for table in Table:
            keys = [
                (pk, sk)
                for pk, collection in self.store._tables[table].items()
                for sk, record in collection.items()
                if record.get("kind") != codec.CHUNK_KIND
            ]
            for item in self.store.batch_get(table, keys):
                found[(table, item.pk, item.sk)] = item
        return found

    def sync(self) -> int:
        """Write what changed in the memory store since the last sync to the target's store;
        returns the items written or deleted."""
        store = self.target.store
        now = self.items()
        puts: dict[Table, list[Item]] = {}
        deltas: dict[Table, dict[tuple[str, str], int]] = {}
        deletes: list[Delete] = []
        for key, item in now.items():
            before = self._synced.get(key)
            if before == item:
                continue
            table, pk, sk = key
            if item.kind == COUNTER_KIND:
                old = int(before.version or 0) if before is not None else 0
                deltas.setdefault(table, {})[(pk, sk)] = int(item.version or 0) - old
                continue
            if before is not None and before.stored_chunks > item.stored_chunks:
                deletes.append(Delete.of(table, before))  # its chunks past the new ones too
            puts.setdefault(table, []).append(item)
        for key, before in self._synced.items():
            if key not in now:
                table, pk, sk = key
                if before.kind == COUNTER_KIND:
                    deltas.setdefault(table, {})[(pk, sk)] = -int(before.version or 0)
                else:
                    deletes.append(Delete.of(table, before))
        self._delete(deletes)
        for table, changed in deltas.items():
            # each counter item as the target holds it (its own writes' counts kept) plus the
            # memory store's change: a new counter item is written even at 0, as an AddCount
            # of a start and one of its cancellation leave it
            held = {
                (i.pk, i.sk): int(i.version or 0) for i in store.batch_get(table, list(changed))
            }
            puts.setdefault(table, []).extend(
                Item(pk, sk, COUNTER_KIND, version=held.get((pk, sk), 0) + delta)
                for (pk, sk), delta in changed.items()
            )
        for table, items in puts.items():
            store.batch_put(table, items)
        self._synced = now
        return sum(len(items) for items in puts.values()) + len(deletes)

    def _delete(self, deletes: list[Delete]) -> None:
        """``deletes`` in transactions of at most 100 writes (chunks included)."""
        batch: list[Delete] = []
        size = 0
        for delete in deletes:
            if batch and size + 1 + delete.chunks > _TRANSACTION:
                self.target.store.transact(batch)
                batch, size = [], 0
            batch.append(delete)
            size += 1 + delete.chunks
        if batch:
            self.target.store.transact(batch)
