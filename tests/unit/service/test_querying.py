"""``run_query`` reads at most its budget of items per request (DECISIONS.md "Bounded work per
request"): short pages with cookies that continue exactly where the reading stopped."""

from __future__ import annotations

import pytest

from chalicelib.crest.paging import decode_cookie
from chalicelib.crest.request import parse_request
from chalicelib.errors import BadRequest
from chalicelib.service.querying import QuerySource, run_query

ITEMS = [{"_id": f"i{n:03d}", "n": n, "group": n % 4} for n in range(60)]


class CountingSource:
    """Fake storage read in batches of at most ``batch`` items from a position token; counts
    the items it returns per request. ``honours_limit`` False: every batch is ``batch`` long
    whatever the limit asks (as an in-memory source, or a 1 MB page read anyway)."""

    def __init__(self, items, batch, honours_limit=True):
        self.items, self.batch, self.honours_limit = items, batch, honours_limit
        self.returned = 0

    def fetch(self, token, limit):
        start = token or 0
        size = min(limit, self.batch) if self.honours_limit else self.batch
        end = min(start + size, len(self.items))
        self.returned += end - start
        return self.items[start:end], (end if end < len(self.items) else None)

    def source(self):
        return QuerySource(fetch=self.fetch, sortable=frozenset({"_id", "n", "group"}))


def query(source: CountingSource, budget: int, **params: str) -> dict:
    source.returned = 0
    request = parse_request("GET", {"_queryFilter": "true", **params})
    return run_query(request, source.source(), max_page_size=1000, read_budget=budget)


def follow(source: CountingSource, budget: int, **params: str) -> tuple[list[int], list[dict]]:
    """Every page of a query, following cookies; the ``n`` of the items and each envelope."""
    found: list[int] = []
    envelopes: list[dict] = []
    cookie = None
    while True:
        extra = dict(params, _pagedResultsCookie=cookie) if cookie else dict(params)
        if cookie:
            extra.pop("_pagedResultsOffset", None)
        envelope = query(source, budget, **extra)
        envelopes.append(envelope)
        found += [item["n"] for item in envelope["result"]]
        cookie = envelope["pagedResultsCookie"]
        if cookie is None:
            return found, envelopes
        assert len(envelopes) < 500, "the cookies never end"


