"""``processinstance/{id}?_action=validateMigration`` and ``?_action=migrate`` over moto."""

from __future__ import annotations

import json

import pytest

from chalicelib.service.repositories import history as activity_history
from chalicelib.service.repositories.jobs import job_key
from chalicelib.storage.ports import Table
from tests.support.rest import ADMIN, WF, expect

JSON = {**ADMIN, "Content-Type": "application/json"}

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?><definitions '
    'xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:flowable="http://flowable.org/bpmn" targetNamespace="Tests">'
    '<process id="expense" name="Expense" isExecutable="true"><startEvent id="s"/>'
    '<sequenceFlow id="f0" sourceRef="s" targetRef="review"/>'
)
#: v1: review (with a one-hour boundary timer) -> end
V1 = (
    HEAD + '<userTask id="review" name="Review"/>'
    '<boundaryEvent id="late" attachedToRef="review"><timerEventDefinition>'
    "<timeDuration>PT1H</timeDuration></timerEventDefinition></boundaryEvent>"
    '<sequenceFlow id="f1" sourceRef="late" targetRef="end"/>'
    '<sequenceFlow id="f2" sourceRef="review" targetRef="end"/>'
    '<endEvent id="end"/></process></definitions>'
)
#: v2: the same review and timer, then approve; an alternative task ``audit``
V2 = (
    HEAD + '<userTask id="review" name="Review"/>'
    '<boundaryEvent id="late" attachedToRef="review"><timerEventDefinition>'
    "<timeDuration>PT1H</timeDuration></timerEventDefinition></boundaryEvent>"
    '<sequenceFlow id="f1" sourceRef="late" targetRef="end"/>'
    '<sequenceFlow id="f2" sourceRef="review" targetRef="approve"/>'
    '<userTask id="approve" name="Approve"/>'
    '<sequenceFlow id="f3" sourceRef="approve" targetRef="end"/>'
    '<userTask id="audit" name="Audit ${auditor}"/>'
    '<sequenceFlow id="f4" sourceRef="audit" targetRef="end"/>'
    '<endEvent id="end"/></process></definitions>'
)
#: v3: no review
V3 = (
    HEAD.replace('targetRef="review"', 'targetRef="other"')
    + '<userTask id="other"/><sequenceFlow id="f1" sourceRef="other" targetRef="end"/>'
    '<endEvent id="end"/></process></definitions>'
)


def _call(client, method: str, path: str, payload=None, headers=None):
    body = None if payload is None else json.dumps(payload).encode()
    return client.http.request(method, f"{WF}/{path}", headers=headers or JSON, body=body)


def deploy(client, name: str, text: str) -> str:
    """Store ``text`` as a model and deploy it (as ``test_conformance_rest``); the definition id."""
    model = expect(
        _call(client, "POST", "model", {"name": name, "bpmnXML": text, "resourceMap": {}}), 201
    )
    deployed = expect(_call(client, "POST", f"model/{model['_id']}?_action=deploy"), 200)
    [definition_id] = deployed["processDefinitionIds"]
    return definition_id


def start(client) -> str:
    return expect(_call(client, "POST", "processinstance", {"_key": "expense"}), 201)["_id"]


def action(client, instance_id: str, name: str, body, headers=None):
    return _call(client, "POST", f"processinstance/{instance_id}?_action={name}", body, headers)


def open_tasks(client, instance_id: str) -> list[dict]:
    page = expect(
        _call(client, "GET", f"taskinstance?_queryFilter=processInstanceId+eq+%22{instance_id}%22"),
        200,
    )
    return page["result"]


@pytest.fixture
def versions(client):
    """v1 deployed, an instance of it started, then v2 and v3 deployed."""
    v1 = deploy(client, "expense-v1", V1)
    instance_id = start(client)
    v2 = deploy(client, "expense-v2", V2)
    v3 = deploy(client, "expense-v3", V3)
    return instance_id, v1, v2, v3


