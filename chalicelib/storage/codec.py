"""Items <-> stored records, shared by both stores so they store and page exactly alike.

A *record* is the flat attribute map one store item holds (plain Python values):

=================  ======  ===================================================================
attribute          type    meaning
=================  ======  ===================================================================
``pk``, ``sk``     str     the key
``kind``           str     the item kind (``#chunk`` for chunk items); hash key of ``kind-sort``
``body``           bytes   JSON of ``Item.data``: plain UTF-8 when small, else zlib-compressed
                           (or one piece of it; see "Bodies" below)
``chunks``         int     on a head item: how many chunk items follow (absent when none)
``version``        int     optimistic-locking version (absent when None)
``schema_version`` int     layout version of the item
``expires``        int     TTL, epoch seconds (absent when None)
index attributes   str     sparse GSI keys (``sort``, ``kind_shard``, ``due_at``, ...)
=================  ======  ===================================================================

``plan(writes)`` turns logical writes into physical ones (chunk items included) and enforces the
transaction limits before anything is sent.

Bodies: the first byte tells the format. ``Item.data`` is a dict, so its JSON text starts with
``{`` (0x7B); a zlib stream starts with a CMF byte whose low four bits are 8 (deflate), 0x78
for the 32 KB window every older body used. A body of at most ``RAW_BODY_BYTES`` bytes of JSON is
stored as is: with its keys it stays within one 1 KB write unit either way, so compressing it
would save no write capacity, only bytes, and costs tens of microseconds of zlib set-up per item
(most of the work of encoding a history record). Larger bodies are zlib-compressed, with a
window no larger than the text (the decoder reads any window up to 32 KB from the header).
Both formats decode alike, old bodies included.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .keys import check_item as check_key_sizes
from .ports import (
    INDEX_ATTRIBUTES,
    INDEXES,
    MAX_TRANSACTION_WRITES,
    AddCount,
    Condition,
    ConditionCheck,
    Delete,
    DuplicateWrite,
    Index,
    InvalidItem,
    Item,
    MustExist,
    Put,
    SetVersion,
    Table,
    TransactionTooLarge,
    VersionIs,
    Write,
)

__all__ = [
    "Record",
    "CHUNK_KIND",
    "CHUNK_BYTES",
    "MAX_TRANSACTION_BYTES",
    "Op",
    "RawWrite",
    "encode",
    "chunk_sk",
    "chunk_prefix",
    "assemble",
    "plan",
    "plan_batch",
    "record_size",
    "check_limit",
    "check_index",
    "body_data",
    "RAW_BODY_BYTES",
]

Record = dict[str, Any]
CHUNK_KIND = "#chunk"
CHUNK_MARK = "#chunk#"
#: Largest compressed body piece per stored item (DynamoDB's item limit is 400 KB).
CHUNK_BYTES = 350_000
#: DynamoDB's aggregate size limit of one TransactWriteItems.
MAX_TRANSACTION_BYTES = 4_000_000
_COMPRESSION_LEVEL = 6
#: Largest JSON body (bytes) stored uncompressed; see "Bodies" in the module docs.
RAW_BODY_BYTES = 512
_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


class Op(Enum):
    """Physical write operations (TransactWriteItems actions)."""

    PUT = "Put"
    DELETE = "Delete"
    CHECK = "ConditionCheck"
    SET_VERSION = "Update"
    ADD = "Add"


@dataclass(frozen=True)
class RawWrite:
    """One physical write. ``source`` is the position of the logical write it came from."""

    op: Op
    table: Table
    pk: str
    sk: str
    source: int
    record: Record | None = None
    condition: Condition | None = None
    version: int | None = None

    def put_record(self) -> Record:
        """The record of a ``PUT`` (every put carries one)."""
        if self.record is None:
            raise TypeError(f"a {self.op} write carries no record")
        return self.record

    def new_version(self) -> int:
        """The version a ``SET_VERSION`` writes (every such write carries one)."""
        if self.version is None:
            raise TypeError(f"a {self.op} write carries no version")
        return self.version


def chunk_sk(sk: str, number: int) -> str:
    """The sort key of chunk ``number`` (1-based) of the item at ``sk``."""
    return f"{sk}{CHUNK_MARK}{number:04d}"


def chunk_prefix(sk: str) -> str:
    """The sort-key prefix shared by all chunk items of the item at ``sk``."""
    return f"{sk}{CHUNK_MARK}"


def check_limit(limit: int | None) -> None:
    """Reject a page size that is not a positive integer."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise InvalidItem("limit must be a positive integer")


def check_index(table: Table, index: Index) -> None:
    """Reject an index the table does not have."""
    if index not in INDEXES[table]:
        raise InvalidItem(f"Table {table.value} has no index {index.spec.name}")


