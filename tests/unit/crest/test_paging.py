"""Sorting, field selection, cookies, in-memory paging and the storage-backed Pager."""

import pytest

from chalicelib.crest.enums import CountPolicy
from chalicelib.crest.paging import (
    Pager,
    SortKey,
    decode_cookie,
    effective_page_size,
    encode_cookie,
    page,
    parse_sort_keys,
    sort_items,
)
from chalicelib.errors import BadRequest


def ids(items):
    return [item["_id"] for item in items]


# ---------------------------------------------------------------------------------- sort keys


def test_parse_sort_keys():
    assert parse_sort_keys(["a,-b,+c/d", "/e"]) == (
        SortKey(("a",)),
        SortKey(("b",), False),
        SortKey(("c", "d")),
        SortKey(("e",)),
    )
    assert parse_sort_keys([" startTime"])[0].name == "startTime"  # '+' decoded as a space
    assert parse_sort_keys(["-a/b"])[0].name == "a/b"


@pytest.mark.parametrize("value", ["", "a,,b", "-", "+", "a,", "a~2"])
def test_bad_sort_keys(value):
    with pytest.raises(BadRequest) as err:
        parse_sort_keys([value])
    assert err.value.message == (
        f"The value '{value}' for parameter '_sortKeys' could not be "
        "parsed as a comma separated list of sort keys"
    )


def test_sort_ascending_descending_and_stable():
    items = [{"_id": "1", "k": 2}, {"_id": "2", "k": 1}, {"_id": "3", "k": 2}, {"_id": "4", "k": 1}]
    assert ids(sort_items(items, parse_sort_keys(["k"]))) == ["2", "4", "1", "3"]
    assert ids(sort_items(items, parse_sort_keys(["-k"]))) == ["1", "3", "2", "4"]
    assert ids(items) == ["1", "2", "3", "4"]  # input untouched


def test_sort_multi_key():
    items = [
        {"_id": "1", "a": 1, "b": "x"},
        {"_id": "2", "a": 2, "b": "y"},
        {"_id": "3", "a": 1, "b": "z"},
        {"_id": "4", "a": 2, "b": "w"},
    ]
    assert ids(sort_items(items, parse_sort_keys(["a,-b"]))) == ["3", "1", "2", "4"]
    assert ids(sort_items(items, parse_sort_keys(["-a", "b"]))) == ["4", "2", "1", "3"]


def test_sort_none_and_missing_first_and_mixed_types():
    items = [
        {"_id": "s", "k": "b"},
        {"_id": "n", "k": None},
        {"_id": "i", "k": 3},
        {"_id": "m"},
        {"_id": "t", "k": True},
        {"_id": "o", "k": {"x": 1}},
        {"_id": "f", "k": 2.5},
        {"_id": "a", "k": "A"},
    ]
    assert ids(sort_items(items, parse_sort_keys(["k"]))) == [
        "n",
        "m",
        "t",
        "f",
        "i",
        "a",
        "s",
        "o",
    ]
    assert ids(sort_items(items, parse_sort_keys(["-k"]))) == [
        "o",
        "s",
        "a",
        "i",
        "f",
        "t",
        "n",
        "m",
    ]


def test_sort_ids_lexically():
    items = [{"_id": "45"}, {"_id": "101"}, {"_id": "88"}]
    assert ids(sort_items(items, parse_sort_keys(["_id"]))) == ["101", "45", "88"]


def test_sort_key_not_allowed():
    with pytest.raises(BadRequest) as err:
        sort_items([], parse_sort_keys(["-startTime", "bogus"]), allowed={"startTime"})
    assert err.value.message == "Sort key: bogus is not valid"
    assert sort_items([{"_id": "x"}], parse_sort_keys(["/startTime"]), allowed={"startTime"})


# ---------------------------------------------------------------------------------- cookies


