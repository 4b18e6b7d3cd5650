"""``_pagedResultsOffset`` costs the skipped keys of an index, not their items.

Through HTTP over moto: a history query served by ``lookup-sort`` partitions (an indexed
equality, ``finished``/``unfinished``), a running ``var-<name>`` query, the running listing
(the admin UI's active grid) and a running lookup partition skip their offset on key-only
items (``QuerySource.skip``), then read the page's items only: one BatchGetItem of the page's
keys, at two sizes of the data; the pages equal the same pages read by cookie.

The data sets are started through the API on the memory store and written to moto in bulk
(``tests.support.mirrored``), after the first few instances started through the API over moto.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.support.instances import counted_query, deploy, query, start
from tests.support.mirrored import Mirror
from tests.support.rest import ADMIN, WF, expect

HISTORY = f"{WF}/processinstance/history"
RUNNING = f"{WF}/processinstance"


def start_many(client, container, first: int, last: int) -> None:
    """Instances ``bk-<n>`` of ``alpha``, variable ``color`` red or blue, every third one
    cancelled (finished)."""
    for n in range(first, last):
        payload = {"_key": "alpha", "_businessKey": f"bk-{n}", "color": "red" if n % 2 else "blue"}
        instance_id = expect(start(client, payload), 201)["_id"]
        container.clock.advance(seconds=1)
        if n % 3 == 0:
            expect(client.http.delete(f"{RUNNING}/{instance_id}", headers=ADMIN), 200)


@pytest.fixture
def keys_read(container, monkeypatch) -> list[int]:
    """The number of keys of each BatchGetItem the store makes."""
    sizes: list[int] = []
    batch_get = container.store.batch_get

    def counted(table, keys, *args, **kwargs):
        keys = list(keys)
        sizes.append(len(keys))
        return batch_get(table, keys, *args, **kwargs)

    monkeypatch.setattr(container.store, "batch_get", counted)
    return sizes


def _walked(client, path: str, params: str) -> list[str]:
    """Every id the query answers, page by page by cookie (pages of 7)."""
    ids: list[str] = []
    cookie = None
    while True:
        more = f"&_pagedResultsCookie={cookie}" if cookie else ""
        data = query(client, path, f"{params}&_pageSize=7{more}")
        ids.extend(item["_id"] for item in data["result"])
        cookie = data.get("pagedResultsCookie")
        if not cookie:
            return ids


#: name: (path, params, Queries: the skip's one per partition, which also reads the page's keys
#: on history; a ``var-`` query reads its page's partitions again, after its overflow counter)
QUERIES = {
    "history definition key": (
        HISTORY,
        "_queryId=filtered-query&processDefinitionKey=alpha",
        2,
    ),
    "history finished": (HISTORY, "_queryId=filtered-query&finished=true", 8),
    "history unfinished desc": (
        HISTORY,
        "_queryFilter=" + quote("!(endTime pr)") + "&_sortKeys=-startTime",
        8,
    ),
    "running var-": (RUNNING, "_queryId=filtered-query&var-color=red", 1 + 2 + 2),
}


def _offset_cost(client, keys_read, path, params, offset):
    keys_read.clear()
    data, counts = counted_query(
        client, path, f"{params}&_pageSize=10&_pagedResultsOffset={offset}"
    )
    return data, counts, list(keys_read)


def test_an_offset_reads_the_skipped_keys_only(client, container, keys_read):
    """Every query of ``QUERIES`` on one data set grown from 45 to 150 instances (the first 3
    started over moto, the rest on the memory store, written to moto in bulk)."""
    mirror = Mirror(container)
    with mirror.building() as memory:
        deploy(memory, "alpha", name="Alpha")
    start_many(client, container, 0, 3)
    for first, last, offset in ((3, 45, 4), (45, 150, 36)):
        with mirror.building() as memory:
            start_many(client, memory, first, last)
        for name, (path, params, bound) in QUERIES.items():
            data, counts, sizes = _offset_cost(client, keys_read, path, params, offset)
            expected = _walked(client, path, params)[offset : offset + 10]
            assert [item["_id"] for item in data["result"]] == expected, name
            assert len(expected) == 10, name
            # one BatchGetItem of the page's keys (and the one past it), none for skipped rows
            assert counts.get("BatchGetItem") == 1, (name, counts)
            assert len(sizes) == 1 and sizes[0] <= 11, (name, sizes)
            # the skip reads keys (~100 bytes): one Query per partition at either size
            assert counts == {"Query": bound, "BatchGetItem": 1}, (name, counts)


def test_an_offset_past_the_end_answers_an_empty_page(client, container, keys_read):
    deploy(container, "alpha", name="Alpha")
    start_many(client, container, 0, 9)
    for path, params, _ in QUERIES.values():
        data, counts, sizes = _offset_cost(client, keys_read, path, params, 40)
        assert data["result"] == [] and not data.get("pagedResultsCookie"), params
        assert "BatchGetItem" not in counts and sizes == [], (params, counts)


#: name: (params, requests at offset 200): the running listing skips on its 8 key shards, a
#: lookup partition on its one key partition; then one BatchGetItem of the page's headers
RUNNING_QUERIES = {
    "active grid, newest first": (
        "_queryId=filtered-query&_sortKeys=-startTime",
        {"Query": 8, "BatchGetItem": 1},
    ),
    "all, unsorted": ("_queryFilter=true", {"Query": 8, "BatchGetItem": 1}),
    "definition key, newest first": (
        "_queryId=filtered-query&processDefinitionKey=alpha&_sortKeys=-startTime",
        {"Query": 1, "BatchGetItem": 1},
    ),
    "definition key filter": (
        "_queryFilter=" + quote('processDefinitionKey eq "alpha"'),
        {"Query": 1, "BatchGetItem": 1},
    ),
}


def _walked_to(client, params: str, count: int) -> list[str]:
    """The first ``count`` ids the running query answers, page by page by cookie (pages of 60:
    the listing's own reads, no offset)."""
    ids: list[str] = []
    cookie = None
    while len(ids) < count:
        more = f"&_pagedResultsCookie={cookie}" if cookie else ""
        data = query(client, RUNNING, f"{params}&_pageSize=60{more}")
        ids.extend(item["_id"] for item in data["result"])
        cookie = data.get("pagedResultsCookie")
        if not cookie:
            break
    return ids[:count]


def start_running(client, container, first: int, last: int) -> None:
    """Instances ``bk-<n>`` of ``alpha`` with a listed variable, every tenth one cancelled (so
    ended instances are in neither the listing nor its key items)."""
    for n in range(first, last):
        payload = {"_key": "alpha", "_businessKey": f"bk-{n}", "note": f"{n:04d}" * 100}
        instance_id = expect(start(client, payload), 201)["_id"]
        container.clock.advance(seconds=1)
        if n % 10 == 0:
            expect(client.http.delete(f"{RUNNING}/{instance_id}", headers=ADMIN), 200)


def test_an_offset_on_the_running_listing_reads_the_skipped_keys_only(client, container, keys_read):
    """Offset 200 on the running listing (the admin UI's active grid) and on a running lookup
    partition costs the same number of requests with 225 and with 324 running instances: the
    key shards (or key partition), one BatchGetItem of the page's headers; the page and the
    one its cookie reads equal the pages walked by cookie without an offset. (The first 3
    instances are started over moto, the rest on the memory store, written to moto in bulk.)"""
    mirror = Mirror(container)
    with mirror.building() as memory:
        deploy(memory, "alpha", name="Alpha")
    start_running(client, container, 0, 3)
    for first, last in ((3, 250), (250, 360)):
        with mirror.building() as memory:
            start_running(client, memory, first, last)
        for name, (params, bound) in RUNNING_QUERIES.items():
            data, counts, sizes = _offset_cost(client, keys_read, RUNNING, params, 200)
            walked = _walked_to(client, params, 220)
            assert len(walked) == 220, name
            assert [item["_id"] for item in data["result"]] == walked[200:210], name
            assert counts == bound, (name, counts)
            assert sizes == [11], (name, sizes)  # the page's headers and the one past it
            # the cookie goes on where the page ended, reading headers as without an offset
            cookie = data["pagedResultsCookie"]
            after = query(client, RUNNING, f"{params}&_pageSize=10&_pagedResultsCookie={cookie}")
            assert [item["_id"] for item in after["result"]] == walked[210:220], name
        data, _, _ = _offset_cost(
            client, keys_read, RUNNING, RUNNING_QUERIES["active grid, newest first"][0], 1000
        )
        assert data["result"] == [] and not data.get("pagedResultsCookie")
