"""``_totalPagedResultsPolicy=EXACT`` from maintained counters, through HTTP over moto.

A query that selects exactly what a listing or an index partition holds (no filter, or one
equality an index serves) answers its total from the partition's counter: one Query on top of
the page, whatever the number of instances. Each total is checked against the walk of the same
query (a disjunction no index serves), after starts, claims, completions and deletes.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from chalicelib import aws
from tests.support.instances import deploy, start
from tests.support.rest import ADMIN, WF, expect

JSON = {**ADMIN, "Content-Type": "application/json"}


def query(client, resource: str, params: str) -> dict:
    return expect(client.http.get(f"{WF}/{resource}?{params}", headers=ADMIN), 200)


def exact(client, resource: str, params: str) -> tuple[int, dict]:
    """(totalPagedResults, DynamoDB requests) of ``params`` with ``EXACT``, a page of 2."""
    with aws.counting() as counter:
        data = query(client, resource, f"{params}&_pageSize=2&_totalPagedResultsPolicy=EXACT")
    return data["totalPagedResults"], dict(counter.counts.get("dynamodb", {}))


def walked(client, resource: str, term: str) -> int:
    """The number of matches of ``term``, by walking (``or`` of the term with itself)."""
    text = "true" if term == "true" else f"({term}) or ({term})"
    return query(client, resource, "_queryFilter=" + quote(text))["resultCount"]


def start_many(client, container, count: int, first: int = 0) -> list[str]:
    ids = []
    for n in range(first, first + count):
        key = "alpha" if n % 2 == 0 else "beta"
        ids.append(expect(start(client, {"_key": key, "_businessKey": f"bk-{n % 3}"}), 201)["_id"])
        container.clock.advance(seconds=1)
    return ids


INSTANCE_TERMS = [
    "true",
    'processDefinitionKey eq "alpha"',
    'businessKey eq "bk-1"',
    'startUserId eq "openidm-admin"',
    'businessKey eq "nosuch"',
]


def check_instances(client) -> None:
    for term in INSTANCE_TERMS:
        total, requests = exact(client, "processinstance", "_queryFilter=" + quote(term))
        assert total == walked(client, "processinstance", term), term
        # the page (the listing's 8 shards, or one partition) and one counter Query
        page = 8 if term == "true" else 1
        assert requests == {"Query": page + 1}, (term, requests)


@pytest.fixture
def started(client, container):
    deploy(container, "alpha", name="Alpha")
    deploy(container, "beta", name="Beta")
    query(client, "processinstance", "_queryFilter=true")  # definition names cached
    return start_many(client, container, 7)


def test_instance_totals_are_exact_and_cost_one_query(client, container, started):
    check_instances(client)
    expect(client.http.delete(f"{WF}/processinstance/{started[0]}", headers=ADMIN), 200)
    start_many(client, container, 3, first=7)
    check_instances(client)
    # filtered-query with only an indexed parameter is counted the same way
    total, requests = exact(
        client, "processinstance", "_queryId=filtered-query&processDefinitionKey=beta"
    )
    assert total == walked(client, "processinstance", 'processDefinitionKey eq "beta"') == 5
    assert requests == {"Query": 2}


def test_other_filters_still_count_within_the_read_budget(client, container, started):
    term = 'processDefinitionKey eq "alpha" and businessKey eq "bk-0"'
    total, requests = exact(client, "processinstance", "_queryFilter=" + quote(term))
    assert total == walked(client, "processinstance", term) == 2
    assert "Query" in requests


def test_task_totals_follow_claims_and_completions(client, container, started):
    tasks = query(client, "taskinstance", "_queryFilter=true")["result"]
    assert len(tasks) == 7
    for task in tasks[:2]:
        expect(
            client.http.post(
                f"{WF}/taskinstance/{task['_id']}?_action=claim",
                headers=JSON,
                body=json.dumps({"userId": "openidm-admin"}).encode(),
            ),
            200,
        )
    expect(
        client.http.post(
            f"{WF}/taskinstance/{tasks[2]['_id']}?_action=complete", headers=JSON, body=b"{}"
        ),
        200,
    )
    cases = {
        "_queryFilter=true": 6,
        "_queryId=filtered-query&assignee=openidm-admin": 2,
        "_queryFilter=" + quote('assignee eq "openidm-admin"'): 2,
        "_queryId=filtered-query&taskCandidateGroup=manager": 4,
        "_queryId=filtered-query&taskCandidateGroup=nobody": 0,
    }
    for params, expected in cases.items():
        total, requests = exact(client, "taskinstance", params)
        assert total == expected, params
        assert requests["Query"] <= 8 + 1, params
    listed = query(client, "taskinstance", "_queryId=filtered-query&taskCandidateGroup=manager")
    assert listed["resultCount"] == 4
