"""Every filter, sort and paging combination of ``processinstance`` and ``taskinstance`` queries
answers what a reference computed from the stored instances says, over moto, with a read
budget small enough that most queries run out of it and continue by cookie.

Filters: none, each index-served equality (as ``_queryFilter`` and as ``filtered-query``), an
equality plus a term no index serves, and a filter no index serves. Sorts: none, the listing's
own order both ways (``startTime``), and an in-memory sort (400 when its set does not fit the
budget). Paging: page sizes followed by cookie, and an offset followed by cookie. Totals
(``EXACT``): the counter's where the query is served by one, else the walk's or -1.
"""

from __future__ import annotations

import itertools
import json
from urllib.parse import quote

import pytest

from tests.support.instances import JSON, deploy, follow_cookies, start
from tests.support.module_moto import module_backend
from tests.support.rest import ADMIN, WF, expect

BUDGET = 5
INSTANCES = 14


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
    """``INSTANCES`` instances in start order (``n``, key, business key); three deleted."""
    deploy(container, "alpha", name="Alpha")
    deploy(container, "beta", name="Beta")
    made = []
    for n in range(INSTANCES):
        key = "alpha" if n % 2 == 0 else "beta"
        payload = {"_key": key, "_businessKey": f"bk-{n % 3}", "n": n}
        made.append({"id": expect(start(client, payload), 201)["_id"], "n": n, "key": key})
        container.clock.advance(seconds=30)
    for gone in (made[1], made[6], made[11]):
        expect(client.http.delete(f"{WF}/processinstance/{gone['id']}", headers=ADMIN), 200)
    kept = [m for m in made if m not in (made[1], made[6], made[11])]
    for m in kept:  # each has one open task; every third one is assigned to ann
        [task] = expect(
            client.http.get(
                f"{WF}/taskinstance?_queryId=filtered-query&processInstanceId={m['id']}",
                headers=ADMIN,
            ),
            200,
        )["result"]
        m.update(task=task["_id"], definition=task["processDefinitionId"], assignee=None)
        if m["n"] % 3 == 0:
            body = json.dumps({"assignee": "ann"}).encode()
            expect(
                client.http.put(f"{WF}/taskinstance/{task['_id']}", headers=JSON, body=body), 200
            )
            m["assignee"] = "ann"
    return kept


#: (query parameters, which instances match, the index partition it reads or None, counted)
FILTERS = {
    "none": ("_queryFilter=true", lambda m: True, "all", True),
    "bk eq": (
        "_queryFilter=" + quote('businessKey eq "bk-1"'),
        lambda m: m["n"] % 3 == 1,
        "bk",
        True,
    ),
    "key eq": (
        "_queryFilter=" + quote('processDefinitionKey eq "alpha"'),
        lambda m: m["key"] == "alpha",
        "key",
        True,
    ),
    "fq key": (
        "_queryId=filtered-query&processDefinitionKey=beta",
        lambda m: m["key"] == "beta",
        "key",
        True,
    ),
    "fq bk": (
        "_queryId=filtered-query&processInstanceBusinessKey=bk-2",
        lambda m: m["n"] % 3 == 2,
        "bk",
        True,
    ),
    "key eq and unindexed": (
        "_queryFilter=" + quote('processDefinitionKey eq "beta" and processVariables/n gt 4'),
        lambda m: m["key"] == "beta" and m["n"] > 4,
        "key",
        False,
    ),
    "unindexed": (
        "_queryFilter=" + quote("processVariables/n lt 9"),
        lambda m: m["n"] < 9,
        "all",
        False,
    ),
}
SORTS = {"none": "", "startTime": "&_sortKeys=startTime", "-startTime": "&_sortKeys=-startTime"}
SORTS["businessKey (in memory)"] = "&_sortKeys=businessKey"
PAGING = {"size 3": "&_pageSize=3", "size 2 offset 3": "&_pageSize=2&_pagedResultsOffset=3"}


def partition(world: list[dict], read: str, matches) -> int:
    """Items the query's read returns (what an in-memory sort must read whole)."""
    if read == "all":
        return len(world)
    return sum(1 for m in world if matches(m))


