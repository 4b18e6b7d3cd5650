"""``taskinstance/history`` (routes 46-48) over moto: query parameters, read, sort keys."""

from __future__ import annotations

import pytest

from chalicelib.engine.runtime import DeleteInstance
from chalicelib.service import unit_of_work as instances
from tests.support.rest import ADMIN, WF, call, expect, ids
from tests.support.tasks import deploy_onboard, start

HISTORY_KEYS = {
    "_id",
    "name",
    "description",
    "owner",
    "assignee",
    "taskDefinitionKey",
    "priority",
    "category",
    "createTime",
    "startTime",
    "claimTime",
    "endTime",
    "durationInMillis",
    "dueDate",
    "deleteReason",
    "executionId",
    "processInstanceId",
    "processDefinitionId",
    "processVariables",
    "taskLocalVariables",
}


def history(client, params: str) -> dict:
    return expect(client.http.get(f"{WF}/taskinstance/history?{params}", headers=ADMIN), 200)


@pytest.fixture
def done(client, container):
    """A accepted (so its Welcome task is open), B rejected (process finished), C deleted."""
    definition_id = deploy_onboard(container)
    a, b, c = (start(container, definition_id, who=who) for who in ("ann", "ben", "cy"))
    container.clock.advance(minutes=5)
    expect(
        call(client, "POST", f"taskinstance/{a[1]}?_action=complete", {"decision": "accept"}), 200
    )
    expect(
        call(client, "POST", f"taskinstance/{b[1]}?_action=complete", {"decision": "reject"}), 200
    )
    instances.run_command(
        container, lambda uow: (uow.load(c[0]), DeleteInstance(c[0], "cancelled"))[1]
    )
    welcome = ids(
        expect(
            call(
                client,
                "GET",
                f"taskinstance?_queryId=filtered-query&processInstanceId={a[0]}",
                headers=ADMIN,
            ),
            200,
        )
    )
    return {
        "A": a[1],
        "B": b[1],
        "C": c[1],
        "W": welcome[0],
        "instances": {"A": a[0], "B": b[0], "C": c[0]},
    }


def test_history_lists_every_task_in_history_shape(client, done):
    data = history(client, "_queryFilter=true")
    assert sorted(ids(data)) == sorted(done[k] for k in "ABCW")
    item = next(i for i in data["result"] if i["_id"] == done["A"])
    assert HISTORY_KEYS <= set(item)
    assert item["taskLocalVariables"] == {"decision": "accept"}
    assert item["endTime"] == "2026-01-01T00:05:00.000Z" and item["durationInMillis"] == 300000
    assert item["priority"] == 60 and item["deleteReason"] is None


@pytest.mark.parametrize(
    "params, expected",
    [
        ("finished=true", "ABC"),
        ("unfinished=true", "W"),
        ("processFinished=true", "BC"),
        ("processUnfinished=true", "AW"),
        ("taskDeleteReason=cancelled", "C"),
        ("deleteReason=cancelled", "C"),
        ("taskName=Approve%20ben", "B"),
        ("taskNameLike=Approve%25", "ABC"),
        ("taskId={B}", "B"),
        ("_id={W}", "W"),
        ("processInstanceId={iA}", "AW"),
        ("taskDefinitionKey=welcome", "W"),
        ("assignee=starter-user", "W"),
        ("taskCandidateUser=bob", "ABC"),
        ("taskCandidateGroup=x,managers", "ABC"),
        ("priority=50", "W"),
        ("var-who=cy", "C"),
        ("var-decision=accept", "AW"),
        ("processDefinitionKey=onboard", "ABCW"),
        ("finishedAfter=2026-01-01T00:01:00Z", "ABC"),
        ("finishedBefore=2026-01-01T00:01:00Z", ""),
        ("name=ignored-in-history", "ABCW"),
    ],
)
def test_history_filtered_query_parameters(client, done, params, expected):
    params = params.format(B=done["B"], W=done["W"], iA=done["instances"]["A"])
    found = ids(history(client, f"_queryId=filtered-query&{params}"))
    assert sorted(found) == sorted(done[letter] for letter in expected)


def test_history_sort_keys_include_task_id_and_task_name(client, done):
    names = [i["name"] for i in history(client, "_queryFilter=true&_sortKeys=-taskName")["result"]]
    assert names == ["Welcome", "Approve cy", "Approve ben", "Approve ann"]
    by_id = ids(history(client, "_queryFilter=true&_sortKeys=taskId"))
    assert by_id == sorted(by_id)
    assert ids(history(client, "_queryFilter=true&_sortKeys=durationInMillis"))[0] == done["W"]


@pytest.mark.parametrize(
    "params, fragment",
    [
        ("_queryFilter=true&_sortKeys=bogus", "Sort key: bogus"),
        ("_queryId=filtered-query&priority=x", "'priority'"),
        ("_queryId=filtered-query&finishedBefore=yesterday", "'finishedBefore'"),
        ("_queryId=unassignedTaskQuery", "Unknown query-id"),
    ],
)
def test_history_bad_query_is_400(client, done, params, fragment):
    expect(client.http.get(f"{WF}/taskinstance/history?{params}", headers=ADMIN), 400, fragment)


def test_history_read(client, done):
    item = expect(call(client, "GET", f"taskinstance/history/{done['B']}", headers=ADMIN), 200)
    assert HISTORY_KEYS <= set(item) and item["_id"] == done["B"]
    assert item["taskLocalVariables"] == {"decision": "reject"} and item["endTime"]
    open_item = expect(call(client, "GET", f"taskinstance/history/{done['W']}", headers=ADMIN), 200)
    assert open_item["endTime"] is None and open_item["assignee"] == "starter-user"
    expect(call(client, "GET", "taskinstance/history/nosuch", headers=ADMIN), 404)
    expect(
        call(
            client,
            "GET",
            f"taskinstance/history/{done['instances']['A']}.01jaaaaaaaaaaaaaaaaaaaaaaa",
            headers=ADMIN,
        ),
        404,
        "not found",
    )
    expect(call(client, "DELETE", f"taskinstance/history/{done['B']}", headers=ADMIN), 501)
