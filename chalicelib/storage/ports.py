"""The storage port: items, writes, conditions, indexes and the ``ItemStore`` protocol.

Nothing here knows AWS. Two implementations pass one contract suite
(``tests/contract/test_storage_contract.py``): ``storage.memory.MemoryItemStore`` and
``storage.dynamo.DynamoItemStore`` (pynamodb over DynamoDB, moto in tests).

Model (DESIGN §3)
-----------------
* Four tables (``Table``). Each holds heterogeneous ``Item`` records keyed by ``(pk, sk)``; one
  ``pk`` is one item collection (in RUNTIME: one process instance, the aggregate).
* ``Item.data`` is a JSON-able dict. It is stored as compressed JSON; when still larger than about
  350 KB it is split into chunk items (``<sk>#chunk#0001`` ...) written in the same
  transaction or batch and reassembled on read. Callers never see chunks. Sort keys containing
  ``#chunk#`` are reserved.
* ``Item.index`` holds the sparse index key attributes (plain strings). An item without an index's
  hash (or range) attribute is not in that index. Index attribute names are declared per table
  (``INDEXES``); anything else is rejected.
* ``Item.ttl`` (epoch seconds) is stored in the table's TTL attribute (``expires``). DynamoDB
  deletes expired items lazily (up to 48 h later); readers that care must check it themselves.
* ``Item.schema_version`` is carried on every stored item (house rule 5).

Consistency
-----------
``get`` and ``query`` are strongly consistent. ``query_index`` reads a global secondary index,
which DynamoDB keeps **eventually consistent** (a write may take a moment to appear; moto and the
memory store show it at once). Never use an index read to decide a write: load the item and
condition the write instead.

Paging
------
``Page.next_token`` is an opaque string; ``None`` means there is nothing more. A non-None token may
lead to an empty page (DynamoDB cannot always tell that the last page was the last). Resuming with
the token neither skips nor repeats items. A malformed token raises ``InvalidPageToken``.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol, runtime_checkable

from .. import errors

__all__ = [
    "Table",
    "Index",
    "IndexSpec",
    "INDEXES",
    "INDEX_ATTRIBUTES",
    "SCHEMA_VERSION",
    "Item",
    "Page",
    "KeyRange",
    "MustNotExist",
    "MustExist",
    "VersionIs",
    "Condition",
    "Put",
    "Delete",
    "ConditionCheck",
    "SetVersion",
    "AddCount",
    "COUNTER_KIND",
    "Write",
    "ItemStore",
    "StorageError",
    "TransactionTooLarge",
    "DuplicateWrite",
    "InvalidItem",
    "InvalidPageToken",
    "MAX_TRANSACTION_WRITES",
    "encode_token",
    "decode_token",
    "token_after",
    "shard_for",
]

#: Stored layout version of the item envelope (the engine versions its own ``data``).
SCHEMA_VERSION = 1
#: DynamoDB TransactWriteItems limit (actions per transaction, chunk items included).
MAX_TRANSACTION_WRITES = 100


class Table(Enum):
    """The four tables of DESIGN §3; names come from ``Settings`` at run time."""

    REPOSITORY = "repository"
    RUNTIME = "runtime"
    HISTORY = "history"
    DEADLETTER = "deadletter"


@dataclass(frozen=True)
class IndexSpec:
    """A sparse global secondary index: its name and its hash and range attributes."""

    name: str
    hash_attr: str
    range_attr: str


class Index(Enum):
    """The global secondary indexes, named after their keys (DESIGN §3)."""

    KIND_SORT = IndexSpec("kind-sort", "kind", "sort")
    KIND_SHARD_SORT = IndexSpec("kindShard-sort", "kind_shard", "sort")
    ASSIGNEE_SORT = IndexSpec("assignee-sort", "assignee", "sort")
    DUE_SHARD_DUE_AT = IndexSpec("dueShard-dueAt", "due_shard", "due_at")
    EVENT_SORT = IndexSpec("event-sort", "event", "sort")
    #: open unassigned tasks by candidate (``u#<user>`` / ``g#<group>``): ``instance_items``
    CANDIDATE_SORT = IndexSpec("candidate-sort", "candidate", "sort")
    #: running instances by business key, definition key/id, start user, super instance
    #: (``<attr>=<value>``, or ``<attr>#<sha256>`` when long): ``instance_items``; historic
    #: instances by the same attributes and their state (``repositories.history``)
    LOOKUP_SORT = IndexSpec("lookup-sort", "lookup", "sort")

    @property
    def spec(self) -> IndexSpec:
        return self.value


#: Which indexes each table has.
INDEXES: dict[Table, tuple[Index, ...]] = {
    Table.REPOSITORY: (Index.KIND_SORT,),
    Table.RUNTIME: (
        Index.KIND_SHARD_SORT,
        Index.ASSIGNEE_SORT,
        Index.DUE_SHARD_DUE_AT,
        Index.EVENT_SORT,
        Index.CANDIDATE_SORT,
        Index.LOOKUP_SORT,
    ),
    Table.HISTORY: (Index.KIND_SHARD_SORT, Index.LOOKUP_SORT),
    Table.DEADLETTER: (Index.KIND_SHARD_SORT,),
}

#: The index key attributes an ``Item.index`` may carry, per table (``kind`` is ``Item.kind``).
INDEX_ATTRIBUTES: dict[Table, frozenset[str]] = {
    table: frozenset(
        attr
        for index in indexes
        for attr in (index.spec.hash_attr, index.spec.range_attr)
        if attr != "kind"
    )
    for table, indexes in INDEXES.items()
}


# --- errors ----------------------------------------------------------------------------------


class StorageError(errors.WorkflowError, ValueError):
    """A storage request that can never succeed as written (checked before any AWS call).

    A domain error of its own: the API edge answers it as a bad request
    (``chalicelib.api.errors``)."""

    default_message = "The storage request is invalid"


class TransactionTooLarge(StorageError):
    """More than 100 writes (chunk items included) or more than 4 MB in one transaction."""


class DuplicateWrite(StorageError):
    """Two writes on one item in one transaction (DynamoDB rejects it)."""


class InvalidItem(StorageError):
    """An item with an empty or reserved key, an unknown index attribute, or a non-JSON body."""


class InvalidPageToken(StorageError):
    """A paging token that this store did not hand out."""


# --- items, conditions, writes ---------------------------------------------------------------


@dataclass
class Item:
    """One stored record. ``version`` is only meaningful on items used for optimistic locking."""

    pk: str
    sk: str
    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    index: dict[str, str] = field(default_factory=dict)
    ttl: int | None = None
    version: int | None = None
    schema_version: int = SCHEMA_VERSION
    #: Chunk items this item had when it was read (set by the store; ignored when writing).
    stored_chunks: int = field(default=0, compare=False, repr=False)

    def next_version(self, data: dict[str, Any], index: dict[str, str] | None = None) -> Item:
        """This item (same keys and kind) holding ``data``, one version on: what a version-
        conditioned Put of a changed item writes. ``index`` replaces the index values."""
        return Item(
            self.pk,
            self.sk,
            self.kind,
            data,
            index=dict(self.index if index is None else index),
            ttl=self.ttl,
            version=(self.version or 1) + 1,
        )


@dataclass(frozen=True)
class MustNotExist:
    """The write's item must not exist yet."""