def test_validate_migration_valid_and_invalid(client, versions):
    instance_id, v1, v2, v3 = versions
    valid = expect(
        action(client, instance_id, "validateMigration", {"processDefinitionId": v2}), 200
    )
    assert valid == {"migrationValid": True, "validationMessages": []}
    invalid = expect(action(client, instance_id, "validateMigration", {}), 200)  # latest: v3
    assert invalid == {
        "migrationValid": False,
        "validationMessages": [
            f"Process instance (id:'{instance_id}') has a running Activity (id:'review') that is "
            f"not mapped for migration"
        ],
    }
    mapped = {"fromActivityIdMap": {"review": {"toActivityId": "other"}}}
    assert expect(action(client, instance_id, "validateMigration", mapped), 200)["migrationValid"]
    bad_target = {
        "processDefinitionId": v2,
        "fromActivityIdMap": {"review": {"toActivityId": "nowhere"}},
    }
    messages = expect(action(client, instance_id, "validateMigration", bad_target), 200)[
        "validationMessages"
    ]
    assert messages == [
        f"Invalid mapping for 'review' to 'nowhere', cannot be found in the "
        f"process definition with id '{v2}'"
    ]
    read = expect(_call(client, "GET", f"processinstance/{instance_id}"), 200)
    assert read["processDefinitionId"] == v1  # validation changes nothing


def test_migrate_auto_maps_the_task_and_updates_every_reference(client, container, versions):
    instance_id, v1, v2, _ = versions
    [task] = open_tasks(client, instance_id)
    [job] = expect(_call(client, "GET", "job?_queryFilter=true"), 200)["result"]
    assert job["processDefinitionId"] == v1
    body = expect(
        action(
            client, instance_id, "migrate", {"processDefinitionId": v2, "variables": {"amount": 12}}
        ),
        200,
    )
    read = expect(_call(client, "GET", f"processinstance/{instance_id}"), 200)
    assert body == read
    assert body["processDefinitionId"] == v2 and body["processVariables"]["amount"] == 12
    [historic] = body["tasks"]
    assert historic["_id"] == task["_id"] and historic["processDefinitionId"] == v2
    [kept] = open_tasks(client, instance_id)
    assert kept["_id"] == task["_id"] and kept["processDefinitionId"] == v2
    history = expect(_call(client, "GET", f"processinstance/history/{instance_id}"), 200)
    assert history["processDefinitionId"] == v2
    # the identical boundary timer keeps its job; the stored job names the new definition
    stored = container.store.get(Table.RUNTIME, *job_key(job["_id"]))
    assert stored.data["processDefinitionId"] == v2 and stored.data["dueDate"] == job["dueDate"]
    # and it moved to the new definition's job partition (queries by definition read it)
    by_new = expect(
        _call(client, "GET", f"job?_queryId=filtered-query&processDefinitionId={v2}"), 200
    )
    assert [j["_id"] for j in by_new["result"]] == [job["_id"]]
    by_old = expect(
        _call(client, "GET", f"job?_queryId=filtered-query&processDefinitionId={v1}"), 200
    )
    assert by_old["result"] == []
    activities = activity_history.read(container.store, instance_id)
    assert activities and {a["processDefinitionId"] for a in activities} == {v2}
    expect(_call(client, "POST", f"taskinstance/{task['_id']}?_action=complete", {}), 200)
    assert [t["name"] for t in open_tasks(client, instance_id)] == ["Approve"]


def test_migrate_with_a_mapping_moves_the_task(client, versions):
    instance_id, _, v2, _ = versions
    [task] = open_tasks(client, instance_id)
    body = expect(
        action(
            client,
            instance_id,
            "migrate",
            {
                "processDefinitionId": v2,
                "variables": {"auditor": "kim"},
                "fromActivityIdMap": {
                    "review": {"toActivityId": "audit", "localVariables": {"why": "spot check"}}
                },
            },
        ),
        200,
    )
    assert body["processDefinitionId"] == v2
    by_id = {t["_id"]: t for t in body["tasks"]}
    assert by_id[task["_id"]]["deleteReason"] == "Change activity to audit"
    assert by_id[task["_id"]]["endTime"] is not None
    [moved] = open_tasks(client, instance_id)
    assert moved["_id"] != task["_id"] and moved["name"] == "Audit kim"
    assert moved["taskDefinitionKey"] == "audit" and moved["processDefinitionId"] == v2
    jobs = expect(_call(client, "GET", "job?_queryFilter=true"), 200)["result"]
    assert jobs == []  # the boundary timer of the cancelled review went with it


def test_migrate_invalid_is_400_with_the_messages(client, versions):
    instance_id, v1, _, v3 = versions
    response = action(client, instance_id, "migrate", {"processDefinitionId": v3})
    error = expect(response, 400)
    assert error["detail"]["validationMessages"] == [
        f"Process instance (id:'{instance_id}') has a running Activity (id:'review') that is "
        f"not mapped for migration"
    ]
    read = expect(_call(client, "GET", f"processinstance/{instance_id}"), 200)
    assert read["processDefinitionId"] == v1 and len(open_tasks(client, instance_id)) == 1


