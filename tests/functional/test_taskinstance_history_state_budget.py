"""``taskinstance/history`` by state with further parameters (``finished=true&
processDefinitionKey=x``, ``unfinished=true&assignee=u``) reads the state partition and
evaluates the rest on what it lists: within ``WORKFLOW_QUERY_READ_BUDGET``, answering a short
page with a cookie and ``totalPagedResults`` -1 when the budget ends first, never walking the
partition to its end.

Through HTTP over moto at two data sizes past the budget: the same DynamoDB requests per
request at both, and the pages, followed by their cookies, answer what the walk of the
``htask`` listing finds. The matching tasks are created after the others, so a request meets
the budget before any of them. The ``wide`` instances are started through the API on the
memory store and written to moto in bulk (``tests.support.mirrored``); the ``few`` ones over
moto."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from tests.support.env import TEST_ENV
from tests.support.instances import counted_query, follow_cookies
from tests.support.mirrored import Mirror
from tests.support.rest import ADMIN, WF, expect
from tests.support.tasks import WIDE

BUDGET = 40
TASKS = f"{WF}/taskinstance/history"
JSON = {**ADMIN, "Content-Type": "application/json"}
STATES = {True: "finished", False: "unfinished"}
FILTERS = {True: "endTime pr", False: "!(endTime pr)"}


@pytest.fixture
def settings():
    """The test settings with a small read budget (the container and client are built from it)."""
    from chalicelib.settings import Settings

    return Settings.from_env(dict(TEST_ENV, WORKFLOW_QUERY_READ_BUDGET=str(BUDGET)))


def deploy(client, key: str) -> None:
    bpmn = WIDE.replace('id="wide" name="Wide"', f'id="{key}" name="{key}"')
    body = json.dumps({"name": key, "bpmnXML": bpmn}).encode()
    model = expect(client.http.post(f"{WF}/model", headers=JSON, body=body), 201)
    expect(client.http.post(f"{WF}/model/{model['_id']}?_action=deploy", headers=JSON), 200)


def grow(client, container, key: str, width: int, who: str) -> None:
    """``width`` more finished historic tasks of ``key`` assigned to ``who`` (an instance
    started, then cancelled) and ``width`` more unfinished ones (an instance started)."""
    for cancel in (True, False):
        body = json.dumps({"_key": key, "width": width, "who": who}).encode()
        started = expect(
            client.http.post(f"{WF}/processinstance?_action=create", headers=JSON, body=body),
            201,
        )
        container.clock.advance(seconds=1)
        if cancel:
            expect(client.http.delete(f"{WF}/processinstance/{started['_id']}", headers=ADMIN), 200)
            container.clock.advance(seconds=1)


def walk(client, finished: bool, term: str) -> list[str]:
    """The ids the walk of the ``htask`` listing finds (a disjunction: no partition serves it)."""
    wanted = quote(f"({FILTERS[finished]} and {term}) or ({FILTERS[finished]} and {term})")
    ids, _ = follow_cookies(client, "taskinstance/history", f"_queryFilter={wanted}", most=200)
    return ids


#: (parameters beside the state, the same selection as a filter term)
COMBINATIONS = [
    ("processDefinitionKey=few", 'processDefinitionId sw "few:"'),
    ("assignee=rare", 'assignee eq "rare"'),
    ("assignee=nobody", 'assignee eq "nobody"'),
]


def test_a_state_with_other_parameters_reads_within_the_budget_at_any_size(client, container):
    mirror = Mirror(container)
    with mirror.building():
        deploy(client, "wide")
        deploy(client, "few")
    costs: list[dict] = []
    listed = 0  # historic tasks of each state
    for width in (50, 100):
        listed += width + 2
        with mirror.building() as memory:
            grow(client, memory, "wide", width, "crowd")
        grow(client, container, "few", 2, "rare")  # through the API over moto
        for finished in (True, False):
            for params, term in COMBINATIONS:
                query = f"_queryId=filtered-query&{STATES[finished]}=true&{params}&_pageSize=10"
                first, counts = counted_query(
                    client, TASKS, query + "&_totalPagedResultsPolicy=EXACT"
                )
                # the budget ends before the matches: a short page with a cookie, no total
                assert first["result"] == [] and first["pagedResultsCookie"] is not None
                assert first["totalPagedResults"] == -1
                # one read of the 8 shards: a read asks for FILTERED_BATCH, capped by the budget
                assert sum(counts.values()) <= 8, counts
                costs.append(counts)
                found, envelopes = follow_cookies(client, "taskinstance/history", query, most=200)
                assert found == walk(client, finished, term)
                expected = 2 * (width // 50) if "nobody" not in params else 0
                assert len(found) == expected
                # each page reads up to the budget: the pages follow the partition's size
                assert len(envelopes) <= -(-listed // BUDGET) + 1, len(envelopes)
    assert costs[: len(costs) // 2] == costs[len(costs) // 2 :]