@dataclass(frozen=True)
class MustExist:
    """The write's item must exist."""


@dataclass(frozen=True)
class VersionIs:
    """The write's item must exist and its ``version`` must equal ``version``."""

    version: int


Condition = MustNotExist | MustExist | VersionIs


@dataclass(frozen=True)
class Put:
    """Create or replace ``item`` in ``table``.

    ``replaces_chunks``: chunk items the old version had (``Item.stored_chunks`` of what was read);
    the ones the new version does not overwrite are deleted in the same transaction.
    """

    table: Table
    item: Item
    condition: Condition | None = None
    replaces_chunks: int = 0


@dataclass(frozen=True)
class Delete:
    """Delete ``(pk, sk)`` and its ``chunks`` chunk items (``Item.stored_chunks`` when read)."""

    table: Table
    pk: str
    sk: str
    condition: Condition | None = None
    chunks: int = 0

    @classmethod
    def of(cls, table: Table, item: Item, condition: Condition | None = None) -> Delete:
        """Delete an item that was read, chunks included."""
        return cls(table, item.pk, item.sk, condition, item.stored_chunks)


@dataclass(frozen=True)
class ConditionCheck:
    """Write nothing, but fail the transaction unless ``condition`` holds for ``(pk, sk)``."""

    table: Table
    pk: str
    sk: str
    condition: Condition


@dataclass(frozen=True)
class SetVersion:
    """Set only the ``version`` attribute of an existing item (an UpdateItem).

    The condition must require the item to exist (``VersionIs`` or ``MustExist``).
    """

    table: Table
    pk: str
    sk: str
    version: int
    condition: VersionIs | MustExist


@dataclass(frozen=True)
class AddCount:
    """Add ``delta`` to the counter item ``(pk, sk)`` (an UpdateItem ``ADD``; an absent counter
    starts at 0). A counter item has ``kind`` ``COUNTER_KIND`` and keeps its count in
    ``version``, the item's one numeric attribute. Not idempotent: a transaction that carries
    one must not be replayed without its token."""

    table: Table
    pk: str
    sk: str
    delta: int


