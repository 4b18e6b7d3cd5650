"""The ``taskinstance`` routes (43-45, 49-53) over moto: query, read, update, claim, complete,
delete, bad input on each. Helpers here are shared by the other ``test_taskinstance_*`` files."""

from __future__ import annotations

import pytest

from chalicelib.storage.ports import Index, Table
from tests.support.rest import ADMIN, JSON_ADMIN, WF, call, expect, ids
from tests.support.tasks import deploy_onboard, start

ITEM_KEYS = {
    "_id",
    "_rev",
    "name",
    "description",
    "assignee",
    "owner",
    "priority",
    "category",
    "createTime",
    "dueDate",
    "claimTime",
    "executionId",
    "processInstanceId",
    "processDefinitionId",
    "taskDefinitionKey",
    "parentTaskId",
    "formKey",
    "tenantId",
    "suspended",
    "processVariables",
    "taskLocalVariables",
}


def query(client, params: str, headers=None) -> dict:
    return expect(client.http.get(f"{WF}/taskinstance?{params}", headers=headers or ADMIN), 200)


@pytest.fixture
def three(client, container):
    """Tasks A (who=ann), B (claimed by bob), C (priority 90, owner olga, due 2030)."""
    definition_id = deploy_onboard(container)
    a = start(container, definition_id, who="ann")
    b = start(container, definition_id, who="ben")
    c = start(container, definition_id, who="cy")
    expect(call(client, "POST", f"taskinstance/{b[1]}?_action=claim", {"userId": "bob"}), 200)
    expect(
        call(
            client,
            "PUT",
            f"taskinstance/{c[1]}",
            {"priority": 90, "owner": "olga", "dueDate": "2030-01-01T00:00:00Z"},
        ),
        200,
    )
    return {
        "A": a[1],
        "B": b[1],
        "C": c[1],
        "instances": {"A": a[0], "B": b[0], "C": c[0]},
        "definition": definition_id,
    }


# --- query -------------------------------------------------------------------------------------


def test_query_filter_true_lists_items_in_task_shape(client, three):
    data = query(client, "_queryFilter=true")
    assert sorted(ids(data)) == sorted([three["A"], three["B"], three["C"]])
    item = next(i for i in data["result"] if i["_id"] == three["A"])
    assert ITEM_KEYS <= set(item) and list(item)[:2] == ["_id", "_rev"]
    assert item["name"] == "Approve ann" and item["description"] == "Please approve ann"
    assert item["priority"] == 60 and item["assignee"] is None and item["formKey"] == "approve.js"
    assert item["processInstanceId"] == three["instances"]["A"]
    assert item["processDefinitionId"] == three["definition"] and item["_rev"] == "1"
    assert item["processVariables"] == {} and item["taskLocalVariables"] == {}
    assert ids(query(client, "_queryId=query-all-ids"))[0] in {three["A"], three["B"], three["C"]}
    # whole items, as WrenIDM and OpenIDM answer query-all-ids (DECISIONS.md, revised)
    assert (
        query(client, "_queryId=query-all-ids")["result"]
        == query(client, "_queryFilter=true")["result"]
    )


@pytest.mark.parametrize(
    "params, expected",
    [
        ("processInstanceId={iA}", "A"),
        ("assignee=bob", "B"),
        ("unassigned=true", "AC"),
        ("unassigned=false", "ABC"),
        ("taskCandidateUser=bob", "AC"),
        ("taskCandidateGroup=nobody,managers", "AC"),
        ("taskCandidateGroup=nobody", ""),
        ("taskCandidateOrAssigned=bob", "ABC"),
        ("name=Approve%20ann", "A"),
        ("nameLike=Approve%20%25n", "AB"),
        ("description=Please%20approve%20cy", "C"),
        ("priority=90", "C"),
        ("priority=60", "AB"),
        ("owner=olga", "C"),
        ("var-who=ben", "B"),
        ("var-who=ben&var-starter=starter-user", "B"),
        ("var-nothing=x", ""),
        ("taskDefinitionKey=approve", "ABC"),
        ("processDefinitionKey=onboard", "ABC"),
        ("processDefinitionKey=other", ""),
        ("processDefinitionId={definition}", "ABC"),
        ("dueAfter=2029-01-01", "C"),
        ("dueBefore=2029-01-01T00:00:00Z", ""),
        ("createdBefore=2100-01-01", "ABC"),
        ("createdAfter=2100-01-01", ""),
        ("taskId={B}", "B"),
        ("_id={C}", "C"),
        ("somethingUnknown=1", "ABC"),
    ],
)
def test_filtered_query_parameters(client, three, params, expected):
    params = params.format(
        iA=three["instances"]["A"], definition=three["definition"], B=three["B"], C=three["C"]
    )
    found = ids(query(client, f"_queryId=filtered-query&{params}"))
    assert sorted(found) == sorted(three[letter] for letter in expected)