def test_cookie_round_trip_is_url_safe():
    state = {"token": {"pk": {"S": "a/b+c?"}}, "consumed": 3}
    cookie = encode_cookie(state)
    assert decode_cookie(cookie) == state
    assert set(cookie) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@pytest.mark.parametrize(
    "cookie",
    [
        "!!!",
        "abc",
        encode_cookie({"a": 1})[:-3] + "$$$",
        "WzFd",  # base64 of "[1]": JSON, but not an object
        "_w",
    ],
)  # base64 of b"\xff": not UTF-8
def test_garbage_cookie(cookie):
    with pytest.raises(BadRequest) as err:
        decode_cookie(cookie)
    assert "'_pagedResultsCookie'" in err.value.message


# ---------------------------------------------------------------------------------- page()

ITEMS = [{"_id": str(n), "n": n} for n in range(10)]


def test_effective_page_size():
    assert effective_page_size(0, 50) == 50
    assert effective_page_size(None, 50) == 50
    assert effective_page_size(10, 50) == 10
    assert effective_page_size(500, 50) == 50


def test_pages_walk_with_cookies():
    first = page(ITEMS, 4)
    assert ids(first["result"]) == ["0", "1", "2", "3"]
    assert first["resultCount"] == 4 and first["pagedResultsCookie"]
    second = page(ITEMS, 4, cookie=first["pagedResultsCookie"])
    assert ids(second["result"]) == ["4", "5", "6", "7"]
    last = page(ITEMS, 4, cookie=second["pagedResultsCookie"])
    assert ids(last["result"]) == ["8", "9"]
    assert last["pagedResultsCookie"] is None


def test_exact_multiple_ends_without_cookie():
    first = page(ITEMS, 5)
    second = page(ITEMS, 5, cookie=first["pagedResultsCookie"])
    assert ids(second["result"]) == ["5", "6", "7", "8", "9"]
    assert second["pagedResultsCookie"] is None


def test_envelope_defaults():
    assert page(ITEMS[:2]) == {
        "result": ITEMS[:2],
        "resultCount": 2,
        "pagedResultsCookie": None,
        "totalPagedResultsPolicy": "NONE",
        "totalPagedResults": -1,
        "remainingPagedResults": -1,
    }
    assert page([])["result"] == [] and page([])["pagedResultsCookie"] is None


def test_offset():
    result = page(ITEMS, 3, offset=8)
    assert ids(result["result"]) == ["8", "9"] and result["pagedResultsCookie"] is None
    assert ids(page(ITEMS, 3, offset=2)["result"]) == ["2", "3", "4"]
    assert page(ITEMS, 3, offset=50)["result"] == []


def test_offset_and_cookie_are_exclusive():
    cookie = page(ITEMS, 3)["pagedResultsCookie"]
    with pytest.raises(BadRequest) as err:
        page(ITEMS, 3, offset=1, cookie=cookie)
    assert err.value.message == (
        "The parameters _pagedResultsOffset and _pagedResultsCookie are mutually exclusive"
    )


def test_cookie_from_another_pager_is_rejected():
    with pytest.raises(BadRequest):
        page(ITEMS, 3, cookie=encode_cookie({"offset": -1}))
    with pytest.raises(BadRequest):
        page(ITEMS, 3, cookie=encode_cookie({"token": None, "consumed": 0}))


@pytest.mark.parametrize("policy", [CountPolicy.EXACT, CountPolicy.ESTIMATE, "EXACT"])
def test_counts(policy):
    result = page(ITEMS, 3, offset=3, count_policy=policy)
    assert (result["totalPagedResultsPolicy"], result["totalPagedResults"]) == ("EXACT", 10)
    assert result["remainingPagedResults"] == -1
    assert page(ITEMS, 20, count_policy=policy)["totalPagedResults"] == 10
    assert page(ITEMS, 3, offset=50, count_policy=policy)["totalPagedResults"] == 10


def test_max_page_size_pages_with_a_cookie():
    result = page(ITEMS, 0, max_page_size=4)
    assert result["resultCount"] == 4 and result["pagedResultsCookie"]
    assert page(ITEMS, 100, max_page_size=6)["resultCount"] == 6


def test_page_reads_a_stream_lazily():
    consumed = []

    def stream():
        for item in ITEMS:
            consumed.append(item["_id"])
            yield item

    result = page(stream(), 3)
    assert ids(result["result"]) == ["0", "1", "2"]
    assert len(consumed) == 4  # one look-ahead item, not the whole stream


