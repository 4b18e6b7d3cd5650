"""Filter x sort x paging combinations of ``processinstance/history`` answer what a reference
computed from every stored instance says, over moto, with a read budget small enough that
most pages run out of it and continue by cookie.

Filters: ``finished``, ``unfinished`` (as ``filtered-query`` flags and as ``endTime pr``),
business key, definition key (alone and with a state). Sorts: none, ``startTime`` both ways.
Paging: a page size followed by cookie, and an offset (skipped on the lookup partitions' keys)
followed by cookie. Totals (``EXACT``): the maintained counts.
"""

from __future__ import annotations

import itertools
from urllib.parse import quote

import pytest

from tests.support.instances import deploy, follow_cookies, start
from tests.support.module_moto import module_backend
from tests.support.rest import ADMIN, WF, expect

BUDGET = 5
INSTANCES = 15


@pytest.fixture(scope="module")
def backend():
    with module_backend(WORKFLOW_QUERY_READ_BUDGET=str(BUDGET)) as made:
        yield made


@pytest.fixture(scope="module")
def client(backend):
    return backend.client


@pytest.fixture
def world(backend):
    """The module's world, built once (the tests only read it)."""
    container, made = backend.shared("world", build_world)
    with backend.reading(container):
        yield made


def build_world(client, container):
    """``INSTANCES`` instances in start order (key, business key); every third one cancelled
    (finished)."""
    deploy(container, "alpha", name="Alpha")
    deploy(container, "beta", name="Beta")
    made = []
    for n in range(INSTANCES):
        key = "alpha" if n % 2 == 0 else "beta"
        payload = {"_key": key, "_businessKey": f"bk-{n % 4}", "n": n}
        instance_id = expect(start(client, payload), 201)["_id"]
        made.append({"id": instance_id, "n": n, "key": key, "finished": n % 3 == 0})
        container.clock.advance(seconds=30)
    for instance in made:
        if instance["finished"]:
            path = f"{WF}/processinstance/{instance['id']}"
            expect(client.http.delete(path, headers=ADMIN), 200)
    return made


#: name: (query parameters, which instances match)
FILTERS = {
    "finished": ("_queryId=filtered-query&finished=true", lambda m: m["finished"]),
    "unfinished": ("_queryId=filtered-query&unfinished=true", lambda m: not m["finished"]),
    "endTime pr": ("_queryFilter=" + quote("endTime pr"), lambda m: m["finished"]),
    "businessKey": (
        "_queryId=filtered-query&processInstanceBusinessKey=bk-1",
        lambda m: m["n"] % 4 == 1,
    ),
    "businessKey eq": ("_queryFilter=" + quote('businessKey eq "bk-2"'), lambda m: m["n"] % 4 == 2),
    "processDefinitionKey": (
        "_queryId=filtered-query&processDefinitionKey=alpha",
        lambda m: m["key"] == "alpha",
    ),
    "processDefinitionKey unfinished": (
        "_queryId=filtered-query&processDefinitionKey=beta&unfinished=true",
        lambda m: m["key"] == "beta" and not m["finished"],
    ),
}
SORTS = {"none": "", "startTime": "&_sortKeys=startTime", "-startTime": "&_sortKeys=-startTime"}
PAGING = {
    "size 3": ("&_pageSize=3", 0),
    "size 2 offset 3": ("&_pageSize=2&_pagedResultsOffset=3", 3),
    "size 4 offset past the end": ("&_pageSize=4&_pagedResultsOffset=40", 40),
}


@pytest.mark.parametrize("filter_name", list(FILTERS))
def test_history_queries_match_the_reference(client, world, filter_name):
    """Each sort and paging of one filter."""
    params, matches = FILTERS[filter_name]
    for sort_name, paging_name in itertools.product(SORTS, PAGING):
        combination = (filter_name, sort_name, paging_name)
        paging, offset = PAGING[paging_name]
        query = params + SORTS[sort_name] + paging + "&_totalPagedResultsPolicy=EXACT"
        expected = [m["id"] for m in world if matches(m)]
        if sort_name == "-startTime":
            expected.reverse()
        found, envelopes = follow_cookies(client, "processinstance/history", query)
        assert found == expected[offset:], combination
        assert envelopes[0]["totalPagedResults"] == len(expected), combination