def _validate(table: Table, item: Item) -> None:
    if not isinstance(item.pk, str) or not item.pk or not isinstance(item.sk, str) or not item.sk:
        raise InvalidItem("Item keys must be non-empty strings")
    if CHUNK_MARK in item.sk:
        raise InvalidItem(f"Sort key {item.sk!r} uses the reserved marker {CHUNK_MARK!r}")
    if not item.kind or item.kind == CHUNK_KIND:
        raise InvalidItem(f"Invalid item kind {item.kind!r}")
    if item.index:
        unknown = set(item.index) - INDEX_ATTRIBUTES[table]
        if unknown:
            raise InvalidItem(f"Unknown index attributes for {table.value}: {sorted(unknown)}")
        for name, value in item.index.items():
            if not isinstance(value, str) or not value:
                raise InvalidItem(f"Index attribute {name!r} must be a non-empty string")
    if item.ttl is not None and (not isinstance(item.ttl, int) or item.ttl < 0):
        raise InvalidItem("ttl must be epoch seconds (a non-negative int)")
    check_key_sizes(table, item.pk, item.sk, item.index)  # DynamoDB's key limits (moto's too)


def encode(table: Table, item: Item) -> list[Record]:
    """The head record and chunk records that store ``item``."""
    _validate(table, item)
    try:
        text = _JSON.encode(item.data)
    except (TypeError, ValueError) as exc:
        raise InvalidItem(f"Item data is not JSON: {exc}") from None
    body = _body(text.encode("utf-8"))
    if len(body) <= CHUNK_BYTES:
        pieces = [body]
    else:
        pieces = [body[i : i + CHUNK_BYTES] for i in range(0, len(body), CHUNK_BYTES)]
    head: Record = {
        "pk": item.pk,
        "sk": item.sk,
        "kind": item.kind,
        "body": pieces[0],
        "schema_version": item.schema_version,
        **item.index,
    }
    if item.version is not None:
        head["version"] = int(item.version)
    if item.ttl is not None:
        head["expires"] = int(item.ttl)
    if len(pieces) > 1:
        head["chunks"] = len(pieces) - 1
    records = [head]
    for number, piece in enumerate(pieces[1:], start=1):
        chunk: Record = {
            "pk": item.pk,
            "sk": chunk_sk(item.sk, number),
            "kind": CHUNK_KIND,
            "body": piece,
            "schema_version": item.schema_version,
        }
        if item.ttl is not None:
            chunk["expires"] = int(item.ttl)
        records.append(chunk)
    return records


def _body(raw: bytes) -> bytes:
    """The stored body of JSON text ``raw`` (plain only when it is an object's: ``{...}``)."""
    size = len(raw)
    if size <= RAW_BODY_BYTES and raw[:1] == b"{":
        return raw
    # a window of the text's size (at least 2**9, zlib's smallest) and a hash table to match:
    # the same stream format, with far less zlib state to set up than the defaults (a 32 KB
    # window, a 256 KB state) for a text of a few KB; large texts get the defaults
    window_bits = min(15, max(9, (size - 1).bit_length()))
    compressor = zlib.compressobj(
        _COMPRESSION_LEVEL, zlib.DEFLATED, window_bits, min(8, window_bits - 6)
    )
    return compressor.compress(raw) + compressor.flush()


_RAW_MARK = ord("{")


def body_data(body: bytes) -> dict[str, Any]:
    """``Item.data`` from a whole stored body (plain JSON, zlib-compressed JSON, or empty)."""
    if not body:
        return {}
    if body[0] == _RAW_MARK:
        return json.loads(body.decode("utf-8"))
    return json.loads(zlib.decompress(body).decode("utf-8"))


def _decode(head: Record, pieces: Sequence[bytes]) -> Item:
    body = b"".join([head["body"], *pieces]) if pieces else head.get("body", b"")
    data = body_data(body)
    index = {name: value for name, value in head.items() if name not in _ENVELOPE}
    return Item(
        pk=head["pk"],
        sk=head["sk"],
        kind=head["kind"],
        data=data,
        index=index,
        ttl=head.get("expires"),
        version=head.get("version"),
        schema_version=int(head.get("schema_version", 1)),
        stored_chunks=int(head.get("chunks", 0)),
    )


_ENVELOPE = frozenset(
    {"pk", "sk", "kind", "body", "chunks", "version", "schema_version", "expires"}
)


