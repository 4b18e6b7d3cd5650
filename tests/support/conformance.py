"""Drive corpus processes through the REST API as a client would."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.rest import JSON_ADMIN, WF, expect


def _call(client, method: str, path: str, payload=None, headers=None):
    body = None if payload is None else json.dumps(payload).encode()
    return client.http.request(method, f"{WF}/{path}", headers=headers or JSON_ADMIN, body=body)


def deploy(client, corpus: Path, name: str, resources: dict | None = None) -> list[str]:
    """Store ``flowable/<name>`` as a model, deploy it; the new process definition ids."""
    text = (corpus / "flowable" / name).read_text(encoding="utf-8")
    model = expect(
        _call(
            client,
            "POST",
            "model",
            {"name": name.split(".")[0], "bpmnXML": text, "resourceMap": resources or {}},
        ),
        201,
    )
    deployed = expect(_call(client, "POST", f"model/{model['_id']}?_action=deploy"), 200)
    assert deployed["duplicate"] is False and deployed["processDefinitionIds"]
    return deployed["processDefinitionIds"]


def start(client, key: str, **variables) -> dict:
    """``POST processinstance`` by key; the 201 body."""
    return expect(_call(client, "POST", "processinstance", {"_key": key, **variables}), 201)


def open_tasks(client, instance_id: str) -> list[dict]:
    """The instance's open tasks (``filtered-query``), sorted by name."""
    data = expect(
        _call(
            client, "GET", f"taskinstance?_queryId=filtered-query&processInstanceId={instance_id}"
        ),
        200,
    )
    return sorted(data["result"], key=lambda t: (t["name"] or "", t["taskDefinitionKey"]))


def names(client, instance_id: str) -> list[str]:
    return [t["name"] for t in open_tasks(client, instance_id)]


def complete(client, task_id: str, variables: dict | None = None) -> dict:
    return expect(
        _call(client, "POST", f"taskinstance/{task_id}?_action=complete", variables or {}), 200
    )


def instance(client, instance_id: str) -> dict:
    return expect(_call(client, "GET", f"processinstance/{instance_id}"), 200)


def history(client, instance_id: str) -> dict:
    return expect(_call(client, "GET", f"processinstance/history/{instance_id}"), 200)


def task_history(client, instance_id: str) -> list[dict]:
    data = expect(
        _call(
            client,
            "GET",
            f"taskinstance/history?_queryId=filtered-query&processInstanceId={instance_id}",
        ),
        200,
    )
    return data["result"]


def is_running(client, instance_id: str) -> bool:
    data = expect(
        _call(
            client,
            "GET",
            f"processinstance?_queryId=filtered-query&processInstanceId={instance_id}",
        ),
        200,
    )
    return [i["_id"] for i in data["result"]] == [instance_id]


def assert_ended(client, instance_id: str, end_activity: str) -> dict:
    """The instance is over: gone from the running listing, its history has an end."""
    assert not is_running(client, instance_id)
    assert open_tasks(client, instance_id) == []
    record = history(client, instance_id)
    assert record["endTime"] is not None and record["endActivityId"] == end_activity, record
    assert record["deleteReason"] is None
    read = instance(client, instance_id)
    assert read["endTime"] is not None and read["endActivityId"] == end_activity
    return record


def executions(client, instance_id: str) -> list[dict]:
    data = expect(
        _call(client, "GET", f"execution?_queryId=filtered-query&processInstanceId={instance_id}"),
        200,
    )
    return data["result"]


def active_activity_ids(client, instance_id: str) -> list[str]:
    """As Flowable's ``getActiveActivityIds``: the distinct activities executions stand in."""
    return sorted({e["activityId"] for e in executions(client, instance_id) if e["activityId"]})
