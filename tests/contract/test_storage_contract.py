"""One contract for both ItemStores: memory and DynamoDB (pynamodb under moto)."""

from __future__ import annotations

import base64
import itertools
import random
import threading

import pytest

from chalicelib import aws, errors
from chalicelib.storage.aggregate import HEADER_SK, AggregateStore, retry_on_conflict
from chalicelib.storage.ports import (
    COUNTER_KIND,
    AddCount,
    ConditionCheck,
    Delete,
    DuplicateWrite,
    Index,
    InvalidItem,
    InvalidPageToken,
    Item,
    KeyRange,
    MustExist,
    MustNotExist,
    Page,
    Put,
    SetVersion,
    Table,
    TransactionTooLarge,
    VersionIs,
    shard_for,
)
from chalicelib.storage.sharding import (
    SHARE_MARGIN,
    query_partitions,
    query_shards,
    shard_key,
    skip_partitions,
)

R, H = Table.RUNTIME, Table.HISTORY


def item(pk: str, sk: str, kind: str = "var", **data) -> Item:
    return Item(pk, sk, kind, dict(data))


def all_pages(fetch, limit: int) -> list[list[Item]]:
    pages, token = [], None
    while True:
        page = fetch(limit=limit, start=token)
        assert len(page.items) <= limit
        pages.append(page.items)
        token = page.next_token
        if token is None:
            return pages