@pytest.mark.parametrize("name", ["migrate", "validateMigration"])
def test_unknown_ended_and_malformed(client, versions, name):
    instance_id, _, v2, _ = versions
    expect(action(client, "nosuch", name, {"processDefinitionId": v2}), 404)
    expect(
        action(client, instance_id, name, {"processDefinitionId": "expense:9:nope"}),
        400,
        "processDefinitionId",
    )
    expect(
        action(client, instance_id, name, {"processDefinitionId": 3}), 400, "processDefinitionId"
    )
    expect(
        action(client, instance_id, name, {"fromActivityIdMap": {"review": {}}}),
        400,
        "fromActivityIdMap.review",
    )
    expect(
        action(
            client,
            instance_id,
            name,
            {"fromActivityIdMap": {"review": {"toActivityId": "audit", "localVariables": [1]}}},
        ),
        400,
        "fromActivityIdMap.review.localVariables",
    )
    expect(action(client, instance_id, name, {"variables": "x"}), 400, "variables")
    expect(_call(client, "DELETE", f"processinstance/{instance_id}"), 200)
    expect(action(client, instance_id, name, {"processDefinitionId": v2}), 404)


def test_non_administrators_are_refused(user_client):
    client, _ = user_client
    alice = {
        "X-OpenIDM-Username": "alice",
        "X-OpenIDM-Password": "alice-secret",
        "Content-Type": "application/json",
    }
    deploy(client, "expense-v1", V1)
    instance_id = start(client)
    v2 = deploy(client, "expense-v2", V2)
    for name in ("migrate", "validateMigration"):
        expect(action(client, instance_id, name, {"processDefinitionId": v2}, alice), 403)
    read = expect(_call(client, "GET", f"processinstance/{instance_id}"), 200)
    assert read["processDefinitionId"] != v2


BROKEN = (
    '<?xml version="1.0" encoding="UTF-8"?><definitions '
    'xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:flowable="http://flowable.org/bpmn" targetNamespace="Tests">'
    '<process id="nightly" isExecutable="true"><startEvent id="s"/>'
    '<sequenceFlow id="f0" sourceRef="s" targetRef="work"/>'
    '<scriptTask id="work" scriptFormat="javascript" flowable:async="true">'
    "<script>{script}</script></scriptTask>"
    '<sequenceFlow id="f1" sourceRef="work" targetRef="done"/>'
    '<userTask id="done"/><sequenceFlow id="f2" sourceRef="done" targetRef="end"/>'
    '<endEvent id="end"/></process></definitions>'
)


def test_a_dead_letter_job_follows_the_migration_and_runs_the_fixed_definition(client, container):
    """A broken async script exhausts its retries; migrating to a fixed version re-points the
    dead-letter job, and moving it back runs the new definition's script."""
    broken = deploy(client, "nightly-v1", BROKEN.format(script='throw new Error("boom");'))
    instance_id = expect(_call(client, "POST", "processinstance", {"_key": "nightly"}), 201)["_id"]
    [job] = expect(_call(client, "GET", "job?_queryFilter=true"), 200)["result"]
    outcomes = [
        expect(_call(client, "POST", f"job/{job['_id']}?_action=execute"), 200)["status"]
        for _ in range(3)
    ]
    assert outcomes == ["failed", "failed", "deadletter"]
    fixed = deploy(
        client, "nightly-v2", BROKEN.format(script='execution.setVariable("fixed", true);')
    )
    assert broken != fixed
    migrated = expect(action(client, instance_id, "migrate", {}), 200)
    assert migrated["processDefinitionId"] == fixed
    dead = expect(_call(client, "GET", f"job/deadletter/{job['_id']}"), 200)
    assert dead["processDefinitionId"] == fixed
    moved = expect(_call(client, "POST", f"job/deadletter/{job['_id']}?_action=execute"), 200)
    assert moved["status"] == "moved"
    assert (
        expect(_call(client, "POST", f"job/{job['_id']}?_action=execute"), 200)["status"]
        == "executed"
    )
    read = expect(_call(client, "GET", f"processinstance/{instance_id}"), 200)
    assert read["processVariables"]["fixed"] is True
    assert [t["taskDefinitionKey"] for t in open_tasks(client, instance_id)] == ["done"]