# ---------------------------------------------------------------------------------- Pager


class Storage:
    """Fake batched storage: reads at most ``batch`` items from a position token."""

    def __init__(self, items, batch):
        self.items, self.batch, self.calls = items, batch, []

    def fetch(self, token, limit):
        self.calls.append((token, limit))
        start = token or 0
        end = min(start + min(limit, self.batch), len(self.items))
        return self.items[start:end], (end if end < len(self.items) else None)


def all_pages(pager, size, offset=0):
    pages, cookie = [], None
    while True:
        result = pager.page(size, cookie=cookie, offset=0 if cookie else offset)
        pages.append([item["n"] for item in result.items])
        cookie = result.cookie
        if cookie is None:
            return pages
        assert len(pages) < 100


NUMBERS = [{"n": n} for n in range(50)]


@pytest.mark.parametrize("batch", [1, 2, 3, 7, 50, 1000])
@pytest.mark.parametrize("size", [1, 4, 5, 17])
def test_pager_no_skip_no_repeat_every_page_full(batch, size):
    pager = Pager(Storage(NUMBERS, batch).fetch, lambda item: item["n"] % 3 == 0)
    pages = all_pages(pager, size)
    expected = [n for n in range(50) if n % 3 == 0]
    assert [n for p in pages for n in p] == expected
    assert all(len(p) == size for p in pages[:-1])
    assert 0 < len(pages[-1]) <= size


def test_pager_last_page_exactly_full_has_no_cookie():
    pager = Pager(Storage(NUMBERS, 7).fetch)
    result = pager.page(50)
    assert len(result.items) == 50 and result.cookie is None
    pages = all_pages(pager, 10)
    assert len(pages) == 5 and pages[-1] == list(range(40, 50))


def test_pager_keeps_reading_thinned_out_batches():
    storage = Storage(NUMBERS, 4)
    result = Pager(storage.fetch, lambda item: item["n"] >= 45).page(3)
    assert [item["n"] for item in result.items] == [45, 46, 47]
    assert result.cookie is not None
    # 12 batches of 4 reach item 47; the 13th finds 48, the first item of the next page.
    assert len(storage.calls) == 13
    assert Pager(storage.fetch).page(1, cookie=result.cookie).items == [{"n": 48}]


def test_pager_resumes_even_when_the_reread_batch_is_shorter():
    # A first read returns 10 items, any later read only 2 (as a 1 MB DynamoDB page can):
    # re-reading a cookie's batch gives fewer items than "consumed", which must carry over.
    class Uneven(Storage):
        def fetch(self, token, limit):
            self.batch = 10 if not self.calls else 2
            return super().fetch(token, limit)

    storage = Uneven(NUMBERS, 10)
    first = Pager(storage.fetch).page(7)
    assert [item["n"] for item in first.items] == list(range(7))
    second = Pager(storage.fetch).page(3, cookie=first.cookie)  # re-read of batch 1 gives 2
    assert [item["n"] for item in second.items] == [7, 8, 9]
    third = Pager(storage.fetch).page(3, cookie=second.cookie)
    assert [item["n"] for item in third.items] == [10, 11, 12]


def test_pager_offset_skips_matching_items():
    pager = Pager(Storage(NUMBERS, 4).fetch, lambda item: item["n"] % 5 == 0)
    assert all_pages(pager, 3, offset=2) == [[10, 15, 20], [25, 30, 35], [40, 45]]


def test_pager_empty_and_nothing_matching():
    assert Pager(Storage([], 4).fetch).page(5).items == []
    result = Pager(Storage(NUMBERS, 4).fetch, lambda item: False).page(5)
    assert (result.items, result.cookie) == ([], None)


def test_pager_items_and_count():
    pager = Pager(Storage(NUMBERS, 6).fetch, lambda item: item["n"] < 10)
    assert [item["n"] for item in pager.items()] == list(range(10))
    assert pager.count() == 10


