"""Sharded index keys: spread a hot index partition over N shards, read them back merged.

A hot hash key (every task has ``kind = "task"``; every job is due somewhere) would put all its
index entries in one partition. Writers store ``kind_shard = shard_key("task", shard_for(id, N))``
instead (``"task#3"``), and readers query all N shards and merge them in range-key order.
N is part of the stored data: changing it needs a migration, so pick it once per kind.

``query_partitions`` is the general merge: any list of partitions of one index (the shards of a
kind, or the ``candidate-sort`` partitions of a user and their groups) read as one sorted listing.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Sequence

from .ports import (
    Index,
    InvalidPageToken,
    Item,
    ItemStore,
    KeyRange,
    Page,
    Table,
    decode_token,
    encode_token,
    shard_for,
    token_after,
)

__all__ = ["shard_key", "shard_for", "query_shards", "query_partitions"]

_DONE = "-"


def shard_key(base: str, shard: int) -> str:
    """The hash value of one shard: ``"task#3"``."""
    return f"{base}#{shard}"


def _sort_key(index: Index, item: Item) -> tuple[str, str, str]:
    attrs = {"kind": item.kind, **item.index}
    return (attrs[index.spec.range_attr], item.pk, item.sk)


def query_shards(
    store: ItemStore,
    table: Table,
    index: Index,
    base: str,
    shards: int,
    *,
    key_range: KeyRange | None = None,
    limit: int = 100,
    start: str | None = None,
    descending: bool = False,
) -> Page:
    """One page of all shards ``base#0 .. base#N-1`` of ``index``, merged in range-key order.

    Costs one index query per unfinished shard per page (see ``query_partitions``).
    """
    return query_partitions(
        store,
        table,
        index,
        [shard_key(base, n) for n in range(shards)],
        key_range=key_range,
        limit=limit,
        start=start,
        descending=descending,
    )


def query_partitions(
    store: ItemStore,
    table: Table,
    index: Index,
    hash_values: Sequence[str],
    *,
    key_range: KeyRange | None = None,
    limit: int = 100,
    start: str | None = None,
    descending: bool = False,
) -> Page:
    """One page of the partitions ``hash_values`` of ``index``, merged in range-key order.

    Costs one index query per unfinished partition per page. The token records where each
    partition stopped (by its position in ``hash_values``: resume with the same list), so paging
    neither skips nor repeats items. Ties on the range key are ordered by (pk, sk); use unique
    range values (``<time>#<id>``) when the order matters. No partitions: an empty last page.
    """
    if limit < 1:
        raise ValueError("limit must be >= 1")
    count = len(hash_values)
    state = _decode_state(start, count)
    fetched: dict[int, Page] = {}
    for position, hash_value in enumerate(hash_values):
        resume = state.get(position)
        if resume == _DONE:
            continue
        if (
            resume is not None
            and decode_token(resume, _index_key(index)).get(index.spec.hash_attr) != hash_value
        ):
            raise InvalidPageToken("Invalid paging token")  # not this list of partitions
        fetched[position] = store.query_index(
            table,
            index,
            hash_value,
            key_range=key_range,
            limit=limit,
            start=resume,
            descending=descending,
        )
    streams = [
        [(_sort_key(index, item), position, item) for item in page.items]
        for position, page in fetched.items()
    ]
    merged = heapq.merge(*streams, reverse=descending)
    taken = [entry for _, entry in zip(range(limit), merged)]
    new_state = dict(state)
    for position, page in fetched.items():
        mine = [item for _, p, item in taken if p == position]
        if len(mine) == len(page.items) and page.next_token is None:
            new_state[position] = _DONE
        elif mine:
            new_state[position] = token_after(mine[-1], index)
    items = [item for _, _, item in taken]
    if all(new_state.get(position) == _DONE for position in range(count)):
        return Page(items, None)
    return Page(items, encode_token({"shards": json.dumps(new_state, sort_keys=True)}))


def _index_key(index: Index) -> list[str]:
    return ["pk", "sk", index.spec.hash_attr, index.spec.range_attr]


def _decode_state(token: str | None, shards: int) -> dict[int, str]:
    if token is None:
        return {}
    raw = decode_token(token, ["shards"])["shards"]
    try:
        state = {int(shard): position for shard, position in json.loads(raw).items()}
    except (ValueError, AttributeError):
        raise InvalidPageToken("Invalid paging token") from None
    if any(
        not 0 <= shard < shards or not isinstance(position, str)
        for shard, position in state.items()
    ):
        raise InvalidPageToken("Invalid paging token")
    return state
