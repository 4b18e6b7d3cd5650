"""``taskinstance/history`` by state at any size: ``_queryFilter=endTime pr`` and
``!(endTime pr)`` read the historic tasks' state partitions (``htask-state=<state>#n``) as
``finished=true``/``unfinished=true`` do, an exact state answers ``EXACT`` from its count, and
``_pagedResultsOffset`` on a state partition skips in one round of shard Queries whose
following entries are the page's task items.

Through HTTP over moto, at two data sizes: every answer equals the walk of the ``htask``
listing, and the DynamoDB requests of a request are the same at both sizes (a page of 10 at
offset 200 in at most 10). The tasks come from wide parallel multi-instance user tasks: a
start creates ``width`` historic tasks, a cancel ends them all. The wide instances are
started through the API on the memory store and written to moto in bulk
(``tests.support.mirrored``); the few ``rare`` ones are started over moto."""

from __future__ import annotations

import json
from urllib.parse import quote

from tests.support.instances import counted_query, follow_cookies, query
from tests.support.mirrored import Mirror
from tests.support.rest import ADMIN, WF, expect
from tests.support.tasks import WIDE

TASKS = f"{WF}/taskinstance/history"
JSON = {**ADMIN, "Content-Type": "application/json"}

STATES = {True: "finished", False: "unfinished"}
FILTERS = {True: "endTime pr", False: "!(endTime pr)"}


def deploy_wide(client) -> None:
    body = json.dumps({"name": "wide", "bpmnXML": WIDE}).encode()
    model = expect(client.http.post(f"{WF}/model", headers=JSON, body=body), 201)
    expect(client.http.post(f"{WF}/model/{model['_id']}?_action=deploy", headers=JSON), 200)


def grow(client, container, width: int, who: str = "crowd") -> None:
    """``width`` more finished historic tasks (an instance started, then cancelled) and
    ``width`` more unfinished ones (an instance started)."""
    for cancel in (True, False):
        payload = {"_key": "wide", "width": width, "who": who}
        body = json.dumps(payload).encode()
        started = expect(
            client.http.post(f"{WF}/processinstance?_action=create", headers=JSON, body=body),
            201,
        )
        container.clock.advance(seconds=1)
        if cancel:
            expect(client.http.delete(f"{WF}/processinstance/{started['_id']}", headers=ADMIN), 200)
            container.clock.advance(seconds=1)


def walked(client, finished: bool) -> list[str]:
    """The ids of the historic tasks of one state in listing order, as the walk of the
    ``htask`` listing finds them (a filter no partition serves), following its cookies."""
    term = quote(f"({FILTERS[finished]}) or ({FILTERS[finished]})")
    ids, _ = follow_cookies(client, "taskinstance/history", f"_queryFilter={term}&_pageSize=100")
    return ids


def following(client, params: str, cookie: str) -> list[str]:
    """The ids of every page of a query from ``cookie`` on."""
    found: list[str] = []
    for _ in range(20):
        data = query(client, TASKS, f"{params}&_pagedResultsCookie={cookie}")
        found += [t["_id"] for t in data["result"]]
        cookie = data["pagedResultsCookie"]
        if cookie is None:
            return found
    raise AssertionError("the cookies never end")


def by_state(finished: bool, form: str) -> str:
    if form == "filter":
        return "_queryFilter=" + quote(FILTERS[finished])
    return f"_queryId=filtered-query&{STATES[finished]}=true"


def test_a_page_at_offset_200_reads_one_round_at_any_size(client, container):
    mirror = Mirror(container)
    with mirror.building():
        deploy_wide(client)
    costs = []
    for width in (215, 240):
        with mirror.building() as memory:
            grow(client, memory, width)
        for finished in (True, False):
            walk = walked(client, finished)
            for form in ("filter", "params"):
                params = by_state(finished, form) + "&_pageSize=10&_pagedResultsOffset=200"
                data, counts = counted_query(client, TASKS, params)
                assert [t["_id"] for t in data["result"]] == walk[200:210]
                assert sum(counts.values()) <= 10, counts
                costs.append(counts)
                # the page's cookie goes on where the skip stopped
                cookie = data["pagedResultsCookie"]
                assert cookie is not None
                rest = following(client, by_state(finished, form) + "&_pageSize=100", cookie)
                assert rest == walk[210:]
    assert costs[:4] == costs[4:]
    # an offset past the end: an empty last page
    data = query(client, TASKS, by_state(True, "params") + "&_pagedResultsOffset=455")
    assert data["result"] == [] and data["pagedResultsCookie"] is None


def test_end_time_filters_read_the_state_partition_and_count_it(client, container):
    mirror = Mirror(container)
    with mirror.building():
        deploy_wide(client)
    costs = []
    for width in (30, 90):
        with mirror.building() as memory:
            grow(client, memory, width)
        grow(client, container, 3, who="rare")  # through the API over moto
        for finished in (True, False):
            walk = walked(client, finished)
            exact = by_state(finished, "filter") + "&_pageSize=10&_totalPagedResultsPolicy=EXACT"
            data, counts = counted_query(client, TASKS, exact)
            assert [t["_id"] for t in data["result"]] == walk[:10]
            assert data["totalPagedResults"] == len(walk)
            assert sum(counts.values()) <= 9, counts  # 8 shard Queries and the counter's
            # AND-ed with another term: the partition, the rest evaluated on what it lists
            term = quote(f'{FILTERS[finished]} and assignee eq "rare"')
            found, envelopes = follow_cookies(
                client, "taskinstance/history", f"_queryFilter={term}&_pageSize=10"
            )
            rare = [
                t["_id"]
                for t in query(
                    client,
                    TASKS,
                    "_queryFilter="
                    + quote(
                        f'({FILTERS[finished]} and assignee eq "rare") or (assignee eq "nobody")'
                    )
                    + "&_pageSize=1000",
                )["result"]
            ]
            assert found == rare and len(found) == 3 * (1 if width == 30 else 2)
            assert set(found) <= set(walk)
            costs.append(counts)
    assert costs[:2] == costs[2:]
    # both states AND-ed: nothing
    both = quote("endTime pr and !(endTime pr)")
    assert follow_cookies(client, "taskinstance/history", f"_queryFilter={both}")[0] == []
