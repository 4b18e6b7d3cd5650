"""``sharding.skip_partitions`` with ``spread``: over the shards of one listing (each item's
shard the hash of its id), each shard is asked for its share of the skip and a margin instead
of the whole of it; the token and the following items are those of the whole skip, and the
index items read are a few times the skip's share, not the skip once per shard."""

from __future__ import annotations

import pytest

from chalicelib import aws
from chalicelib.storage.ports import Index, Item, Table
from chalicelib.storage.sharding import query_partitions, shard_for, shard_key, skip_partitions

R = Table.RUNTIME
SHARDS = 8
PARTITIONS = [shard_key("s", n) for n in range(SHARDS)]
ITEMS = 600


def listed(store) -> list[int]:
    """``ITEMS`` index items, each in the shard of its id."""
    items = [
        Item(f"i{n:04d}", "look#x", "lookup", {"n": n}, {"lookup": lookup, "sort": f"{n:04d}"})
        for n in range(ITEMS)
        for lookup in [shard_key("s", shard_for(f"i{n:04d}", SHARDS))]
    ]
    store.batch_put(R, items)
    return [item.data["n"] for item in items]


def rest(store, token, descending) -> list[int]:
    """What the merge lists from ``token`` on."""
    found: list[int] = []
    while token is not None:
        page = query_partitions(
            store, R, Index.LOOKUP_SORT, PARTITIONS, limit=300, start=token, descending=descending
        )
        found += [item.data["n"] for item in page.items]
        token = page.next_token
    return found


def skip(store, count: int, then: int, descending: bool, spread: bool):
    return skip_partitions(
        store,
        R,
        Index.LOOKUP_SORT,
        PARTITIONS,
        count,
        descending=descending,
        then=then,
        spread=spread,
    )


@pytest.mark.parametrize("descending", [False, True])
def test_a_spread_skip_is_the_whole_skip_reading_less(store, descending):
    expected = sorted(listed(store), reverse=descending)
    for count, then in ((60, 11), (1, 11), (590, 11), (150, 0)):
        answers = {}
        for spread in (False, True):
            with aws.counting() as counter:
                answers[spread] = skip(store, count, then, descending, spread)
            assert counter.total("dynamodb") in (0, SHARDS), counter.counts  # one round
        # the same token, end and following page (items and token) whether spread or not, so
        # what they list from there on is listed once: it is the same for both
        assert answers[True] == answers[False]
        token, ended, following = answers[True]
        assert not ended
        assert rest(store, token, descending) == expected[count:]
        if then:
            assert following is not None
            shown = [item.data["n"] for item in following.items]
            assert shown == expected[count : count + then]
            assert rest(store, following.next_token, descending) == expected[count + then :]
    assert skip(store, ITEMS, 2, descending, True) == (None, True, None)


def test_a_spread_skip_reads_its_share_of_each_shard(store):
    listed(store)
    original = store.query_index
    reads = {}
    for spread in (False, True):
        read = 0

        def counting(*args, **kwargs):
            nonlocal read
            page = original(*args, **kwargs)
            read += len(page.items)
            return page

        store.query_index = counting
        try:
            skip(store, 60, 11, False, spread)
        finally:
            store.query_index = original
        reads[spread] = read
    # whole: 71 of each shard (each holds about 75); spread: about 71 / 8 + 5 deviations + 6
    assert reads[False] == SHARDS * 71 and reads[True] <= 4 * 71, reads