@pytest.mark.parametrize("batch", [1, 3, 7, 10, 100])
@pytest.mark.parametrize("budget", [1, 4, 10, 25])
@pytest.mark.parametrize("honours_limit", [True, False])
def test_a_filter_matching_nothing_reads_at_most_the_budget_per_request(
    batch, budget, honours_limit
):
    source = CountingSource(ITEMS, batch, honours_limit)
    found, envelopes = follow(source, budget, _queryFilter="n lt 0", _pageSize="5")
    assert found == []
    assert all(env["resultCount"] == 0 for env in envelopes)
    assert all(env["pagedResultsCookie"] for env in envelopes[:-1])
    if honours_limit:
        # every item the source returned is counted, re-read or not
        one = query(source, budget, _queryFilter="n lt 0", _pageSize="5")
        assert source.returned <= budget
        assert one["pagedResultsCookie"] is not None
        assert len(envelopes) == -(-len(ITEMS) // budget)  # every request reads a full budget


@pytest.mark.parametrize("batch", [1, 3, 7, 10, 100])
@pytest.mark.parametrize("budget", [1, 4, 10, 25])
@pytest.mark.parametrize("size", ["1", "3", "0"])
@pytest.mark.parametrize("honours_limit", [True, False])
def test_cookies_continue_exactly_where_the_reading_stopped(batch, budget, size, honours_limit):
    source = CountingSource(ITEMS, batch, honours_limit)
    found, envelopes = follow(source, budget, _queryFilter="group eq 1", _pageSize=size)
    assert found == [n for n in range(60) if n % 4 == 1]  # every match once, in order
    for envelope in envelopes:
        assert envelope["totalPagedResults"] == -1 and envelope["remainingPagedResults"] == -1
        assert envelope["resultCount"] == len(envelope["result"])
        if size != "0":
            assert envelope["resultCount"] <= int(size)


def test_honoured_limits_keep_every_request_within_the_budget():
    source = CountingSource(ITEMS, 1000)
    cookie, pages = None, 0
    while True:
        params = {"_queryFilter": "group eq 3", "_pageSize": "2"}
        if cookie:
            params["_pagedResultsCookie"] = cookie
        envelope = query(source, 6, **params)
        assert source.returned <= 6
        pages += 1
        cookie = envelope["pagedResultsCookie"]
        if cookie is None:
            break
    assert pages >= 60 // 6


def test_a_page_that_fills_within_the_budget_is_full():
    source = CountingSource(ITEMS, 7)
    envelope = query(source, 500, _queryFilter="group eq 2", _pageSize="4")
    assert [item["n"] for item in envelope["result"]] == [2, 6, 10, 14]
    assert envelope["pagedResultsCookie"] and source.returned <= 4 * 4 + 7
    everything = query(source, 500)
    assert everything["resultCount"] == 60 and everything["pagedResultsCookie"] is None


def test_a_budget_stop_mid_batch_resumes_at_the_next_unread_item():
    source = CountingSource(ITEMS, 10, honours_limit=False)
    first = query(source, 4, _queryFilter="n ge 2", _pageSize="10")
    assert [item["n"] for item in first["result"]] == [2, 3]
    assert decode_cookie(first["pagedResultsCookie"]) == {"token": None, "consumed": 4}
    second = query(
        source,
        4,
        _queryFilter="n ge 2",
        _pageSize="10",
        _pagedResultsCookie=(first["pagedResultsCookie"]),
    )
    assert [item["n"] for item in second["result"]] == [4]  # a re-read prefix counts too


@pytest.mark.parametrize("batch", [1, 5, 100])
def test_an_offset_adds_what_it_skips_to_the_budget_and_its_rest_travels_in_the_cookie(batch):
    """The request asks to skip 5 matches: it may read 5 items more than the budget of 8."""
    source = CountingSource(ITEMS, batch)
    first = query(source, 8, _queryFilter="group eq 0", _pageSize="3", _pagedResultsOffset="5")
    assert first["result"] == [] and source.returned <= 8 + 5
    assert decode_cookie(first["pagedResultsCookie"])["skip"] == 1  # items 0, 4, 8, 12 skipped
    found, _ = follow(source, 8, _queryFilter="group eq 0", _pageSize="3", _pagedResultsOffset="5")
    assert found == [n for n in range(60) if n % 4 == 0][5:]


def test_the_offset_allowance_is_capped(monkeypatch):
    from chalicelib.service import querying

    monkeypatch.setattr(querying, "MAX_OFFSET", 2)
    source = CountingSource(ITEMS, 100)
    first = query(source, 8, _queryFilter="true", _pageSize="3", _pagedResultsOffset="40")
    assert first["result"] == [] and source.returned <= 8 + 2
    assert decode_cookie(first["pagedResultsCookie"])["skip"] == 30


def test_a_maintained_count_answers_exact_without_reading():
    source = CountingSource(ITEMS, 10)
    counted = QuerySource(fetch=source.fetch, sortable=frozenset({"_id"}), count=lambda: 1234)
    request = parse_request(
        "GET", {"_queryFilter": "true", "_pageSize": "2", "_totalPagedResultsPolicy": "EXACT"}
    )
    envelope = run_query(request, counted, max_page_size=1000, read_budget=500)
    assert envelope["totalPagedResults"] == 1234 and source.returned <= 3
    hidden = QuerySource(
        fetch=source.fetch, sortable=frozenset({"_id"}), count=lambda: 1234, visible=lambda i: True
    )
    envelope = run_query(request, hidden, max_page_size=1000, read_budget=500)
    assert envelope["totalPagedResults"] == 60  # a caller who may not see everything: walked


@pytest.mark.parametrize(
    ("params", "terms"),
    [
        ({"_queryFilter": "true"}, {}),
        ({"_queryId": "query-all-ids"}, {}),
        ({"_queryId": "filtered-query"}, {}),
        ({"_queryFilter": 'a eq "x" and true'}, {"a": "x"}),
        ({"_queryFilter": 'a eq "x" and b eq 2'}, {"a": "x", "b": 2}),
        ({"_queryFilter": 'a eq "x" or b eq 2'}, None),
        ({"_queryFilter": 'a eq "x" and a eq "y"'}, None),
        ({"_queryFilter": 'a co "x"'}, None),
        ({"_queryFilter": 'a/b eq "x"'}, None),
        ({"_queryFilter": "false"}, None),
        ({"_queryFilter": '!(a eq "x")'}, None),
        ({"_queryId": "filtered-query", "key": "k"}, {"a": "k"}),
        ({"_queryId": "filtered-query", "key": "k", "other": "1"}, None),
        ({"_queryId": "somethingElse"}, None),
    ],
)
def test_served_terms_says_when_a_query_selects_by_equalities_only(params, terms):
    from chalicelib.service.querying import served_terms

    assert served_terms(parse_request("GET", params), {"key": "a"}) == terms


def test_an_offset_within_the_budget_is_served_at_once():
    source = CountingSource(ITEMS, 100)
    envelope = query(source, 500, _queryFilter="group eq 0", _pageSize="3", _pagedResultsOffset="5")
    assert [item["n"] for item in envelope["result"]] == [20, 24, 28]


def test_sorting_within_the_budget_sorts_everything_and_pages_by_offset():
    source = CountingSource(ITEMS, 7)
    found, envelopes = follow(source, 60, _queryFilter="group le 1", _sortKeys="-n", _pageSize="4")
    assert found == sorted((n for n in range(60) if n % 4 <= 1), reverse=True)
    assert all(env["resultCount"] == 4 for env in envelopes[:-1])
    counted = query(
        source,
        60,
        _queryFilter="group le 1",
        _sortKeys="group,-n",
        _pageSize="2",
        _totalPagedResultsPolicy="EXACT",
    )
    assert counted["totalPagedResults"] == 30
    assert [item["n"] for item in counted["result"]] == [56, 52]
    offset = query(source, 60, _queryFilter="true", _sortKeys="n", _pagedResultsOffset="58")
    assert [item["n"] for item in offset["result"]] == [58, 59]


@pytest.mark.parametrize("honours_limit", [True, False])
def test_sorting_a_set_larger_than_the_budget_is_a_400_naming_it(honours_limit):
    source = CountingSource(ITEMS, 7, honours_limit)
    with pytest.raises(BadRequest, match="WORKFLOW_QUERY_READ_BUDGET") as raised:
        query(source, 59, _queryFilter="n lt 0", _sortKeys="n")
    assert "59" in str(raised.value)
    if honours_limit:
        assert source.returned <= 59
    with pytest.raises(BadRequest, match="Sort key: nosuch is not valid"):
        query(source, 59, _sortKeys="nosuch")


def test_counts_are_exact_only_when_the_budget_reads_the_whole_set():
    source = CountingSource(ITEMS, 10)
    small = query(source, 100, _queryFilter="group eq 1", _totalPagedResultsPolicy="EXACT")
    assert (small["totalPagedResults"], small["totalPagedResultsPolicy"]) == (15, "EXACT")
    paged = query(
        source, 100, _queryFilter="group eq 1", _pageSize="2", _totalPagedResultsPolicy="EXACT"
    )
    assert paged["totalPagedResults"] == 15 and source.returned <= 100
    over = query(
        source, 30, _queryFilter="group eq 1", _pageSize="2", _totalPagedResultsPolicy="EXACT"
    )
    assert (over["totalPagedResults"], over["totalPagedResultsPolicy"]) == (-1, "NONE")
    assert over["remainingPagedResults"] == -1 and source.returned <= 30


def test_a_key_read_source_is_unaffected():
    one = QuerySource(fetch=lambda token, limit: ([ITEMS[3]], None), sortable=frozenset({"n"}))
    request = parse_request("GET", {"_queryFilter": "n eq 3", "_totalPagedResultsPolicy": "EXACT"})
    envelope = run_query(request, one, max_page_size=1000, read_budget=1)
    assert envelope["result"] == [ITEMS[3]] and envelope["pagedResultsCookie"] is None
    assert envelope["totalPagedResults"] == 1
