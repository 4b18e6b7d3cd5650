"""``processinstance`` start, read and cancel; ``processinstance/history`` read and delete."""

from __future__ import annotations

import json

import pytest

from chalicelib import aws
from chalicelib.storage.ports import Table
from tests.support.instances import QUICK, WAITING, deploy, start
from tests.support.rest import ADMIN, ANONYMOUS, WF, expect

JSON = {**ADMIN, "Content-Type": "application/json"}


FAILING = WAITING.replace('execution.setVariable("prepared"', 'undefinedThing(); ("prepared"')


@pytest.fixture
def onboard(container) -> str:
    return deploy(container)


# --- start -----------------------------------------------------------------------------------


def test_start_by_key_waits_and_returns_201_with_location(client, container, onboard):
    response = start(client, {"_key": "onboard", "_businessKey": "bk-1", "foo": "bar"})
    data = expect(response, 201)
    assert set(data) == {"_id", "processInstanceId", "status", "businessKey", "processDefinitionId"}
    assert data["status"] == "suspended" and data["businessKey"] == "bk-1"
    assert data["processDefinitionId"] == onboard and data["_id"] == data["processInstanceId"]
    assert response.headers["Location"] == f"{WF}/processinstance/{data['_id']}"
    read = expect(client.http.get(f"{WF}/processinstance/{data['_id']}", headers=ADMIN), 200)
    assert read["startUserId"] == "openidm-admin"
    assert read["processVariables"] == {
        "foo": "bar",
        "initiator": "openidm-admin",
        "prepared": "yes openidm-admin",
    }


def test_start_by_definition_id_picks_that_version(client, container, onboard):
    newer = deploy(container, name="Onboarding v2")
    assert newer != onboard
    data = expect(start(client, {"_processDefinitionId": onboard}, action=False), 201)
    assert data["processDefinitionId"] == onboard
    latest = expect(start(client, {"_key": "onboard"}), 201)
    assert latest["processDefinitionId"] == newer


def test_start_that_runs_to_the_end_says_ended(client, container):
    deploy(container, "quick", bpmn=QUICK)
    data = expect(start(client, {"_key": "quick"}), 201)
    assert data["status"] == "ended"
    # as IDM: a finished instance is still readable at processinstance/{id} (from history)
    ended = expect(client.http.get(f"{WF}/processinstance/{data['_id']}", headers=ADMIN), 200)
    assert ended["endActivityId"] == "e" and ended["endTime"] is not None
    assert ended["tasks"] == []
    history = expect(
        client.http.get(f"{WF}/processinstance/history/{data['_id']}", headers=ADMIN), 200
    )
    assert history["endActivityId"] == "e" and history["endTime"] is not None


@pytest.mark.parametrize(
    "payload, fragment",
    [
        ({"foo": 1}, "_key' and '_processDefinitionId"),
        ({"_key": "onboard", "_processDefinitionId": "x:1:y"}, "_key' and '_processDefinitionId"),
        ({"_key": 5}, "'_key'"),
        ({"_key": ""}, "'_key'"),
        ({"_key": "onboard", "_businessKey": ["x"]}, "'_businessKey'"),
    ],
)
def test_bad_start_bodies_are_400_naming_the_field(client, onboard, payload, fragment):
    expect(start(client, payload), 400, fragment)


def test_non_object_body_is_400(client, onboard):
    response = client.http.post(
        f"{WF}/processinstance?_action=create", headers=JSON, body=b'["_key"]'
    )
    expect(response, 400, "JSON object")


def test_unknown_key_or_definition_is_404(client, onboard):
    expect(start(client, {"_key": "nosuch"}), 404, "nosuch")
    expect(start(client, {"_processDefinitionId": "nosuch:1:abc"}), 404, "nosuch:1:abc")


def test_process_failure_is_400_with_detail_and_writes_nothing(client, container):
    deploy(container, "failing", bpmn=FAILING.format(key="failing", name="Failing"))
    data = expect(start(client, {"_key": "failing"}), 400)
    assert data["detail"]["type"] == "script" and data["detail"]["activityId"] == "prepare"
    listed = expect(client.http.get(f"{WF}/processinstance?_queryFilter=true", headers=ADMIN), 200)
    assert listed["result"] == []


def test_date_strings_are_normalised_other_strings_kept(client, onboard):
    data = expect(
        start(
            client,
            {
                "_key": "onboard",
                "when": "2015-07-28T14:36:08.087+02:00",
                "utc": "2026-11-27T20:17:13.123Z",
                "day": "2026-11-27",
                "text": "not a date but twenty-six!",
            },
        ),
        201,
    )
    variables = expect(client.http.get(f"{WF}/processinstance/{data['_id']}", headers=ADMIN), 200)[
        "processVariables"
    ]
    assert variables["when"] == "2015-07-28T12:36:08.087Z"
    assert variables["utc"] == "2026-11-27T20:17:13.123Z"
    assert variables["day"] == "2026-11-27" and variables["text"] == "not a date but twenty-six!"


# --- idempotency -----------------------------------------------------------------------------