def test_pager_rejects_bad_cookies_and_sizes():
    pager = Pager(Storage(NUMBERS, 4).fetch)
    with pytest.raises(BadRequest):
        pager.page(3, cookie=encode_cookie({"offset": 3}))
    with pytest.raises(BadRequest):
        pager.page(3, cookie=encode_cookie({"token": 1, "consumed": "x"}))
    with pytest.raises(BadRequest):
        pager.page(3, cookie="garbage!")
    with pytest.raises(ValueError):
        pager.page(0)


def test_pager_detects_a_fetch_that_never_advances():
    pager = Pager(lambda token, limit: ([], "same"))
    with pytest.raises(RuntimeError):
        pager.page(3, cookie=encode_cookie({"token": "same", "consumed": 0}))


# ------------------------------------------------------------------------- Pager read budget


class Counted(Storage):
    """``Storage`` that counts the items it returns."""

    def __init__(self, items, batch):
        super().__init__(items, batch)
        self.returned = 0

    def fetch(self, token, limit):
        items, next_token = super().fetch(token, limit)
        self.returned += len(items)
        return items, next_token


@pytest.mark.parametrize("batch", [1, 3, 50])
@pytest.mark.parametrize("budget", [1, 5, 12])
def test_pager_budget_bounds_each_page_and_cookies_resume_exactly(batch, budget):
    storage = Counted(NUMBERS, batch)
    pager = Pager(storage.fetch, lambda item: item["n"] % 7 == 0)
    found, cookie, pages = [], None, 0
    while True:
        storage.returned = 0
        result = pager.page(4, cookie=cookie, budget=budget)
        assert storage.returned <= budget and len(result.items) <= 4
        assert result.read == storage.returned
        found += [item["n"] for item in result.items]
        pages += 1
        cookie = result.cookie
        if cookie is None:
            break
    assert found == [n for n in range(50) if n % 7 == 0]
    assert pages <= -(-50 // budget) + 50 // 7


def test_pager_budget_spent_while_skipping_an_offset_keeps_the_rest_in_the_cookie():
    pager = Pager(Storage(NUMBERS, 10).fetch, lambda item: item["n"] % 2 == 0)
    first = pager.page(3, offset=10, budget=10)
    assert first.items == [] and decode_cookie(first.cookie) == {
        "token": 10,
        "consumed": 0,
        "skip": 5,
    }
    second = pager.page(3, cookie=first.cookie, budget=10)
    assert second.items == [] and decode_cookie(second.cookie)["token"] == 20
    third = pager.page(3, cookie=second.cookie, budget=10)
    assert [item["n"] for item in third.items] == [20, 22, 24]
    with pytest.raises(BadRequest):
        pager.page(3, cookie=encode_cookie({"token": 1, "consumed": 0, "skip": -1}))
    with pytest.raises(ValueError):
        pager.page(3, budget=0)


def test_pager_scan_reads_within_the_budget():
    storage = Counted(NUMBERS, 7)
    pager = Pager(storage.fetch, lambda item: item["n"] < 10)
    everything = pager.scan(50)
    assert everything.complete and [item["n"] for item in everything.items] == list(range(10))
    storage.returned = 0
    cut = pager.scan(49)
    assert not cut.complete and storage.returned <= 49 and cut.read == storage.returned
    assert pager.scan().complete


def test_a_selective_filter_fills_its_page_in_a_few_growing_fetches():
    """One item in ten matches: the page of 10 needs about 100 items read, and asks for them in
    growing fetches (each storage request costs as much whatever its size), not one per match."""
    items = [{"n": n} for n in range(1000)]
    storage = Storage(items, 1000)
    pager = Pager(storage.fetch, lambda item: item["n"] % 10 == 9)
    result = pager.page(10, budget=500)
    assert [item["n"] for item in result.items] == list(range(9, 100, 10))
    assert len(storage.calls) <= 8, storage.calls  # one request per match would be about 20
    assert result.read <= 500
    rest = Pager(storage.fetch, lambda item: item["n"] % 10 == 9).page(10, cookie=result.cookie)
    assert [item["n"] for item in rest.items] == list(range(109, 200, 10))  # no skip, no repeat