@pytest.mark.parametrize(
    "params, fragment",
    [
        ("_queryId=filtered-query&priority=high", "'priority'"),
        ("_queryId=filtered-query&dueBefore=tomorrow", "'dueBefore'"),
        ("_queryId=filtered-query&createdAfter=2020-13-45", "'createdAfter'"),
        ("_queryFilter=true&_sortKeys=bogus", "Sort key: bogus"),
        ("_queryId=nope", "Unknown query-id"),
        ("_queryFilter=name%20eq", "_queryFilter"),
    ],
)
def test_bad_query_input_is_400(client, three, params, fragment):
    expect(client.http.get(f"{WF}/taskinstance?{params}", headers=ADMIN), 400, fragment)


def test_any_filter_sorting_and_paging(client, three):
    assert ids(query(client, "_queryFilter=assignee%20eq%20%22bob%22")) == [three["B"]]
    assert ids(query(client, "_queryFilter=priority%20gt%2070")) == [three["C"]]
    ordered = ids(query(client, "_queryFilter=true&_sortKeys=-priority,name"))
    assert ordered == [three["C"], three["A"], three["B"]]
    first = query(client, "_queryFilter=true&_pageSize=2")
    assert len(first["result"]) == 2 and first["pagedResultsCookie"]
    rest = query(
        client, f"_queryFilter=true&_pageSize=2&_pagedResultsCookie={first['pagedResultsCookie']}"
    )
    assert len(rest["result"]) == 1 and rest["pagedResultsCookie"] is None
    assert set(ids(first)) | set(ids(rest)) == {three["A"], three["B"], three["C"]}
    counted = query(client, "_queryFilter=true&_pageSize=1&_totalPagedResultsPolicy=EXACT")
    assert counted["totalPagedResults"] == 3


@pytest.mark.parametrize(
    "params", ["_queryId=filtered-query&assignee=bob", "_queryFilter=assignee%20eq%20%22bob%22"]
)
def test_assignee_equality_is_served_by_the_assignee_index(
    client, container, three, monkeypatch, params
):
    calls = []
    original = container.store.query_index

    def spy(table, index, hash_value, **kwargs):
        calls.append((table, index, hash_value))
        return original(table, index, hash_value, **kwargs)

    monkeypatch.setattr(container.store, "query_index", spy)
    assert ids(query(client, params)) == [three["B"]]
    assert calls and all(c == (Table.RUNTIME, Index.ASSIGNEE_SORT, "bob") for c in calls)


def test_instance_equality_reads_only_that_instance(client, container, three, monkeypatch):
    monkeypatch.setattr(
        container.store, "query_index", lambda *a, **k: pytest.fail("no index read expected")
    )
    found = query(client, f"_queryId=filtered-query&processInstanceId={three['instances']['C']}")
    assert ids(found) == [three["C"]]


def test_assignment_moves_the_task_between_index_partitions(client, three):
    expect(call(client, "PUT", f"taskinstance/{three['B']}", {"assignee": "zoe"}), 200)
    assert ids(query(client, "_queryId=filtered-query&assignee=bob")) == []
    assert ids(query(client, "_queryId=filtered-query&assignee=zoe")) == [three["B"]]
    expect(call(client, "PUT", f"taskinstance/{three['B']}", {"assignee": None}), 200)
    assert ids(query(client, "_queryId=filtered-query&assignee=zoe")) == []
    assert three["B"] in ids(query(client, "_queryId=filtered-query&unassigned=true"))


# --- read --------------------------------------------------------------------------------------


