"""Idempotency records in the runtime table: one item per scoped ``Idempotency-Key``.

=======================================  ==============  =============  ===========
partition (``pk``)                       sort key        ``kind``       index
=======================================  ==============  =============  ===========
``idem#<sha256 of caller|route|key>``    ``#idem``       idempotency    (not indexed)
=======================================  ==============  =============  ===========

The key is hashed, so no client key is stored raw. What the item holds and how it is written is
``service.idempotency``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ...storage.ports import Delete, Item, ItemStore, Table, VersionIs

__all__ = ["SK", "KIND", "scoped_pk", "record_item", "read_record", "record_delete"]

SK = "#idem"
KIND = "idempotency"


def scoped_pk(caller_id: str, route: str, key: str) -> str:
    """The item's partition key: a hash of (caller, route, key), so no key is stored raw."""
    digest = hashlib.sha256("|".join((caller_id, route, key)).encode()).hexdigest()
    return f"idem#{digest}"


def record_item(pk: str, data: dict[str, Any], ttl: int | None, version: int) -> Item:
    """The idempotency record at ``pk`` holding ``data`` (kept until ``ttl``)."""
    return Item(pk, SK, KIND, data=data, ttl=ttl, version=version)


def read_record(store: ItemStore, pk: str) -> Item | None:
    """The idempotency record at ``pk`` (strongly consistent)."""
    return store.get(Table.RUNTIME, pk, SK)


def record_delete(pk: str, version: int) -> Delete:
    """The write that removes the record at ``pk`` if it is still at ``version``."""
    return Delete(Table.RUNTIME, pk, SK, VersionIs(version))