@pytest.mark.parametrize("filter_name", list(FILTERS))
def test_running_instance_queries_match_the_reference(client, world, filter_name):
    """Each sort and paging of one filter."""
    params, matches, read, counted = FILTERS[filter_name]
    for sort_name, paging_name in itertools.product(SORTS, PAGING):
        combination = (filter_name, sort_name, paging_name)
        query = params + SORTS[sort_name] + PAGING[paging_name]
        query += "&_totalPagedResultsPolicy=EXACT"
        expected = [m for m in world if matches(m)]
        if sort_name == "-startTime":
            expected.reverse()
        elif sort_name.startswith("businessKey"):
            expected.sort(key=lambda m: m["n"] % 3)  # stable: ties in start order
        offset = 3 if "offset" in paging_name else 0
        found, envelopes = follow_cookies(client, "processinstance", query, most=60)
        if sort_name.startswith("businessKey") and partition(world, read, matches) > BUDGET:
            assert envelopes[0]["code"] == 400, combination
            assert "WORKFLOW_QUERY_READ_BUDGET" in envelopes[0]["message"], combination
            continue
        assert found == [m["id"] for m in expected][offset:], combination
        total = envelopes[0]["totalPagedResults"]
        if counted:
            assert total == len(expected), combination
        else:
            assert total in (len(expected), -1), combination


#: (query parameters, which tasks match, counted): ``{beta}`` is beta's definition id
TASK_FILTERS = {
    "none": ("_queryFilter=true", lambda m: True, True),
    "assignee": ("_queryId=filtered-query&assignee=ann", lambda m: m["assignee"] == "ann", True),
    "fq key": (
        "_queryId=filtered-query&processDefinitionKey=alpha",
        lambda m: m["key"] == "alpha",
        True,
    ),
    "definition id eq": (
        "_queryFilter=" + quote('processDefinitionId eq "{beta}"'),
        lambda m: m["key"] == "beta",
        True,
    ),
    "unassigned": ("_queryId=filtered-query&unassigned=true", lambda m: not m["assignee"], True),
    "candidate group": (
        "_queryId=filtered-query&taskCandidateGroup=manager",
        lambda m: not m["assignee"],
        True,
    ),
    "key and unindexed": (
        "_queryId=filtered-query&processDefinitionKey=beta&taskNameLike=Appr%25&assignee=ann",
        lambda m: m["key"] == "beta" and m["assignee"] == "ann",
        False,
    ),
    "unindexed": (
        "_queryFilter=" + quote('name eq "Approve" and !(assignee pr)'),
        lambda m: not m["assignee"],
        False,
    ),
}
TASK_SORTS = {"none": "", "createTime": "&_sortKeys=createTime"}
TASK_SORTS["-createTime"] = "&_sortKeys=-createTime"


@pytest.mark.parametrize("filter_name", list(TASK_FILTERS))
def test_open_task_queries_match_the_reference(client, world, filter_name):
    """Each sort and paging of one ``taskinstance`` filter (tasks are created in their
    instances' start order, so that is the reference order)."""
    params, matches, counted = TASK_FILTERS[filter_name]
    beta = next(m["definition"] for m in world if m["key"] == "beta")
    params = params.replace(quote("{beta}"), quote(beta))
    for sort_name, paging_name in itertools.product(TASK_SORTS, PAGING):
        combination = (filter_name, sort_name, paging_name)
        query = params + TASK_SORTS[sort_name] + PAGING[paging_name]
        query += "&_totalPagedResultsPolicy=EXACT"
        expected = [m["task"] for m in world if matches(m)]
        assert expected, combination
        if sort_name == "-createTime":
            expected.reverse()
        offset = 3 if "offset" in paging_name else 0
        found, envelopes = follow_cookies(client, "taskinstance", query, most=60)
        assert found == expected[offset:], combination
        total = envelopes[0]["totalPagedResults"]
        if counted:
            assert total == len(expected), combination
        else:
            assert total in (len(expected), -1), combination
