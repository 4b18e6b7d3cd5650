"""DynamoDB's key size limits, enforced by both stores before anything is sent.

DynamoDB refuses a partition key over 2,048 UTF-8 bytes and a sort key over 1,024, in the table
and in every global secondary index whose key an attribute is (a ``ValidationException``, which
would reach the caller as a 500); moto does not check them. ``check_item`` makes every write
refuse such a key with :class:`KeyTooLarge` (a ``StorageError``: a 400 naming the attribute) in
the memory store and over moto exactly as on AWS. A read of such a key can match nothing that
was written, so the stores answer it as empty instead of sending it (:func:`key_fits`,
:func:`index_value_fits`).

This is the last line of defence: the strings users control are held to
``WORKFLOW_MAX_KEY_LENGTH`` long before (``chalicelib.limits``), with the field named.
"""

from __future__ import annotations

from collections.abc import Mapping

from .ports import INDEXES, Index, InvalidItem, Table

__all__ = [
    "MAX_PARTITION_KEY_BYTES",
    "MAX_SORT_KEY_BYTES",
    "KeyTooLarge",
    "check_item",
    "key_fits",
    "index_value_fits",
]

#: DynamoDB's limits, in UTF-8 bytes
MAX_PARTITION_KEY_BYTES = 2048
MAX_SORT_KEY_BYTES = 1024
#: what a chunk item adds to its head's sort key (``codec.chunk_sk``: ``#chunk#0001``)
_CHUNK_SUFFIX = len("#chunk#0000")


class KeyTooLarge(InvalidItem):
    """A key attribute is larger than DynamoDB allows (checked before any AWS call)."""


def _index_limits() -> dict[Table, dict[str, int]]:
    limits: dict[Table, dict[str, int]] = {}
    for table, indexes in INDEXES.items():
        table_limits = limits.setdefault(table, {})
        for index in indexes:
            for attr, limit in (
                (index.spec.hash_attr, MAX_PARTITION_KEY_BYTES),
                (index.spec.range_attr, MAX_SORT_KEY_BYTES),
            ):
                table_limits[attr] = min(limit, table_limits.get(attr, limit))
    return limits


_LIMITS = _index_limits()


def _size(value: str) -> int:
    return len(value) if value.isascii() else len(value.encode("utf-8"))


def check_item(table: Table, pk: str, sk: str, index: Mapping[str, object]) -> None:
    """:class:`KeyTooLarge` when the item's key or an index key attribute is too large."""
    _check(table, "item key", "pk", pk, MAX_PARTITION_KEY_BYTES)
    _check(table, "item key", "sk", sk, MAX_SORT_KEY_BYTES - _CHUNK_SUFFIX)
    limits = _LIMITS.get(table, {})
    for attr, value in index.items():
        limit = limits.get(attr)
        if limit is not None and isinstance(value, str):
            _check(table, "index key", attr, value, limit)


def _check(table: Table, what: str, attr: str, value: str, limit: int) -> None:
    if _size(value) > limit:
        raise KeyTooLarge(
            f"The {table.value} {what} '{attr}' is {_size(value)} bytes, more than the "
            f"{limit} DynamoDB allows",
            {"attribute": attr, "maximum": limit},
        )


def key_fits(pk: str, sk: str | None = None) -> bool:
    """Whether a table key could have been written (a longer one matches nothing)."""
    return _size(pk) <= MAX_PARTITION_KEY_BYTES and (sk is None or _size(sk) <= MAX_SORT_KEY_BYTES)


def index_value_fits(index: Index, hash_value: str) -> bool:
    """Whether an index partition key could have been written (else it holds nothing)."""
    return _size(hash_value) <= MAX_PARTITION_KEY_BYTES