def _with_key(key: str) -> dict:
    return {**JSON, "Idempotency-Key": key}


def _running_ids(client) -> list[str]:
    data = expect(
        client.http.get(f"{WF}/processinstance?_queryId=query-all-ids", headers=ADMIN), 200
    )
    return [item["_id"] for item in data["result"]]


def test_same_key_and_body_replays_the_first_response(client, onboard):
    first = start(client, {"_key": "onboard", "a": 1}, headers=_with_key("k-1"))
    again = start(client, {"a": 1, "_key": "onboard"}, headers=_with_key("k-1"))
    assert first.status_code == again.status_code == 201
    assert json.loads(first.body) == json.loads(again.body)
    assert _running_ids(client) == [json.loads(first.body)["_id"]]
    other = expect(start(client, {"_key": "onboard", "a": 1}, headers=_with_key("k-2")), 201)
    assert other["_id"] != json.loads(first.body)["_id"]


def test_same_key_with_another_body_is_409(client, onboard):
    expect(start(client, {"_key": "onboard", "a": 1}, headers=_with_key("k")), 201)
    expect(
        start(client, {"_key": "onboard", "a": 2}, headers=_with_key("k")),
        409,
        "another request body",
    )
    assert len(_running_ids(client)) == 1


def test_key_is_scoped_to_the_caller(user_client):
    client, container = user_client
    deploy(container, "openThing")
    mine = expect(
        start(client, {"_key": "openThing"}, headers={**ALICE, **_json(), "Idempotency-Key": "k"}),
        201,
    )
    admins = expect(start(client, {"_key": "openThing"}, headers=_with_key("k")), 201)
    assert mine["_id"] != admins["_id"]


def test_failed_request_releases_the_key(client, container):
    deploy(container, "failing", bpmn=FAILING.format(key="failing", name="Failing"))
    expect(start(client, {"_key": "failing"}, headers=_with_key("retry")), 400)
    deploy(container, "failing", bpmn=WAITING.format(key="failing", name="Fixed"))
    expect(start(client, {"_key": "failing"}, headers=_with_key("retry")), 201)


def test_key_while_first_request_runs_is_409(client, container, onboard):
    from chalicelib.service import idempotency
    from chalicelib.service.instances import lifecycle as process_instances

    body = {"_key": "onboard"}
    claim = idempotency.begin(
        container, "openidm-admin", process_instances.ROUTE_CREATE, "busy", body
    )
    assert isinstance(claim, idempotency.Claim)
    expect(start(client, body, headers=_with_key("busy")), 409, "still running")
    container.clock.advance(minutes=16)  # an abandoned claim may be taken over
    expect(start(client, body, headers=_with_key("busy")), 201)


def test_window_is_24_hours_from_the_stored_time(client, container, onboard):
    first = expect(start(client, {"_key": "onboard"}, headers=_with_key("day")), 201)
    container.clock.advance(hours=23)
    assert expect(start(client, {"_key": "onboard"}, headers=_with_key("day")), 201) == first
    container.clock.advance(hours=2)  # the item may still exist (TTL lags): it is ignored
    later = expect(start(client, {"_key": "onboard"}, headers=_with_key("day")), 201)
    assert later["_id"] != first["_id"]


def test_record_is_written_with_the_instance_in_one_transaction(client, container, onboard):
    from chalicelib.service import idempotency

    start(client, {"_key": "onboard"})  # warm the definition cache
    with aws.counting() as counter:
        data = expect(start(client, {"_key": "onboard"}, headers=_with_key("tx")), 201)
    counts = counter.counts["dynamodb"]
    assert counts.get("TransactWriteItems") == 2, counts  # the claim, then instance + record
    pk = idempotency.scoped_pk("openidm-admin", "POST processinstance", "tx")
    item = container.store.get(Table.RUNTIME, pk, "#idem")
    assert item.data["state"] == "done" and item.data["response"]["body"] == data
    assert item.ttl is not None


@pytest.mark.parametrize("key", ["", "x" * 256])
def test_bad_idempotency_key_is_400(client, onboard, key):
    expect(start(client, {"_key": "onboard"}, headers=_with_key(key)), 400, "Idempotency-Key")


# --- read and delete -------------------------------------------------------------------------


def test_read_has_every_task_in_the_historic_task_shape(client, onboard):
    from chalicelib.service.tasks.shapes import HISTORY_TASK_FIELDS

    data = expect(start(client, {"_key": "onboard", "x": 1}), 201)
    read = expect(client.http.get(f"{WF}/processinstance/{data['_id']}", headers=ADMIN), 200)
    assert read["processDefinitionResourceName"] == "Onboarding"
    assert read["startActivityId"] == "begin" and read["endTime"] is None
    [task] = read["tasks"]
    assert set(task) == set(HISTORY_TASK_FIELDS)
    assert task["taskDefinitionKey"] == "approve" and task["name"] == "Approve"
    assert task["processInstanceId"] == data["_id"] and task["endTime"] is None
    assert task["processVariables"]["x"] == 1


