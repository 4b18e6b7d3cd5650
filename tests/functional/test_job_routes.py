"""Routes 6-17: ``job`` and ``job/deadletter`` through the test client over moto."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from chalicelib import ids
from chalicelib.service.jobs.items import new_job
from chalicelib.service.jobs.runners import RUNNERS
from chalicelib.service.repositories.jobs import job_done_write
from chalicelib.storage.ports import Put, Table
from tests.support.rest import ADMIN, ANONYMOUS

WF = "/openidm/workflow"
JSON = dict(ADMIN, **{"Content-Type": "application/json"})


def body(response):
    return json.loads(response.body)


@pytest.fixture
def runners(monkeypatch):
    def done(container, item):
        container.store.transact([job_done_write(item)])
        return "done"

    def boom(container, item):
        raise ValueError("no such variable: amount")

    monkeypatch.setitem(RUNNERS, "noop", done)
    monkeypatch.setitem(RUNNERS, "boom", boom)


def add_job(container, handler="noop", *, timer=False, due_in=0, instance=None):
    instance = instance or ids.new_id()
    job_id = ids.child_id(instance)
    now = container.clock.now()
    item = new_job(
        job_id=job_id,
        handler_type=handler,
        created=now,
        due=now + timedelta(seconds=due_in),
        instance_id=instance,
        definition_id="p:1:d",
        execution_id=instance,
        timer=timer,
    )
    container.store.transact([Put(Table.RUNTIME, item)])
    return job_id


def test_query_read_and_filters(client, container, runners):
    timer = add_job(container, timer=True, due_in=3600)
    message = add_job(container)
    everything = body(client.http.get(f"{WF}/job?_queryFilter=true", headers=ADMIN))
    assert {j["_id"] for j in everything["result"]} == {timer, message}
    assert all("stacktrace" not in j for j in everything["result"])
    timers = body(
        client.http.get(f"{WF}/job?_queryId=filtered-query&timersOnly=true", headers=ADMIN)
    )
    assert [j["_id"] for j in timers["result"]] == [timer]
    due = body(
        client.http.get(
            f"{WF}/job?_queryId=filtered-query&dueBefore=2026-01-01T00:30:00Z", headers=ADMIN
        )
    )
    assert [j["_id"] for j in due["result"]] == [message]
    by_instance = body(
        client.http.get(
            f"{WF}/job?_queryFilter=processInstanceId%20eq%20%22{ids.instance_of(timer)}%22",
            headers=ADMIN,
        )
    )
    assert [j["_id"] for j in by_instance["result"]] == [timer]
    read = body(client.http.get(f"{WF}/job/{timer}", headers=ADMIN))
    assert read["_id"] == timer and read["jobType"] == "timer" and read["retries"] == 3


def test_timers_only_with_messages_only_is_400(client, container):
    response = client.http.get(
        f"{WF}/job?_queryId=filtered-query&timersOnly=true&messagesOnly=true", headers=ADMIN
    )
    assert response.status_code == 400
    assert "Cannot combine onlyTimers() with onlyMessages()" in body(response)["message"]


def test_bad_due_date_is_400_naming_it(client, container):
    response = client.http.get(
        f"{WF}/job?_queryId=filtered-query&dueBefore=tomorrow", headers=ADMIN
    )
    assert response.status_code == 400 and "dueBefore" in body(response)["message"]


def test_execute_runs_a_job_even_if_not_due(client, container, runners):
    job_id = add_job(container, due_in=3600)
    response = client.http.post(f"{WF}/job/{job_id}?_action=execute", headers=JSON)
    assert body(response) == {"_id": job_id, "status": "executed"}
    assert client.http.get(f"{WF}/job/{job_id}", headers=ADMIN).status_code == 404


def test_failing_job_to_dead_letter_and_back(client, container, runners):
    job_id = add_job(container, "boom")
    for left in (2, 1):
        outcome = body(client.http.post(f"{WF}/job/{job_id}?_action=execute", headers=JSON))
        assert outcome == {
            "_id": job_id,
            "status": "failed",
            "retries": left,
            "exceptionMessage": "no such variable: amount",
        }
    trace = body(client.http.post(f"{WF}/job/{job_id}?_action=stacktrace", headers=JSON))
    assert "ValueError: no such variable: amount" in trace["stacktrace"]
    last = body(client.http.post(f"{WF}/job/{job_id}?_action=execute", headers=JSON))
    assert last["status"] == "deadletter"
    dead = body(client.http.get(f"{WF}/job/deadletter?_queryFilter=true", headers=ADMIN))
    assert [j["_id"] for j in dead["result"]] == [job_id]
    assert body(client.http.get(f"{WF}/job?_queryFilter=true", headers=ADMIN))["result"] == []
    dead_trace = body(
        client.http.post(f"{WF}/job/deadletter/{job_id}?_action=stacktrace", headers=JSON)
    )
    assert "ValueError" in dead_trace["stacktrace"]
    bad = client.http.post(
        f"{WF}/job/deadletter/{job_id}?_action=execute",
        headers=JSON,
        body=json.dumps({"retries": 0}),
    )
    assert bad.status_code == 400 and "retries" in body(bad)["message"]
    moved = client.http.post(
        f"{WF}/job/deadletter/{job_id}?_action=execute",
        headers=JSON,
        body=json.dumps({"retries": 2}),
    )
    assert body(moved) == {"_id": job_id, "status": "moved"}
    assert body(client.http.get(f"{WF}/job/{job_id}", headers=ADMIN))["retries"] == 2
    assert (
        body(client.http.get(f"{WF}/job/deadletter?_queryFilter=true", headers=ADMIN))["result"]
        == []
    )


def test_delete_returns_the_job_as_it_was(client, container):
    job_id = add_job(container)
    deleted = client.http.delete(f"{WF}/job/{job_id}", headers=ADMIN)
    assert deleted.status_code == 200 and body(deleted)["_id"] == job_id
    assert client.http.delete(f"{WF}/job/{job_id}", headers=ADMIN).status_code == 404
    assert client.http.delete(f"{WF}/job/deadletter/{job_id}", headers=ADMIN).status_code == 404


def test_unknown_action_and_anonymous(client, container):
    job_id = add_job(container)
    response = client.http.post(f"{WF}/job/{job_id}?_action=retry", headers=JSON)
    assert response.status_code == 400 and "Unknown action" in body(response)["message"]
    assert client.http.get(f"{WF}/job?_queryFilter=true", headers=ANONYMOUS).status_code == 403


def counted_get(client, path: str) -> tuple[dict, dict]:
    from chalicelib import aws

    with aws.counting() as counter:
        response = client.http.get(f"{WF}/{path}", headers=ADMIN)
    assert response.status_code == 200, body(response)
    return body(response), dict(counter.counts.get("dynamodb", {}))


def test_query_costs_do_not_grow_with_the_jobs(client, container, runners):
    """A page of the listing is the 8 shard Queries; ``jobId`` one GetItem (dead or not);
    ``processInstanceId`` and ``executionId`` one Query of the instance's collection."""
    from urllib.parse import quote

    def measured(job_id: str, instance: str, dead_id: str) -> dict[str, tuple[str, dict]]:
        return {
            "page": ("job?_queryFilter=true&_pageSize=10", {"Query": 8}),
            "fq jobId": (f"job?_queryId=filtered-query&jobId={job_id}", {"GetItem": 1}),
            "_id eq": ("job?_queryFilter=" + quote(f'_id eq "{job_id}"'), {"GetItem": 1}),
            "fq instance": (
                f"job?_queryId=filtered-query&processInstanceId={instance}",
                {"Query": 1},
            ),
            "fq execution": (
                f"job?_queryId=filtered-query&executionId={instance}",
                {"Query": 1},
            ),
            "instance eq": (
                "job?_queryFilter=" + quote(f'processInstanceId eq "{instance}"'),
                {"Query": 1},
            ),
            "dead page": ("job/deadletter?_queryFilter=true&_pageSize=10", {"Query": 8}),
            "dead jobId": (
                f"job/deadletter?_queryId=filtered-query&jobId={dead_id}",
                {"GetItem": 1},
            ),
        }

    dead_id = add_job(container, "boom")
    for _ in range(3):
        client.http.post(f"{WF}/job/{dead_id}?_action=execute", headers=JSON)
    instance = ids.new_id()
    job_id = add_job(container, instance=instance)
    for _ in range(4):
        add_job(container)
    small = {
        name: counted_get(client, path)
        for name, (path, _) in measured(job_id, instance, dead_id).items()
    }
    for _ in range(30):
        add_job(container)
    for name, (path, cost) in measured(job_id, instance, dead_id).items():
        data, counts = counted_get(client, path)
        assert counts == small[name][1] == cost, name
        assert data["result"] == small[name][0]["result"] or name in ("page",), name
    assert [j["_id"] for j in small["fq jobId"][0]["result"]] == [job_id]
    assert [j["_id"] for j in small["fq execution"][0]["result"]] == [job_id]
    assert [j["_id"] for j in small["dead jobId"][0]["result"]] == [dead_id]
    assert (
        counted_get(client, f"job/deadletter?_queryId=filtered-query&jobId={job_id}")[0]["result"]
        == []
    )
