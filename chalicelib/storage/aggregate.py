"""The process instance is the aggregate: load it with one Query, commit it with one transaction.

An aggregate is one item collection (partition key ``pk``) of the RUNTIME table. Its header item
(sort key ``#header``) carries ``version``. ``commit`` writes only the items that changed, plus the
header with ``version + 1`` conditioned on the version that was loaded, plus any side writes
(history records, dead-letter items, other instances' checks): all in one TransactWriteItems.
A lost race raises ``errors.ConcurrencyError``; ``retry_on_conflict`` reloads and retries.

Works over any ``ItemStore``, so the memory and DynamoDB stores share it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

from ..errors import ConcurrencyError
from .ports import (
    Condition,
    Delete,
    InvalidItem,
    Item,
    ItemStore,
    MustNotExist,
    Put,
    SetVersion,
    Table,
    VersionIs,
    Write,
)

__all__ = ["HEADER_SK", "HEADER_KIND", "Aggregate", "AggregateStore", "retry_on_conflict"]

HEADER_SK = "#header"
HEADER_KIND = "header"

T = TypeVar("T")


@dataclass
class Aggregate:
    """A loaded item collection. ``version`` is 0 when the aggregate does not exist yet."""

    pk: str
    version: int
    items: dict[str, Item] = field(default_factory=dict)

    @property
    def header(self) -> Item | None:
        """The header item (``#header``), or None for a new aggregate."""
        return self.items.get(HEADER_SK)

    @property
    def exists(self) -> bool:
        return self.version > 0


class AggregateStore:
    """Unit of work over one table's item collections (RUNTIME by default)."""

    def __init__(self, store: ItemStore, table: Table = Table.RUNTIME):
        self.store = store
        self.table = table

    def load(self, pk: str) -> Aggregate:
        """The aggregate ``pk``: one strongly consistent Query of its item collection.

        A commit still being applied (its ``#intent`` is in the collection: see
        ``storage.intent``) is rolled forward first, then the collection is read again.
        """
        from . import intent

        page = self.store.query(self.table, pk)
        items = {item.sk: item for item in page.items}
        pending = items.get(intent.INTENT_SK)
        if pending is not None:
            intent.apply(self.store, pending)
            return self.load(pk)
        header = items.get(HEADER_SK)
        version = int(header.version or 0) if header is not None else 0
        return Aggregate(pk, version, items)

    def commit(
        self,
        pk: str,
        expected_version: int,
        puts: Iterable[Item] = (),
        deletes: Iterable[str] = (),
        side_writes: Sequence[Write] = (),
        *,
        previous: Aggregate | None = None,
        token: str | None = None,
    ) -> int:
        """Write the changed items of ``pk`` in one transaction; returns the new version.

        Parameters
        ----------
        expected_version:
            The version that was loaded (0: the aggregate must not exist yet).
        puts:
            Changed or new items of this aggregate. A ``#header`` item among them replaces the
            header (its ``version`` is set here); otherwise only the header's version changes.
        deletes:
            Sort keys of items to delete.
        side_writes:
            Writes to other tables or collections, committed in the same transaction.
        previous:
            The loaded aggregate; when given, chunk items of shrunk or deleted large items are
            deleted too.

        Raises
        ------
        ConcurrencyError
            Someone else committed since ``expected_version`` (or any side-write condition failed).
        TransactionTooLarge, DuplicateWrite
            Before any AWS call.
        """
        writes = self.writes(pk, expected_version, puts, deletes, previous=previous)
        writes.extend(side_writes)
        self.store.transact(writes, token=token)
        return expected_version + 1

    def writes(
        self,
        pk: str,
        expected_version: int,
        puts: Iterable[Item] = (),
        deletes: Iterable[str] = (),
        *,
        previous: Aggregate | None = None,
    ) -> list[Write]:
        """The writes ``commit`` would send for ``pk`` (header condition first), unsent.

        For units of work that commit several aggregates in one transaction (a process instance
        and the instance it called, say): concatenate each aggregate's writes and ``transact``.
        """
        new_version = expected_version + 1
        header_condition: Condition = (
            MustNotExist() if expected_version == 0 else VersionIs(expected_version)
        )
        old = previous.items if previous is not None else {}
        writes: list[Write] = []
        header_written = False
        for item in puts:
            if item.pk != pk:
                raise InvalidItem(f"Item {item.pk!r}/{item.sk!r} is not part of aggregate {pk!r}")
            stale = old[item.sk].stored_chunks if item.sk in old else 0
            if item.sk == HEADER_SK:
                item = replace(item, version=new_version)
                writes.insert(0, Put(self.table, item, header_condition, stale))
                header_written = True
            else:
                writes.append(Put(self.table, item, replaces_chunks=stale))
        for sk in deletes:
            chunks = old[sk].stored_chunks if sk in old else 0
            if sk == HEADER_SK:
                writes.insert(0, Delete(self.table, pk, sk, header_condition, chunks))
                header_written = True
            else:
                writes.append(Delete(self.table, pk, sk, chunks=chunks))
        if not header_written:
            if expected_version == 0:
                header = Item(pk, HEADER_SK, HEADER_KIND, version=new_version)
                writes.insert(0, Put(self.table, header, header_condition))
            else:
                writes.insert(
                    0,
                    SetVersion(self.table, pk, HEADER_SK, new_version, VersionIs(expected_version)),
                )
        return writes


def retry_on_conflict(fn: Callable[[], T], attempts: int = 3, *, delay: float = 0.0) -> T:
    """Call ``fn`` until it does not raise ``ConcurrencyError``, at most ``attempts`` times.

    ``fn`` must reload what it changes (it is the whole load-execute-commit step). ``delay``
    (seconds) adds a random back-off of up to ``delay * attempt`` between attempts. The last
    ``ConcurrencyError`` propagates (the API answers 409).
    """
    if attempts < 1:
        raise ValueError("attempts must be >= 1")
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except ConcurrencyError:
            if attempt == attempts:
                raise
            if delay > 0:
                time.sleep(random.uniform(0, delay * attempt))
    raise AssertionError("unreachable")