#: ``Item.kind`` of counter items (``AddCount``)
COUNTER_KIND = "counter"

Write = Put | Delete | ConditionCheck | SetVersion | AddCount


@dataclass(frozen=True)
class Page:
    """One page of a query: the items and the token of the next page (None: no more).

    ``read``: how many items storage returned to make this page, when that differs from
    ``len(items)`` (a merge of partitions reads items it returns on a later page); None: the
    page's own items. Not part of equality."""

    items: list[Item]
    next_token: str | None = None
    read: int | None = field(default=None, compare=False)

    @property
    def items_read(self) -> int:
        """The items storage returned for this page (``read``, else ``len(items)``)."""
        return len(self.items) if self.read is None else self.read


@dataclass(frozen=True)
class KeyRange:
    """A condition on a range key: build with ``prefix``, ``between``, ``at_most``, ``at_least``."""

    op: str
    low: str | None = None
    high: str | None = None

    @classmethod
    def prefix(cls, value: str) -> KeyRange:
        """Range keys starting with ``value``."""
        return cls("prefix", low=value)

    @classmethod
    def between(cls, low: str, high: str) -> KeyRange:
        """``low <= key <= high``."""
        return cls("between", low=low, high=high)

    @classmethod
    def at_most(cls, high: str) -> KeyRange:
        """``key <= high`` (due jobs: ``due_at <= now``)."""
        return cls("at_most", high=high)

    @classmethod
    def at_least(cls, low: str) -> KeyRange:
        """``key >= low``."""
        return cls("at_least", low=low)

    def matches(self, value: str) -> bool:
        """Whether ``value`` satisfies this range (the memory store's evaluator)."""
        if self.op == "prefix":
            return value.startswith(self.low or "")
        if self.op == "between":
            return (self.low or "") <= value <= (self.high or "")
        if self.op == "at_most":
            return value <= (self.high or "")
        if self.op == "at_least":
            return value >= (self.low or "")
        raise ValueError(f"unknown key range operator {self.op!r}")


# --- the port --------------------------------------------------------------------------------


@runtime_checkable
class ItemStore(Protocol):
    """Items in four tables, read strongly consistent, written in all-or-nothing transactions."""

    def get(self, table: Table, pk: str, sk: str) -> Item | None:
        """The item at ``(pk, sk)``, or None (strongly consistent)."""

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
        """Items of one collection in sort-key order (strongly consistent); all when no limit."""

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
        """Items of one index partition in range-key order (eventually consistent on AWS)."""

    def transact(self, writes: Sequence[Write], *, token: str | None = None) -> None:
        """Apply ``writes`` all or nothing (one TransactWriteItems).

        Raises ``ConcurrencyError`` when a condition fails, ``TransactionTooLarge`` or
        ``DuplicateWrite`` before calling AWS, ``ServiceUnavailable`` when AWS fails.
        ``token`` makes a retry of the same transaction idempotent for 10 minutes on AWS.
        """

    def batch_put(self, table: Table, items: Iterable[Item]) -> None:
        """Write many items without a transaction (not atomic, no conditions)."""

    def batch_get(self, table: Table, keys: Sequence[tuple[str, str]]) -> list[Item]:
        """The items at ``keys`` (``(pk, sk)`` pairs) that exist, in the order of ``keys``
        (strongly consistent; one BatchGetItem per 100 keys, plus a Query per chunked item)."""


# --- tokens and shards -----------------------------------------------------------------------


def encode_token(key: dict[str, str]) -> str:
    """An opaque paging token for a key (``{'pk': .., 'sk': .., index attrs}``)."""
    raw = json.dumps(key, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, required: Iterable[str]) -> dict[str, str]:
    """The key inside a token; ``InvalidPageToken`` unless it holds exactly ``required``."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        key = json.loads(raw)
    except (ValueError, TypeError):
        raise InvalidPageToken("Invalid paging token") from None
    if (
        not isinstance(key, dict)
        or set(key) != set(required)
        or not all(isinstance(v, str) and v for v in key.values())
    ):
        raise InvalidPageToken("Invalid paging token")
    return key


def token_after(item: Item, index: Index | None = None) -> str:
    """The token that resumes a query (or index query) right after ``item``."""
    key = {"pk": item.pk, "sk": item.sk}
    if index is not None:
        attrs = {"kind": item.kind, **item.index}
        key[index.spec.hash_attr] = attrs[index.spec.hash_attr]
        key[index.spec.range_attr] = attrs[index.spec.range_attr]
    return encode_token(key)


def shard_for(entity_id: str, shards: int) -> int:
    """A stable shard number in ``range(shards)`` for an id (same in every process and run)."""
    if shards < 1:
        raise ValueError("shards must be >= 1")
    return zlib.crc32(entity_id.encode()) % shards