def test_read_adds_form_values_variables_candidates_and_etag(client, three):
    response = call(client, "GET", f"taskinstance/{three['A']}", headers=ADMIN)
    item = expect(response, 200)
    assert response.headers["ETag"] == '"1"' and item["_rev"] == "1"
    assert ITEM_KEYS <= set(item)
    assert item["formProperties"] == [{"decision": None}, {"who": "ann"}]
    assert item["variables"] == {"who": "ann", "starter": "starter-user"}
    assert item["processVariables"] == item["variables"]
    assert item["candidates"] == {
        "candidateUsers": ["bob"],
        "candidateGroups": ["managers", "internal/role/hr"],
    }


@pytest.mark.parametrize(
    "task_id", ["nosuchtask", "01jaaaaaaaaaaaaaaaaaaaaaaa.01jaaaaaaaaaaaaaaaaaaaaaaa"]
)
def test_read_unknown_is_404(client, three, task_id):
    expect(call(client, "GET", f"taskinstance/{task_id}", headers=ADMIN), 404, task_id)


# --- update ------------------------------------------------------------------------------------


def test_update_changes_fields_bumps_rev_and_history(client, container, three):
    task_id = three["A"]
    response = call(
        client,
        "PUT",
        f"taskinstance/{task_id}",
        {
            "name": "Renamed",
            "description": "d",
            "category": "c",
            "priority": "70",
            "dueDate": "2031-05-01T10:00:00+02:00",
            "owner": None,
        },
    )
    assert expect(response, 200) == {"_id": task_id, "Task updated": task_id}
    assert response.headers["ETag"] == '"2"'
    item = expect(call(client, "GET", f"taskinstance/{task_id}", headers=ADMIN), 200)
    assert (item["name"], item["description"], item["category"], item["priority"]) == (
        "Renamed",
        "d",
        "c",
        70,
    )
    assert item["dueDate"] == "2031-05-01T08:00:00.000Z" and item["owner"] is None
    assert item["_rev"] == "2"
    historic = container.store.get(Table.HISTORY, three["instances"]["A"], f"task#{task_id}")
    assert historic.data["name"] == "Renamed" and historic.data["priority"] == 70


def test_update_if_match(client, three):
    path = f"taskinstance/{three['A']}"
    expect(call(client, "PUT", path, {"name": "x"}, **{"If-Match": '"1"'}), 200)
    expect(call(client, "PUT", path, {"name": "y"}, **{"If-Match": '"1"'}), 412, "revision 2")
    item = expect(call(client, "GET", path, headers=ADMIN), 200)
    assert item["name"] == "x" and item["_rev"] == "2"
    expect(call(client, "PUT", path, {"name": "z"}, **{"If-Match": "*"}), 200)
    expect(
        call(client, "PUT", path, {"name": "w"}, **{"If-None-Match": "*"}), 412, "already exists"
    )


@pytest.mark.parametrize(
    "payload, fragment",
    [
        ({"assignee": "bob", "businessKey": "x"}, "'businessKey'"),
        ({"assignee": "bob", "candidates": {}, "startUserId": "x"}, "'startUserId'"),
        ({}, "at least one"),
        ({"_id": "x"}, "at least one"),
        ({"candidates": {"candidateUsers": []}, "variables": {}}, "at least one"),
        ({"priority": "high"}, "'priority'"),
        ({"priority": True}, "'priority'"),
        ({"dueDate": "soon"}, "'dueDate'"),
        ({"name": 5}, "'name'"),
        ({"assignee": 3}, "'assignee'"),
    ],
)
def test_update_bad_input_is_400_and_changes_nothing(client, three, payload, fragment):
    expect(call(client, "PUT", f"taskinstance/{three['A']}", payload), 400, fragment)
    assert (
        expect(call(client, "GET", f"taskinstance/{three['A']}", headers=ADMIN), 200)["_rev"] == "1"
    )


def test_update_unknown_is_404(client, three):
    expect(call(client, "PUT", f"taskinstance/{three['A']}x", {"name": "x"}), 404)
    expect(
        call(
            client,
            "PUT",
            f"taskinstance/{three['instances']['A']}.01jaaaaaaaaaaaaaaaaaaaaaaa",
            {"name": "x"},
        ),
        404,
        "not found",
    )


# --- claim -------------------------------------------------------------------------------------