def assemble(
    records: Iterable[Record], fetch_chunks: Callable[[str, str], list[Record]]
) -> list[Item]:
    """Items from a run of records, in order; chunk records are folded into their heads.

    A head whose chunks are not all among ``records`` (a page boundary cut them off) gets them
    from ``fetch_chunks(pk, sk)``, which returns that item's chunk records. Chunk records whose
    head is not in the run are dropped (their head is on another page).
    """
    records = list(records)
    pieces: dict[tuple[str, str], dict[int, bytes]] = {}
    for record in records:
        if record["kind"] == CHUNK_KIND:
            head_sk, _, number = record["sk"].rpartition(CHUNK_MARK)
            pieces.setdefault((record["pk"], head_sk), {})[int(number)] = record["body"]
    items = []
    for record in records:
        if record["kind"] == CHUNK_KIND:
            continue
        count = int(record.get("chunks", 0))
        found = pieces.get((record["pk"], record["sk"]), {})
        if any(n not in found for n in range(1, count + 1)):
            found = {
                int(r["sk"].rpartition(CHUNK_MARK)[2]): r["body"]
                for r in fetch_chunks(record["pk"], record["sk"])
            }
        missing = [n for n in range(1, count + 1) if n not in found]
        if missing:
            raise LookupError(f"Item {record['pk']}/{record['sk']} lost chunks {missing}")
        items.append(_decode(record, [found[n] for n in range(1, count + 1)]))
    return items


def record_size(record: Record) -> int:
    """Approximate stored size of a record in bytes (names plus values, as DynamoDB counts)."""
    size = 0
    for name, value in record.items():
        size += len(name)
        if isinstance(value, bytes):
            size += len(value)
        elif isinstance(value, str):
            size += len(value.encode("utf-8"))
        else:
            size += 21
    return size


def plan(writes: Sequence[Write]) -> list[RawWrite]:
    """Physical writes for a transaction; rejects what DynamoDB would reject, before sending.

    Raises ``DuplicateWrite`` (two writes on one item), ``TransactionTooLarge`` (more than 100
    physical writes, chunk items included, or more than 4 MB) and ``InvalidItem``.
    """
    raw: list[RawWrite] = []
    for position, write in enumerate(writes):
        if isinstance(write, Put):
            records = encode(write.table, write.item)
            raw.append(
                RawWrite(
                    Op.PUT,
                    write.table,
                    write.item.pk,
                    write.item.sk,
                    position,
                    records[0],
                    write.condition,
                )
            )
            raw.extend(
                RawWrite(Op.PUT, write.table, r["pk"], r["sk"], position, r) for r in records[1:]
            )
            raw.extend(
                RawWrite(
                    Op.DELETE, write.table, write.item.pk, chunk_sk(write.item.sk, n), position
                )
                for n in range(len(records), write.replaces_chunks + 1)
            )
        elif isinstance(write, Delete):
            raw.append(
                RawWrite(
                    Op.DELETE, write.table, write.pk, write.sk, position, condition=write.condition
                )
            )
            raw.extend(
                RawWrite(Op.DELETE, write.table, write.pk, chunk_sk(write.sk, n), position)
                for n in range(1, write.chunks + 1)
            )
        elif isinstance(write, ConditionCheck):
            raw.append(
                RawWrite(
                    Op.CHECK, write.table, write.pk, write.sk, position, condition=write.condition
                )
            )
        elif isinstance(write, SetVersion):
            if not isinstance(write.condition, (VersionIs, MustExist)):
                raise InvalidItem("SetVersion needs a VersionIs or MustExist condition")
            raw.append(
                RawWrite(
                    Op.SET_VERSION,
                    write.table,
                    write.pk,
                    write.sk,
                    position,
                    condition=write.condition,
                    version=int(write.version),
                )
            )
        elif isinstance(write, AddCount):
            raw.append(
                RawWrite(Op.ADD, write.table, write.pk, write.sk, position, version=write.delta)
            )
        else:
            raise TypeError(f"not a storage write: {write!r}")
    if not raw:
        raise InvalidItem("A transaction needs at least one write")
    if len(raw) > MAX_TRANSACTION_WRITES:
        raise TransactionTooLarge(
            f"A transaction holds at most {MAX_TRANSACTION_WRITES} writes, got {len(raw)} "
            f"(large items count one write per chunk)",
            {"writes": len(raw), "limit": MAX_TRANSACTION_WRITES},
        )
    seen: set[tuple[Table, str, str]] = set()
    for physical in raw:
        key = (physical.table, physical.pk, physical.sk)
        if key in seen:
            raise DuplicateWrite(
                f"Two writes on one item in a transaction: "
                f"{physical.table.value} {physical.pk!r} {physical.sk!r}"
            )
        seen.add(key)
    size = sum(record_size(w.record) if w.record else 100 for w in raw)
    if size > MAX_TRANSACTION_BYTES:
        raise TransactionTooLarge(
            f"A transaction holds at most 4 MB, got about {size} bytes",
            {"bytes": size, "limit": MAX_TRANSACTION_BYTES},
        )
    return raw


def plan_batch(table: Table, items: Iterable[Item]) -> list[Record]:
    """Records for a non-transactional batch put; rejects two items with one key."""
    records: list[Record] = []
    seen: set[tuple[str, str]] = set()
    for item in items:
        if (item.pk, item.sk) in seen:
            raise DuplicateWrite(f"Two items with one key in a batch: {item.pk!r} {item.sk!r}")
        seen.add((item.pk, item.sk))
        records.extend(encode(table, item))
    return records
