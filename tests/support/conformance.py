"""Drive corpus processes through the REST API as a client would."""

from __future__ import annotations

import json
from datetime import datetime
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


# --- events, jobs and text deploys ------------------------------------------------------------


def deploy_text(client, name: str, text: str) -> list[str]:
    """Store ``text`` as a model named ``name`` and deploy it; the new definition ids."""
    model = expect(_call(client, "POST", "model", {"name": name, "bpmnXML": text}), 201)
    deployed = expect(_call(client, "POST", f"model/{model['_id']}?_action=deploy"), 200)
    assert deployed["duplicate"] is False and deployed["processDefinitionIds"]
    return deployed["processDefinitionIds"]


def corpus_text(corpus, name: str, *replacements: tuple[str, str]) -> str:
    text = (corpus / "flowable" / name).read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    return text


def job_list(client, **params: str) -> list[dict]:
    """``job?_queryId=filtered-query`` with ``params``, oldest first."""
    query = "&".join(f"{k}={v}" for k, v in params.items())
    data = expect(_call(client, "GET", f"job?_queryId=filtered-query&{query}"), 200)
    return sorted(data["result"], key=lambda j: (j["createTime"], j["_id"]))


def instance_jobs(client, instance_id: str, **params: str) -> list[dict]:
    return job_list(client, processInstanceId=instance_id, **params)


def timer_start_jobs(client, definition_id: str) -> list[dict]:
    return job_list(client, processDefinitionId=definition_id, timersOnly="true")


def execute(client, job_id: str) -> None:
    """``job/{id}?_action=execute``: it ran, and the job is gone."""
    outcome = expect(_call(client, "POST", f"job/{job_id}?_action=execute"), 200)
    assert outcome == {"_id": job_id, "status": "executed"}, outcome
    expect(_call(client, "GET", f"job/{job_id}"), 404)


def run_all_jobs(client, rounds: int = 10) -> int:
    """Execute every listed job until none is left (a broadcast fans out into more jobs);
    the number of jobs run."""
    ran = 0
    for _ in range(rounds):
        pending = job_list(client)
        if not pending:
            return ran
        for job in pending:
            execute(client, job["_id"])
            ran += 1
    raise AssertionError("jobs kept appearing")


def act(client, action: str, payload: dict, code: int = 200) -> dict:
    """``execution?_action=message|signal|trigger``."""
    return expect(_call(client, "POST", f"execution?_action={action}", payload), code)


def subscribed(client, kind: str, name: str) -> list[dict]:
    """The executions subscribed to the message / signal ``name`` (``execution`` query)."""
    data = expect(
        _call(
            client,
            "GET",
            f"execution?_queryId=filtered-query&{kind}Name={name.replace(' ', '%20')}",
        ),
        200,
    )
    return data["result"]


def running_of(client, **params: str) -> list[str]:
    """Ids of the running instances matching ``params`` (``processinstance`` query)."""
    query = "&".join(f"{k}={v}" for k, v in params.items())
    data = expect(_call(client, "GET", f"processinstance?_queryId=filtered-query&{query}"), 200)
    return sorted(i["_id"] for i in data["result"])


def due(job: dict) -> datetime:
    return datetime.fromisoformat(job["dueDate"].replace("Z", "+00:00"))


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
