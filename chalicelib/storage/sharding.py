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
import itertools
import json
import math
from collections.abc import Sequence
from typing import Any

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

__all__ = [
    "shard_key",
    "shard_for",
    "query_shards",
    "query_partitions",
    "skip_partitions",
    "retarget",
    "sole_position",
    "SHARE_MARGIN",
]

_DONE = "-"
#: items asked of each unfinished partition beyond its share of the limit: enough that the
#: certainly-ordered prefix of a page of 10 over 8 shards is rarely short
SHARE_MARGIN = 6


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

    Costs one index query per unfinished shard per page, and reads about ``limit`` items; a
    page may be short with a token (see ``query_partitions``).
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
    whole: bool = False,
) -> Page:
    """One page of the partitions ``hash_values`` of ``index``, merged in range-key order.

    Costs one index query per unfinished partition per page, and reads about ``limit`` items,
    not ``limit`` per partition: each unfinished partition is asked for its share,
    ``ceil(limit / unfinished) + SHARE_MARGIN`` (at most ``limit``), so one call reads at most
    ``limit + unfinished * (SHARE_MARGIN + 1)`` items (``Page.read``). Only the items certainly
    in merged order are returned: the first ``share`` of the merge, and those up to the
    smallest (descending: largest) last key of the partitions that have more. So a page may be short (never empty while items remain)
    with a token; callers loop on ``next_token``. The token records where each partition
    stopped (by its position in ``hash_values``: resume with the same list), so paging neither
    skips nor repeats items. Ties on the range key are ordered by (pk, sk); use unique range
    values (``<time>#<id>``) when the order matters. No partitions: an empty last page.
    ``whole``: each partition is asked for ``limit`` items, so the page is never short (up to
    ``limit`` items per partition read, for a page of ``limit``: ``skip_partitions``).
    """
    if limit < 1:
        raise ValueError("limit must be >= 1")
    state, fetched, taken, read = _merge(
        store, table, index, hash_values, key_range, limit, start, descending, limit if whole else 0
    )
    items = [item for _, _, item in taken]
    return Page(items, _token_after(state, fetched, taken, index, len(hash_values)), read)