def test_delete_cancels_and_history_keeps_the_reason(client, onboard):
    data = expect(start(client, {"_key": "onboard"}), 201)
    url = f"{WF}/processinstance/{data['_id']}"
    before = expect(client.http.delete(url, headers=ADMIN), 200)
    assert before["_id"] == data["_id"] and before["endTime"] is None
    assert before["processVariables"]["initiator"] == "openidm-admin"
    cancelled = expect(client.http.get(url, headers=ADMIN), 200)  # read from history now
    assert cancelled["deleteReason"] == "Deleted by openidm-admin"
    [task] = cancelled["tasks"]  # the cancelled task, in the historic task shape
    assert task["endTime"] is not None and task["deleteReason"] is not None
    expect(client.http.delete(url, headers=ADMIN), 404)
    history = expect(
        client.http.get(f"{WF}/processinstance/history/{data['_id']}", headers=ADMIN), 200
    )
    assert history["deleteReason"] == "Deleted by openidm-admin"
    assert history["endTime"] is not None and history["durationInMillis"] is not None


def test_delete_with_a_reason_parameter(client, onboard):
    data = expect(start(client, {"_key": "onboard"}), 201)
    expect(
        client.http.delete(
            f"{WF}/processinstance/{data['_id']}?deleteReason=Obsolete", headers=ADMIN
        ),
        200,
    )
    history = expect(
        client.http.get(f"{WF}/processinstance/history/{data['_id']}", headers=ADMIN), 200
    )
    assert history["deleteReason"] == "Obsolete"


def test_unknown_instance_is_404(client, onboard):
    expect(client.http.get(f"{WF}/processinstance/nosuch", headers=ADMIN), 404, "nosuch")
    expect(client.http.delete(f"{WF}/processinstance/nosuch", headers=ADMIN), 404, "nosuch")


def test_unsupported_operations(client, onboard):
    data = expect(start(client, {"_key": "onboard"}), 201)
    expect(client.http.put(f"{WF}/processinstance/{data['_id']}", headers=JSON, body=b"{}"), 501)
    expect(client.http.get(f"{WF}/processinstance", headers=ADMIN), 400, "cannot be read")
    expect(client.http.delete(f"{WF}/processinstance", headers=ADMIN), 400, "cannot be deleted")


# --- history read and delete -----------------------------------------------------------------


def test_history_read_and_delete(client, container, onboard):
    data = expect(start(client, {"_key": "onboard", "color": "blue"}), 201)
    url = f"{WF}/processinstance/history/{data['_id']}"
    running = expect(client.http.get(url, headers=ADMIN), 200)
    assert running["endTime"] is None and running["processVariables"]["color"] == "blue"
    expect(client.http.delete(url, headers=ADMIN), 409, "still running")
    expect(client.http.delete(f"{WF}/processinstance/{data['_id']}", headers=ADMIN), 200)
    deleted = expect(client.http.delete(url, headers=ADMIN), 200)
    assert deleted["_id"] == data["_id"] and deleted["deleteReason"] == "Deleted by openidm-admin"
    assert container.store.query(Table.HISTORY, data["_id"]).items == []
    expect(client.http.get(url, headers=ADMIN), 404)
    expect(client.http.delete(url, headers=ADMIN), 404)


# --- authorization ---------------------------------------------------------------------------

ALICE = {"X-OpenIDM-Username": "alice", "X-OpenIDM-Password": "alice-secret"}


def _json() -> dict:
    return {"Content-Type": "application/json"}


def test_anonymous_is_403_everywhere(client, onboard):
    headers = {**ANONYMOUS, **_json()}
    expect(start(client, {"_key": "onboard"}, headers=headers), 403)
    expect(client.http.get(f"{WF}/processinstance?_queryFilter=true", headers=ANONYMOUS), 403)
    expect(
        client.http.get(f"{WF}/processinstance/history?_queryFilter=true", headers=ANONYMOUS), 403
    )
    expect(client.http.get(f"{WF}/processinstance/x", headers=ANONYMOUS), 403)


def test_authorized_user_starts_only_granted_definitions(user_client):
    client, container = user_client
    deploy(container, "openThing")
    deploy(container, "secret")
    headers = {**ALICE, **_json()}
    data = expect(start(client, {"_key": "openThing"}, headers=headers), 201)
    expect(start(client, {"_key": "secret"}, headers=headers), 403)
    url = f"{WF}/processinstance/{data['_id']}"
    admin = {**ADMIN, "X-OpenIDM-Username": "openidm-admin"}
    assert expect(client.http.get(url, headers=admin), 200)["startUserId"] == "alice"
    expect(client.http.get(url, headers=ALICE), 403)
    expect(client.http.delete(url, headers=ALICE), 403)
    expect(client.http.get(f"{WF}/processinstance?_queryFilter=true", headers=ALICE), 403)
    expect(client.http.get(f"{WF}/processinstance/history?_queryFilter=true", headers=ALICE), 403)
    expect(client.http.get(f"{WF}/processinstance/history/{data['_id']}", headers=ALICE), 403)
    expect(client.http.delete(f"{WF}/processinstance/history/{data['_id']}", headers=ALICE), 403)
