"""In-memory ``ItemStore``: the fake for unit tests, with the DynamoDB store's semantics.

It stores the same records as the DynamoDB store (``codec``: compressed bodies, chunk items,
sparse index attributes), pages the same way (a limit counts stored records, tokens are keys),
checks the same transaction limits and raises the same errors. One lock makes every operation
atomic, so transactions are all-or-nothing under threads. Index reads are instantly consistent
(DynamoDB's are not: see ``ports``).
"""

from __future__ import annotations

import copy
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence

from ..errors import ConcurrencyError
from . import codec
from . import keys as key_sizes
from .codec import Op, RawWrite, Record
from .ports import (
    COUNTER_KIND,
    Condition,
    Index,
    Item,
    KeyRange,
    MustExist,
    MustNotExist,
    Page,
    Table,
    VersionIs,
    Write,
    decode_token,
    encode_token,
)

__all__ = ["MemoryItemStore"]


class MemoryItemStore:
    """A thread-safe in-memory implementation of ``ports.ItemStore``."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._tables: dict[Table, dict[str, dict[str, Record]]] = {table: {} for table in Table}
        #: Transaction tokens seen (DynamoDB's ClientRequestToken idempotency).
        self._tokens: set[str] = set()

    # --- reads --------------------------------------------------------------------------------

    def get(self, table: Table, pk: str, sk: str) -> Item | None:
        """The item at ``(pk, sk)``, or None."""
        if not key_sizes.key_fits(pk, sk):  # longer than any key written
            return None
        with self._lock:
            record = self._tables[table].get(pk, {}).get(sk)
            if record is None or record["kind"] == codec.CHUNK_KIND:
                return None
            items = codec.assemble([copy.deepcopy(record)], lambda p, s: self._chunks(table, p, s))
        return items[0]

    def query(
        self,
        table: Table,
        pk: str,
        *,
        sk_prefix: str | None = None,
        limit: int | None = None,
        start: str | None = None,
        descending: bool = False,
    ) -> Page:
        """Items of collection ``pk`` in sort-key order; ``limit`` counts stored records."""
        if not key_sizes.key_fits(pk):
            return Page([], None)
        codec.check_limit(limit)
        after = decode_token(start, ["pk", "sk"]) if start else None
        with self._lock:
            collection = self._tables[table].get(pk, {})
            keys = sorted(sk for sk in collection if sk.startswith(sk_prefix or ""))
            if descending:
                keys.reverse()
            if after is not None:
                keys = _after(keys, after["sk"], descending)
            page_keys = keys if limit is None else keys[:limit]
            records = [copy.deepcopy(collection[sk]) for sk in page_keys]
            more = len(page_keys) < len(keys)
            items = codec.assemble(records, lambda p, s: self._chunks(table, p, s))
        token = encode_token({"pk": pk, "sk": page_keys[-1]}) if more else None
        return Page(items, token)

    def query_index(
        self,
        table: Table,
        index: Index,
        hash_value: str,
        *,
        key_range: KeyRange | None = None,
        limit: int | None = None,
        start: str | None = None,
        descending: bool = False,
    ) -> Page:
        """Items of one index partition in (range key, pk, sk) order."""
        if not key_sizes.index_value_fits(index, hash_value):
            return Page([], None)
        codec.check_limit(limit)
        codec.check_index(table, index)
        spec = index.spec
        after = (
            decode_token(start, ["pk", "sk", spec.hash_attr, spec.range_attr]) if start else None
        )
        with self._lock:
            entries = sorted(
                ((record[spec.range_attr], record["pk"], record["sk"]), record)
                for collection in self._tables[table].values()
                for record in collection.values()
                if record.get(spec.hash_attr) == hash_value
                and spec.range_attr in record
                and (key_range is None or key_range.matches(record[spec.range_attr]))
            )
            keys = [key for key, _ in entries]
            if descending:
                entries.reverse()
                keys.reverse()
            if after is not None:
                position = (after[spec.range_attr], after["pk"], after["sk"])
                keys = _after(keys, position, descending)
                entries = entries[len(entries) - len(keys) :]
            page = entries if limit is None else entries[:limit]
            records = [copy.deepcopy(record) for _, record in page]
            items = codec.assemble(records, lambda p, s: self._chunks(table, p, s))
        if len(page) == len(entries) or not page:
            return Page(items, None)
        last = page[-1][1]
        return Page(
            items,
            encode_token(
                {
                    "pk": last["pk"],
                    "sk": last["sk"],
                    spec.hash_attr: last[spec.hash_attr],
                    spec.range_attr: last[spec.range_attr],
                }
            ),
        )

    def _chunks(self, table: Table, pk: str, sk: str) -> list[Record]:
        prefix = codec.chunk_prefix(sk)
        collection = self._tables[table].get(pk, {})
        return [copy.deepcopy(r) for key, r in sorted(collection.items()) if key.startswith(prefix)]

    # --- writes -------------------------------------------------------------------------------

    def transact(self, writes: Sequence[Write], *, token: str | None = None) -> None:
        """Apply ``writes`` all or nothing; ``ConcurrencyError`` when a condition fails."""
        raw = codec.plan(writes)
        with self._lock:
            if token is not None and token in self._tokens:
                return  # an idempotent retry of a committed transaction
            for write in raw:
                current = self._tables[write.table].get(write.pk, {}).get(write.sk)
                if write.condition is not None and not _holds(write.condition, current):
                    raise ConcurrencyError(
                        detail={"write": write.source, "reason": "ConditionalCheckFailed"}
                    )
            for write in raw:
                self._apply(write)
            if token is not None:
                self._tokens.add(token)

    def batch_put(self, table: Table, items: Iterable[Item]) -> None:
        """Write many items (not atomic on AWS; atomic here, which tests must not rely on)."""
        records = codec.plan_batch(table, items)
        with self._lock:
            for record in records:
                self._tables[table].setdefault(record["pk"], {})[record["sk"]] = record

    def batch_get(self, table: Table, keys: Sequence[tuple[str, str]]) -> list[Item]:
        """The items at ``keys`` that exist, in the order of ``keys``."""
        found = (self.get(table, pk, sk) for pk, sk in dict.fromkeys(keys))
        return [item for item in found if item is not None]

    def _apply(self, write: RawWrite) -> None:
        collection = self._tables[write.table].setdefault(write.pk, {})
        if write.op is Op.PUT:
            collection[write.sk] = copy.deepcopy(write.put_record())
        elif write.op is Op.DELETE:
            collection.pop(write.sk, None)
        elif write.op is Op.SET_VERSION:
            record = collection.setdefault(write.sk, {"pk": write.pk, "sk": write.sk})
            record["version"] = write.version
        elif write.op is Op.ADD:
            record = collection.setdefault(
                write.sk, {"pk": write.pk, "sk": write.sk, "kind": COUNTER_KIND}
            )
            record["version"] = int(record.get("version") or 0) + int(write.new_version())
        if not collection:
            del self._tables[write.table][write.pk]

    # --- test helpers -------------------------------------------------------------------------

    def record_count(self, table: Table) -> int:
        """Stored records in ``table``, chunk items included (tests)."""
        with self._lock:
            return sum(len(c) for c in self._tables[table].values())


def _holds(condition: Condition, current: Record | None) -> bool:
    if isinstance(condition, MustNotExist):
        return current is None
    if isinstance(condition, MustExist):
        return current is not None
    if isinstance(condition, VersionIs):
        return current is not None and current.get("version") == condition.version
    raise TypeError(f"not a condition: {condition!r}")


def _after(keys: list, position, descending: bool) -> list:
    """The keys strictly after ``position`` in a sorted (or reverse-sorted) list."""
    if descending:
        ascending = keys[::-1]
        return ascending[: bisect_left(ascending, position)][::-1]
    return keys[bisect_right(keys, position) :]