def _merge(
    store: ItemStore,
    table: Table,
    index: Index,
    hash_values: Sequence[str],
    key_range: KeyRange | None,
    limit: int,
    start: str | None,
    descending: bool,
    asked: int,
) -> tuple[dict[int, str], dict[int, Page], list[tuple[Any, int, Item]], int]:
    """One round of ``query_partitions``: ``(state it started from, the page of each
    partition queried, the merged items certainly in order, items read)``. ``asked``: the
    items asked of each partition (0: its share of ``limit`` and ``SHARE_MARGIN``)."""
    count = len(hash_values)
    state = _decode_state(start, count)
    unfinished = [p for p in range(count) if state.get(p) != _DONE]
    share = min(limit, asked or -(-limit // max(len(unfinished), 1)) + SHARE_MARGIN)
    fetched: dict[int, Page] = {}
    for position in unfinished:
        hash_value = hash_values[position]
        resume = state.get(position)
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
            limit=share,
            start=resume,
            descending=descending,
        )
    read = sum(len(page.items) for page in fetched.values())
    # A partition with more can still hold items between its last one and anything later in
    # the other partitions: only keys up to the nearest such last key are certainly in order.
    pending = [
        _sort_key(index, page.items[-1])
        for page in fetched.values()
        if page.next_token is not None and page.items
    ]
    cut = (max(pending) if descending else min(pending)) if pending else None

    def certain(rank: int, key: tuple[str, str, str]) -> bool:
        # Also certain: the first ``share`` merged items. An item a partition has not returned
        # yet comes after all ``share`` items it did return, so it cannot precede any of them.
        return rank < share or cut is None or (key >= cut if descending else key <= cut)

    streams = [
        [(_sort_key(index, item), position, item) for item in page.items]
        for position, page in fetched.items()
    ]
    merged = heapq.merge(*streams, reverse=descending)
    taken = [
        entry
        for _, entry in itertools.takewhile(
            lambda ranked: certain(ranked[0], ranked[1][0]),
            enumerate(itertools.islice(merged, limit)),
        )
    ]
    return state, fetched, taken, read


def _token_after(
    state: dict[int, str],
    fetched: dict[int, Page],
    taken: list[tuple[Any, int, Item]],
    index: Index,
    count: int,
) -> str | None:
    """The token that resumes a merge from ``state`` after ``taken`` (a prefix of the merged
    ``fetched`` pages), None when every partition is done."""
    new_state = dict(state)
    for position, page in fetched.items():
        mine = [item for _, p, item in taken if p == position]
        if len(mine) == len(page.items) and page.next_token is None:
            new_state[position] = _DONE
        elif mine:
            new_state[position] = token_after(mine[-1], index)
        elif not page.items and page.next_token is not None:
            new_state[position] = page.next_token  # an empty page with more: move past it
    if all(new_state.get(position) == _DONE for position in range(count)):
        return None
    return encode_token({"shards": json.dumps(new_state, sort_keys=True)})


def _spread_share(wanted: int, shards: int) -> int:
    """The items to ask of each of ``shards`` shards so that their merge holds the first
    ``wanted`` items but with a chance under one in a million per shard: its expected share
    (binomial, p = 1/shards) plus five standard deviations and ``SHARE_MARGIN``."""
    if shards <= 1:
        return wanted
    mean = wanted / shards
    deviation = math.sqrt(mean * (1 - 1 / shards))
    return min(wanted, math.ceil(mean + 5 * deviation) + SHARE_MARGIN)


def skip_partitions(
    store: ItemStore,
    table: Table,
    index: Index,
    hash_values: Sequence[str],
    count: int,
    *,
    descending: bool = False,
    then: int = 0,
    spread: bool = False,
) -> tuple[str | None, bool, Page | None]:
    """``(token, ended, following)``: the ``query_partitions`` token (same partitions and
    order) that resumes after the first ``count`` merged items, reading their index items only;
    ``ended`` (token None) when no item follows them. Each partition is asked for ``count`` +
    ``then`` items at once (``whole``), so it costs one Query per partition (more past
    DynamoDB's 1 MB per response) and reads at most that many index items per partition.
    ``spread``: the partitions are the shards of one listing (``shard_for`` of an id, so each
    holds about its share of any run of merged items): each is asked for its share of
    ``count + then`` and five standard deviations of it more (``_spread_share``), so a round
    reads about twice the items it skips rather than once per partition; a round whose merge
    comes short (a shard past its ask, rare) goes on from where the merge is certain.
    ``following``: the up to ``then`` items after the skipped ones, as the page
    ``query_partitions`` would return from ``token`` (its token resumes after them), so the
    caller need not query again; None when ``then`` is 0 or nothing follows (with ``spread``
    it may hold fewer than ``then`` items and a token: the caller reads on from it)."""
    if count < 1:
        raise ValueError("count must be >= 1")
    token: str | None = None
    while True:
        wanted = count + then
        asked = _spread_share(wanted, len(hash_values)) if spread else wanted
        state, fetched, taken, _ = _merge(
            store, table, index, hash_values, None, wanted, token, descending, asked
        )
        total = len(hash_values)
        if len(taken) > count:
            after = _token_after(state, fetched, taken[:count], index, total)
            following = Page(
                [item for _, _, item in taken[count:]],
                _token_after(state, fetched, taken, index, total),
            )
            return after, False, following
        count -= len(taken)
        token = _token_after(state, fetched, taken, index, total)
        if token is None:
            return None, True, None
        if count == 0:
            return token, False, None


def retarget(
    token: str | None,
    index: Index,
    count: int,
    to_index: Index,
    to_values: Sequence[str],
    sk: str,
) -> str | None:
    """A ``query_partitions`` token over ``count`` partitions of ``index`` as the token that
    resumes ``query_partitions`` over ``to_values`` of ``to_index`` at the same positions: each
    partition's position ``(pk, sk, hash, range)`` becomes ``(pk, sk, to_values[p], range)``.
    For a listing of key-only items beside the listing of the items they stand for: one of each
    per entity, under the same range values, the other item of ``pk`` at ``sk`` (a position
    needs no item there: DynamoDB resumes after the key). None stays None."""
    if token is None:
        return None
    if len(to_values) != count:
        raise ValueError("retarget to as many partitions")
    moved: dict[int, str] = {}
    for position, resume in _decode_state(token, count).items():
        if resume == _DONE:
            moved[position] = _DONE
            continue
        key = decode_token(resume, _index_key(index))
        moved[position] = encode_token(
            {
                "pk": key["pk"],
                "sk": sk,
                to_index.spec.hash_attr: to_values[position],
                to_index.spec.range_attr: key[index.spec.range_attr],
            }
        )
    return encode_token({"shards": json.dumps(moved, sort_keys=True)})


def sole_position(token: str | None) -> str | None:
    """The position of a ``query_partitions`` token over one partition as a token of that
    partition's own ``query_index`` (None: done). A token that has not started the partition
    cannot be told from its start: ``ValueError``."""
    if token is None:
        return None
    state = _decode_state(token, 1)
    if 0 not in state:
        raise ValueError("the token has no position in the partition")
    return None if state[0] == _DONE else state[0]


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