def test_claim_sets_assignee_and_claim_time(client, container, three):
    path = f"taskinstance/{three['A']}?_action=claim"
    assert expect(call(client, "POST", path, {"userId": "carol"}), 200) == {
        "Task action performed": "claim"
    }
    item = expect(call(client, "GET", f"taskinstance/{three['A']}", headers=ADMIN), 200)
    assert item["assignee"] == "carol" and item["claimTime"] == "2026-01-01T00:00:00.000Z"
    expect(
        call(client, "POST", path, {"userId": "dave"}),
        409,
        f"Task {three['A']} is already claimed by carol",
    )
    expect(call(client, "POST", path, {"userId": "carol"}), 200)


@pytest.mark.parametrize("payload", [{}, {"userId": ""}, {"userId": 7}, {"user": "bob"}])
def test_claim_without_user_id_is_400(client, three, payload):
    expect(
        call(client, "POST", f"taskinstance/{three['A']}?_action=claim", payload), 400, "'userId'"
    )


def test_claim_unknown_is_404_and_unknown_action_400(client, three):
    expect(call(client, "POST", "taskinstance/nosuch?_action=claim", {"userId": "x"}), 404)
    expect(
        call(client, "POST", f"taskinstance/{three['A']}?_action=steal", {}), 400, "Unknown action"
    )


# --- complete ----------------------------------------------------------------------------------


def test_complete_advances_the_process(client, container, three):
    instance_id = three["instances"]["A"]
    response = call(
        client,
        "POST",
        f"taskinstance/{three['A']}?_action=complete",
        {"decision": "accept", "note": {"free": "form"}},
    )
    assert expect(response, 200) == {"Task action performed": "complete"}
    expect(call(client, "GET", f"taskinstance/{three['A']}", headers=ADMIN), 404)
    [welcome] = query(client, f"_queryId=filtered-query&processInstanceId={instance_id}")["result"]
    assert welcome["name"] == "Welcome" and welcome["assignee"] == "starter-user"
    read = expect(call(client, "GET", f"taskinstance/{welcome['_id']}", headers=ADMIN), 200)
    assert read["variables"]["decision"] == "accept"  # set in the instance scope
    historic = container.store.get(Table.HISTORY, instance_id, f"task#{three['A']}")
    assert historic.data["endTime"] is not None
    assert historic.data["taskLocalVariables"] == {"decision": "accept", "note": {"free": "form"}}
    expect(call(client, "POST", f"taskinstance/{three['A']}?_action=complete", {}), 404)


@pytest.mark.parametrize(
    "payload, kind", [({"decision": "maybe"}, "no-outgoing-flow"), ({}, "expression")]
)
def test_process_failure_is_400_with_detail_and_nothing_changes(
    client, container, three, payload, kind
):
    before = container.store.query(Table.RUNTIME, three["instances"]["A"]).items
    data = expect(call(client, "POST", f"taskinstance/{three['A']}?_action=complete", payload), 400)
    assert data["detail"]["type"] == kind and data["detail"]["activityId"] == "gw"
    after = container.store.query(Table.RUNTIME, three["instances"]["A"]).items
    assert [(i.sk, i.data) for i in after] == [(i.sk, i.data) for i in before]


def test_complete_body_must_be_an_object(client, three):
    response = client.http.post(
        f"{WF}/taskinstance/{three['A']}?_action=complete", headers=JSON_ADMIN, body="[1, 2]"
    )
    expect(response, 400)


# --- delete and collection operations ----------------------------------------------------------


def test_delete_is_409_for_process_tasks_and_404_when_unknown(client, three):
    expect(
        call(client, "DELETE", f"taskinstance/{three['A']}", headers=ADMIN),
        409,
        f"Task {three['A']} belongs to a running process instance and cannot be deleted",
    )
    expect(call(client, "GET", f"taskinstance/{three['A']}", headers=ADMIN), 200)
    expect(call(client, "DELETE", "taskinstance/nosuch", headers=ADMIN), 404)


@pytest.mark.parametrize(
    "method, path, code",
    [
        ("PUT", "taskinstance", 400),
        ("DELETE", "taskinstance", 400),
        ("GET", "taskinstance", 400),
        ("PATCH", "taskinstance/x", 501),
        ("POST", "taskinstance/history/x?_action=claim", 400),  # Unknown action (DECISIONS.md)
    ],
)
def test_unsupported_operations(client, method, path, code):
    expect(call(client, method, path, {}), code)
