"""Who may read, update, claim, complete, delete and query tasks (DECISIONS.md rules)."""

from __future__ import annotations

import pytest

from tests.support.rest import ADMIN, ANONYMOUS, call, expect, ids
from tests.support.tasks import as_user


@pytest.mark.parametrize(
    "method, path, payload",
    [
        ("GET", "taskinstance?_queryFilter=true", None),
        ("GET", "taskinstance?_queryId=unassignedTaskQuery", None),
        ("GET", "taskinstance/{t}", None),
        ("PUT", "taskinstance/{t}", {"name": "x"}),
        ("POST", "taskinstance/{t}?_action=claim", {"userId": "anonymous"}),
        ("POST", "taskinstance/{t}?_action=complete", {}),
        ("DELETE", "taskinstance/{t}", None),
        ("GET", "taskinstance/history?_queryFilter=true", None),
        ("GET", "taskinstance/history/{t}", None),
    ],
)
def test_anonymous_is_forbidden(users_client, method, path, payload):
    client, task_id = users_client
    response = call(
        client,
        method,
        path.format(t=task_id),
        payload,
        headers=dict(ANONYMOUS, **{"Content-Type": "application/json"}),
    )
    expect(response, 403, "Access denied")


@pytest.mark.parametrize("name", ["bob", "carol", "hank"])
def test_candidates_read_and_update_but_complete_only_once_assigned(users_client, name):
    client, task_id = users_client
    headers = as_user(name)
    assert (
        expect(call(client, "GET", f"taskinstance/{task_id}", headers=headers), 200)["_id"]
        == task_id
    )
    expect(
        call(
            client,
            "POST",
            f"taskinstance/{task_id}?_action=complete",
            {"decision": "accept"},
            headers=headers,
        ),
        403,
    )
    expect(
        call(
            client,
            "POST",
            f"taskinstance/{task_id}?_action=claim",
            {"userId": name},
            headers=headers,
        ),
        403,
    )
    expect(call(client, "PUT", f"taskinstance/{task_id}", {"assignee": name}, headers=headers), 200)
    assert (
        expect(call(client, "GET", f"taskinstance/{task_id}", headers=ADMIN), 200)["assignee"]
        == name
    )
    expect(
        call(
            client,
            "POST",
            f"taskinstance/{task_id}?_action=complete",
            {"decision": "reject"},
            headers=headers,
        ),
        200,
    )
    expect(call(client, "GET", f"taskinstance/{task_id}", headers=ADMIN), 404)


def test_unrelated_user_is_refused_everything_on_the_task(users_client):
    client, task_id = users_client
    dave = as_user("dave")
    for method, path, payload in [
        ("GET", f"taskinstance/{task_id}", None),
        ("PUT", f"taskinstance/{task_id}", {"assignee": "dave"}),
        ("POST", f"taskinstance/{task_id}?_action=complete", {}),
        ("DELETE", f"taskinstance/{task_id}", None),
        ("GET", f"taskinstance/history/{task_id}", None),
    ]:
        expect(call(client, method, path, payload, headers=dave), 403, "Access denied")
    assert (
        expect(call(client, "GET", f"taskinstance/{task_id}", headers=ADMIN), 200)["assignee"]
        is None
    )


def test_an_assignee_who_is_no_candidate_may_complete(users_client):
    client, task_id = users_client
    expect(call(client, "POST", f"taskinstance/{task_id}?_action=claim", {"userId": "dave"}), 200)
    dave = as_user("dave")
    expect(call(client, "GET", f"taskinstance/{task_id}", headers=dave), 200)
    expect(
        call(
            client,
            "POST",
            f"taskinstance/{task_id}?_action=complete",
            {"decision": "reject"},
            headers=dave,
        ),
        200,
    )


def test_unassigned_task_query_shows_only_the_callers_candidate_tasks(users_client):
    client, task_id = users_client
    unassigned = "taskinstance?_queryId=unassignedTaskQuery"
    for name in ("bob", "carol", "hank"):
        assert ids(expect(call(client, "GET", unassigned, headers=as_user(name)), 200)) == [task_id]
    assert ids(expect(call(client, "GET", unassigned, headers=as_user("dave")), 200)) == []
    expect(call(client, "GET", "taskinstance?_queryFilter=true", headers=as_user("bob")), 403)
    expect(call(client, "GET", "taskinstance?_queryId=filtered-query", headers=as_user("bob")), 403)
    expect(call(client, "PUT", f"taskinstance/{task_id}", {"assignee": "bob"}), 200)
    assert ids(expect(call(client, "GET", unassigned, headers=as_user("carol")), 200)) == []


def test_task_candidate_user_matches_through_the_users_groups(users_client):
    client, task_id = users_client
    found = expect(
        call(
            client,
            "GET",
            "taskinstance?_queryId=filtered-query&taskCandidateUser=carol",
            headers=ADMIN,
        ),
        200,
    )
    assert ids(found) == [task_id]
    none = expect(
        call(
            client,
            "GET",
            "taskinstance?_queryId=filtered-query&taskCandidateUser=dave",
            headers=ADMIN,
        ),
        200,
    )
    assert ids(none) == []