def big_body(size: int = 1_000_000) -> dict:
    """About ``size`` characters of text that compresses poorly (random bytes, base64)."""
    rng = random.Random(7)
    return {"blob": base64.b64encode(rng.randbytes(size * 3 // 4)).decode(), "n": 1}


# --- items ------------------------------------------------------------------------------------


def test_put_get_delete(store):
    stored = Item("p", "a", "var", {"x": [1, "é", None]}, ttl=None, version=3, schema_version=2)
    store.transact([Put(R, stored)])
    assert store.get(R, "p", "a") == stored
    assert store.get(R, "p", "missing") is None
    store.transact([Delete(R, "p", "a")])
    assert store.get(R, "p", "a") is None


def test_query_prefix_order_and_descending(store):
    store.batch_put(
        R,
        [item("p", sk) for sk in ("task#2", "task#1", "var#1", "#header")]
        + [item("other", "task#0")],
    )
    assert [i.sk for i in store.query(R, "p").items] == ["#header", "task#1", "task#2", "var#1"]
    assert [i.sk for i in store.query(R, "p", sk_prefix="task#").items] == ["task#1", "task#2"]
    page = store.query(R, "p", sk_prefix="task#", descending=True)
    assert [i.sk for i in page.items] == ["task#2", "task#1"] and page.next_token is None
    assert store.query(R, "nobody").items == []


@pytest.mark.parametrize("descending", [False, True])
def test_paging_has_no_skips_or_duplicates(store, descending):
    store.batch_put(R, [item("p", f"task#{n:02d}") for n in range(23)] + [item("p", "var#x")])
    pages = all_pages(
        lambda **kw: store.query(R, "p", sk_prefix="task#", descending=descending, **kw), limit=5
    )
    seen = [i.sk for page in pages for i in page]
    expected = [f"task#{n:02d}" for n in range(23)]
    assert seen == (expected[::-1] if descending else expected)
    assert all(len(page) == 5 for page in pages[:4])


def test_bad_tokens_and_limits_are_rejected(store):
    with pytest.raises(InvalidPageToken):
        store.query(R, "p", start="not-a-token")
    with pytest.raises(InvalidItem):
        store.query(R, "p", limit=0)
    with pytest.raises(InvalidItem):
        store.query_index(H, Index.ASSIGNEE_SORT, "x")  # history has no assignee index


# --- indexes ----------------------------------------------------------------------------------


def test_sparse_index_queries(store):
    assigned = [
        Item(f"i{n}", f"task#{n}", "task", {"n": n}, {"assignee": "bob", "sort": f"2026-01-0{n}"})
        for n in range(1, 6)
    ]
    unassigned = Item("i9", "task#9", "task", {}, {"sort": "2026-01-09"})
    store.batch_put(
        R,
        assigned
        + [unassigned, Item("i1", "task#x", "task", {}, {"assignee": "alice", "sort": "2026"})],
    )
    got = store.query_index(R, Index.ASSIGNEE_SORT, "bob").items
    assert [i.sk for i in got] == [f"task#{n}" for n in range(1, 6)]
    assert got[0] == assigned[0]
    between = store.query_index(
        R, Index.ASSIGNEE_SORT, "bob", key_range=KeyRange.between("2026-01-02", "2026-01-04")
    )
    assert [i.data["n"] for i in between.items] == [2, 3, 4]
    at_most = store.query_index(
        R, Index.ASSIGNEE_SORT, "bob", key_range=KeyRange.at_most("2026-01-02"), descending=True
    )
    assert [i.data["n"] for i in at_most.items] == [2, 1]
    prefix = store.query_index(
        R, Index.ASSIGNEE_SORT, "bob", key_range=KeyRange.prefix("2026-01-0")
    )
    assert len(prefix.items) == 5
    pages = all_pages(lambda **kw: store.query_index(R, Index.ASSIGNEE_SORT, "bob", **kw), 2)
    assert [i.data["n"] for page in pages for i in page] == [1, 2, 3, 4, 5]
    # Removing the attribute removes the item from the index (sparse).
    store.transact([Put(R, Item("i1", "task#1", "task", {"n": 1}, {"sort": "2026-01-01"}))])
    assert [i.data["n"] for i in store.query_index(R, Index.ASSIGNEE_SORT, "bob").items] == [
        2,
        3,
        4,
        5,
    ]


def test_repository_kind_index_uses_item_kind(store):
    store.batch_put(
        Table.REPOSITORY,
        [
            Item("def#a", "#def", "definition", {}, {"sort": "a"}),
            Item("def#b", "#def", "definition", {}, {"sort": "b"}),
            Item("dep#1", "#dep", "deployment", {}, {"sort": "1"}),
            Item("res#1", "#res", "definition", {}),
        ],
    )  # no sort: not indexed
    got = store.query_index(Table.REPOSITORY, Index.KIND_SORT, "definition")
    assert [i.pk for i in got.items] == ["def#a", "def#b"]


def test_sharded_index_merge(store):
    shards = 4
    items = []
    for n in range(17):
        task_id = f"task-{n:02d}"
        index = {"kind_shard": shard_key("task", shard_for(task_id, shards)), "sort": f"{n:03d}"}
        items.append(Item(f"inst-{n}", task_id, "task", {"n": n}, index))
    store.batch_put(R, items)
    assert len({i.index["kind_shard"] for i in items}) > 1
    for descending in (False, True):
        pages = all_pages(
            lambda **kw: query_shards(
                store, R, Index.KIND_SHARD_SORT, "task", shards, descending=descending, **kw
            ),
            limit=5,
        )
        order = [i.data["n"] for page in pages for i in page]
        assert order == (list(range(17))[::-1] if descending else list(range(17)))
    due = query_shards(
        store,
        R,
        Index.KIND_SHARD_SORT,
        "task",
        shards,
        key_range=KeyRange.at_most("004"),
        limit=100,
    )
    assert [i.data["n"] for i in due.items] == [0, 1, 2, 3, 4] and due.next_token is None


class _ReadCounter:
    """``store`` whose index queries add the items they return to ``read``."""

    def __init__(self, store):
        self.store, self.read, self.queries = store, 0, 0

    def query_index(self, *args, **kwargs):
        page = self.store.query_index(*args, **kwargs)
        self.read += len(page.items)
        self.queries += 1
        return page


@pytest.mark.parametrize("skewed", [False, True])
def test_sharded_merge_reads_about_its_limit(store, skewed):
    """Each call reads at most ``limit + shards * (SHARE_MARGIN + 1)`` items (``Page.read``),
    and paging through, in both directions and at any limit, gives every item once, in order
    (a short page carries a token; only an exhausted listing ends)."""
    shards = 8
    rng = random.Random(3)
    items = []
    for n in range(90):
        task_id = f"task-{n:03d}"
        shard = 0 if skewed and n % 3 else shard_for(task_id, shards)
        index = {"kind_shard": shard_key("task", shard), "sort": f"{rng.random():.12f}#{n:03d}"}
        items.append(Item(f"inst-{n}", task_id, "task", {"n": n}, index))
    store.batch_put(R, items)
    expected = [i.data["n"] for i in sorted(items, key=lambda i: i.index["sort"])]
    for descending in (False, True):
        for limit in (1, 3, 10, 25, 200):
            counting = _ReadCounter(store)
            order, token, calls = [], None, 0
            while True:
                before = counting.read
                page = query_shards(
                    counting,
                    R,
                    Index.KIND_SHARD_SORT,
                    "task",
                    shards,
                    limit=limit,
                    start=token,
                    descending=descending,
                )
                calls += 1
                assert page.read == counting.read - before
                assert page.read <= limit + shards * (SHARE_MARGIN + 1)
                assert 1 <= len(page.items) <= limit or page.next_token is None
                order += [i.data["n"] for i in page.items]
                token = page.next_token
                if token is None:
                    break
            assert order == (expected[::-1] if descending else expected), (limit, descending)
            if limit == 200:
                assert calls == 1 or skewed  # one partition with more than its share: 2+ calls


def test_candidate_index_and_partition_merge(store):
    """``candidate-sort`` partitions read as one listing in range-key order, paged exactly."""
    items = [
        Item(
            f"i{n}",
            f"cand#t{n}#{key}",
            "candidate",
            {"n": n},
            {"candidate": key, "sort": f"2026-01-{n:02d}#t{n}"},
        )
        for n, key in enumerate(["u#bob", "g#a", "g#b", "u#bob", "g#a", "g#c", "g#b"], 1)
    ]
    store.batch_put(R, items + [Item("i9", "task#9", "task", {}, {"sort": "2026"})])
    assert [i.data["n"] for i in store.query_index(R, Index.CANDIDATE_SORT, "g#a").items] == [2, 5]
    for descending in (False, True):
        pages = all_pages(
            lambda **kw: query_partitions(
                store, R, Index.CANDIDATE_SORT, ["u#bob", "g#a", "g#b"], descending=descending, **kw
            ),
            limit=2,
        )
        order = [i.data["n"] for page in pages for i in page]
        assert order == ([7, 5, 4, 3, 2, 1] if descending else [1, 2, 3, 4, 5, 7])
    assert query_partitions(store, R, Index.CANDIDATE_SORT, []) == Page([], None)


def test_skip_partitions_resumes_the_merge_after_its_count(store):
    """``skip_partitions``: one Query per partition whatever the count, and the token resumes
    ``query_partitions`` exactly after the skipped items, both ways; ``then`` items after them
    come with it (their token resumes after them); past the end: ended."""
    items = [
        Item(f"i{n:02d}", "look#x", "lookup", {"n": n}, {"lookup": key, "sort": f"2026-{n:02d}"})
        for n, key in enumerate(["a", "b", "c"] * 7 + ["a", "a"], 1)
    ]
    store.batch_put(R, items)
    partitions = ["a", "b", "c", "none"]

    def rest(token, descending):
        pages = all_pages(
            lambda **kw: query_partitions(
                store,
                R,
                Index.LOOKUP_SORT,
                partitions,
                descending=descending,
                **{**kw, "start": kw["start"] or token},
            ),
            limit=4,
        )
        return [i.data["n"] for page in pages for i in page]

    for descending in (False, True):
        expected = sorted((i.data["n"] for i in items), reverse=descending)
        for count, then in itertools.product((1, 5, 12, 22), (0, 3)):
            with aws.counting() as counter:
                token, ended, following = skip_partitions(
                    store, R, Index.LOOKUP_SORT, partitions, count, descending=descending, then=then
                )
            assert not ended and token is not None
            assert counter.total("dynamodb") in (0, len(partitions)), counter.counts
            assert rest(token, descending) == expected[count:], count
            if then == 0:
                assert following is None
                continue
            assert following is not None
            shown = [i.data["n"] for i in following.items]
            assert shown == expected[count : count + then]
            if following.next_token is None:
                assert count + then >= len(items)
            else:
                assert rest(following.next_token, descending) == expected[count + then :]
        for count in (23, 40):
            assert skip_partitions(
                store, R, Index.LOOKUP_SORT, partitions, count, descending=descending, then=2
            ) == (None, True, None)


def test_lookup_index_is_sparse_ordered_and_paged(store):
    """``lookup-sort``: only items with a ``lookup`` attribute, one partition per value, in
    ``sort`` order, paged exactly (a page of one resumes where it stopped)."""
    items = [
        Item(f"i{n}", f"look#{attr}", "lookup", {"n": n}, {"lookup": key, "sort": f"2026-{n:02d}"})
        for n, (attr, key) in enumerate(
            [("bk", "bk=x"), ("pdk", "pdk=p"), ("bk", "bk=x"), ("pdk", "pdk=p"), ("bk", "bk=y")], 1
        )
    ]
    store.batch_put(R, items + [Item("i9", "#header", "header", {"n": 9}, {"sort": "2026-00"})])
    assert [i.data["n"] for i in store.query_index(R, Index.LOOKUP_SORT, "bk=x").items] == [1, 3]
    pages = all_pages(lambda **kw: store.query_index(R, Index.LOOKUP_SORT, "pdk=p", **kw), limit=1)
    assert [i.data["n"] for page in pages for i in page] == [2, 4]
    assert store.query_index(R, Index.LOOKUP_SORT, "bk=none").items == []
    [first] = store.query_index(R, Index.LOOKUP_SORT, "bk=x", limit=1, descending=True).items
    assert first.data["n"] == 3 and first.kind == "lookup"


def test_shard_for_is_stable():
    assert shard_for("abc", 16) == shard_for("abc", 16) == 2  # crc32: same in every process
    assert {shard_for(f"id{n}", 8) for n in range(100)} == set(range(8))


# --- transactions -----------------------------------------------------------------------------


def test_transaction_is_all_or_nothing(store):
    store.transact([Put(R, item("p", "existing"))])
    with pytest.raises(errors.ConcurrencyError) as failure:
        store.transact(
            [
                Put(R, item("p", "new")),
                Put(H, item("h", "1")),
                Put(R, item("p", "existing", x=2), MustNotExist()),
            ]
        )
    assert failure.value.detail["write"] == 2
    assert store.get(R, "p", "new") is None and store.get(H, "h", "1") is None
    assert store.get(R, "p", "existing").data == {}


def test_conditions(store):
    store.transact([Put(R, Item("p", "v", "var", {}, version=1), MustNotExist())])
    for failing in (
        [Put(R, item("p", "w"), MustExist())],
        [Delete(R, "p", "v", VersionIs(2))],
        [ConditionCheck(R, "p", "v", MustNotExist()), Put(R, item("p", "w"))],
        [SetVersion(R, "p", "nothing", 5, MustExist())],
    ):
        with pytest.raises(errors.ConcurrencyError):
            store.transact(failing)
    assert store.get(R, "p", "w") is None and store.get(R, "p", "nothing") is None
    store.transact([ConditionCheck(R, "p", "v", VersionIs(1)), Put(R, item("p", "w"))])
    store.transact([SetVersion(R, "p", "v", 2, VersionIs(1))])
    assert store.get(R, "p", "v").version == 2 and store.get(R, "p", "w") is not None
    store.transact([Delete(R, "p", "v", VersionIs(2))])
    assert store.get(R, "p", "v") is None


def test_stale_version_raises_concurrency_error(store):
    aggregates = AggregateStore(store)
    aggregates.commit("i", 0, [Item("i", HEADER_SK, "header", {"n": 0})])
    aggregates.commit("i", 1, [Item("i", "var#a", "var", {"v": 1})])
    with pytest.raises(errors.ConcurrencyError):
        aggregates.commit("i", 1, [Item("i", "var#a", "var", {"v": 99})])
    assert store.get(R, "i", "var#a").data == {"v": 1}


def test_transaction_limits_are_checked_before_sending(store):
    with pytest.raises(TransactionTooLarge):
        store.transact([Put(R, item("p", f"k{n}")) for n in range(101)])
    with pytest.raises(DuplicateWrite):
        store.transact([Put(R, item("p", "a")), Delete(R, "p", "a")])
    with pytest.raises(InvalidItem):
        store.transact([Put(R, Item("p", "a#chunk#0001", "var"))])
    with pytest.raises(InvalidItem):
        store.transact([Put(R, Item("p", "a", "var", index={"unknown": "x"}))])
    assert store.query(R, "p").items == []
    store.transact([Put(R, item("p", f"k{n:03d}")) for n in range(100)])
    assert len(store.query(R, "p").items) == 100


def test_large_body_round_trip_and_cleanup(store, raw):
    body = big_body()
    large = Item("p", "var#big", "var", body, {"assignee": "bob", "sort": "1"}, ttl=2_000_000_000)
    store.transact([Put(R, large), Put(R, item("p", "var#small"))])
    assert raw.count(R, "p") >= 4  # head, chunks, the small item
    assert store.get(R, "p", "var#big").data == body
    assert [i.data == body for i in store.query(R, "p").items] == [True, False]
    assert store.query_index(R, Index.ASSIGNEE_SORT, "bob").items[0].data == body
    # Paging cuts between a head and its chunks: still whole items, none twice.
    pages = all_pages(lambda **kw: store.query(R, "p", **kw), limit=1)
    assert [i.sk for page in pages for i in page] == ["var#big", "var#small"]
    pages = all_pages(lambda **kw: store.query(R, "p", descending=True, **kw), limit=2)
    assert [i.sk for page in pages for i in page] == ["var#small", "var#big"]
    loaded = store.get(R, "p", "var#big")
    store.transact([Put(R, item("p", "var#big", v=1), replaces_chunks=loaded.stored_chunks)])
    assert raw.count(R, "p") == 2
    store.batch_put(R, [large])
    assert store.get(R, "p", "var#big").data == body
    store.transact([Delete.of(R, store.get(R, "p", "var#big"))])
    assert raw.count(R, "p") == 1


def test_batch_get_returns_existing_items_in_key_order(store, raw):
    body = big_body()
    store.batch_put(R, [item("a", "x", v=1), item("b", "y", v=2), Item("c", "z", "var", body)])
    keys = [("b", "y"), ("nobody", "x"), ("c", "z"), ("a", "x"), ("b", "y")]
    got = store.batch_get(R, keys)
    assert [(i.pk, i.sk) for i in got] == [("b", "y"), ("c", "z"), ("a", "x")]
    assert got[1].data == body  # a chunked item comes back whole
    assert store.batch_get(R, []) == []
    many = [item(f"p{n:03d}", "x", v=n) for n in range(130)]  # past one BatchGetItem's 100
    store.batch_put(H, many)
    got = store.batch_get(H, [(i.pk, i.sk) for i in reversed(many)])
    assert [i.data["v"] for i in got] == list(range(129, -1, -1))


def test_add_count_creates_adds_and_joins_transactions(store):
    store.transact([AddCount(R, "#count#x", "0", 3)])
    store.transact([Put(R, item("p", "var#1")), AddCount(R, "#count#x", "0", -1)])
    counter = store.get(R, "#count#x", "0")
    assert counter.kind == COUNTER_KIND and counter.version == 2
    with pytest.raises(errors.ConcurrencyError):  # all or nothing: the count is unchanged
        store.transact(
            [AddCount(R, "#count#x", "0", 5), Put(R, item("p", "var#1"), MustNotExist())]
        )
    assert store.get(R, "#count#x", "0").version == 2
    with pytest.raises(DuplicateWrite):
        store.transact([AddCount(R, "#count#x", "0", 1), AddCount(R, "#count#x", "0", 1)])


def test_ttl_and_schema_version_are_stored(store):
    store.transact(
        [Put(H, Item("h", "1", "activity", {"a": 1}, ttl=1_900_000_000, schema_version=3))]
    )
    got = store.get(H, "h", "1")
    assert got.ttl == 1_900_000_000 and got.schema_version == 3


def test_dynamo_ttl_attribute_is_enabled(moto_tables):
    from chalicelib import aws

    client = aws.client("dynamodb", moto_tables.region)
    for name in (moto_tables.history_table, moto_tables.runtime_table):
        ttl = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}


# --- the aggregate ----------------------------------------------------------------------------


def test_aggregate_load_and_commit_with_side_writes(store):
    aggregates = AggregateStore(store)
    fresh = aggregates.load("inst")
    assert fresh.version == 0 and fresh.items == {} and not fresh.exists
    version = aggregates.commit(
        "inst",
        0,
        [
            Item("inst", HEADER_SK, "header", {"state": "active"}),
            Item("inst", "task#1", "task", {"name": "review"}),
        ],
        side_writes=[Put(H, Item("inst", "act#1", "activity", {"id": "start"}))],
    )
    assert version == 1
    loaded = aggregates.load("inst")
    assert loaded.version == 1 and loaded.header.data == {"state": "active"}
    assert set(loaded.items) == {HEADER_SK, "task#1"}
    assert store.get(H, "inst", "act#1").data == {"id": "start"}
    # Change one item, delete one, keep the header body: only the version moves.
    version = aggregates.commit(
        "inst",
        1,
        [Item("inst", "var#x", "var", {"v": 1})],
        deletes=["task#1"],
        previous=loaded,
        side_writes=[Put(H, Item("inst", "act#2", "activity"))],
    )
    reloaded = aggregates.load("inst")
    assert version == 2 == reloaded.version
    assert reloaded.header.data == {"state": "active"} and set(reloaded.items) == {
        HEADER_SK,
        "var#x",
    }
    # A stale commit writes nothing, side writes included.
    with pytest.raises(errors.ConcurrencyError):
        aggregates.commit(
            "inst",
            1,
            [Item("inst", "var#y", "var")],
            side_writes=[Put(H, Item("inst", "act#3", "activity"))],
        )
    assert store.get(H, "inst", "act#3") is None and store.get(R, "inst", "var#y") is None
    with pytest.raises(errors.ConcurrencyError):  # creating an existing aggregate
        aggregates.commit("inst", 0, [])


def test_aggregate_with_large_item_cleans_chunks(store, raw):
    aggregates = AggregateStore(store)
    aggregates.commit("inst", 0, [Item("inst", "var#doc", "var", big_body(500_000))])
    loaded = aggregates.load("inst")
    assert loaded.items["var#doc"].data == big_body(500_000)
    aggregates.commit("inst", 1, deletes=["var#doc"], previous=loaded)
    assert raw.count(R, "inst") == 1  # the header only


def test_concurrent_commits_lose_no_update(store):
    aggregates = AggregateStore(store)
    aggregates.commit("inst", 0, [Item("inst", HEADER_SK, "header", {"count": 0})])
    acknowledged = []
    lock = threading.Lock()

    def increment() -> None:
        current = aggregates.load("inst")
        header = current.header
        header.data["count"] += 1
        aggregates.commit("inst", current.version, [header])

    def worker() -> None:
        for _ in range(4):
            try:
                retry_on_conflict(increment, attempts=4, delay=0.002)
            except errors.ConcurrencyError:
                continue
            with lock:
                acknowledged.append(1)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    final = aggregates.load("inst")
    assert len(acknowledged) > 0
    assert final.version == 1 + len(acknowledged)
    assert final.header.data["count"] == len(acknowledged)


def test_partition_token_is_bound_to_its_partitions(store):
    store.batch_put(
        R,
        [
            Item(
                f"i{n}",
                f"cand#t{n}#{key}",
                "candidate",
                {"n": n},
                {"candidate": key, "sort": f"{n:02d}"},
            )
            for n, key in enumerate(["u#a", "u#b", "u#a", "u#b"])
        ],
    )
    first = query_partitions(store, R, Index.CANDIDATE_SORT, ["u#a", "u#b"], limit=1)
    assert first.next_token is not None
    with pytest.raises(InvalidPageToken):
        query_partitions(
            store, R, Index.CANDIDATE_SORT, ["u#b", "u#a"], limit=1, start=first.next_token
        )
