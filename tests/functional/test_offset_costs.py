"""``_pagedResultsOffset`` costs the skipped keys of an index, not their items.

Through HTTP over moto: a history query served by ``lookup-sort`` partitions (an indexed
equality, ``finished``/``unfinished``) and a running ``var-<name>`` query skip their offset on
the key-only lookup items (``QuerySource.skip``), then read the page's items only: one
BatchGetItem of the page's keys, at two sizes of the data; the pages equal the same pages read
by cookie.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.support.instances import counted_query, deploy, query, start
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
    """Every query of ``QUERIES`` on one data set (started once: 150 instances through HTTP
    are most of this test's time), at two sizes."""
    deploy(container, "alpha", name="Alpha")
    for first, last, offset in ((0, 45, 4), (45, 150, 36)):
        start_many(client, container, first, last)
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
