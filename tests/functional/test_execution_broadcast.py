"""A queued signal broadcast fans out in chunks, each one transaction, exactly once per
subscription, through the queue worker."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from chalicelib.errors import ConcurrencyError
from chalicelib.service.events import broadcast as execution_jobs
from chalicelib.service.jobs import actions as jobs
from chalicelib.service.repositories.jobs import job_key
from chalicelib.storage.ports import Table
from tests.support.executions import JSON, WF, deploy, drain, post, start, tasks

INSTANCES = 30


@pytest.fixture
def waiting(container, monkeypatch):
    monkeypatch.setattr(execution_jobs, "CHUNK", 8)  # 30 subscriptions: 4 chunks
    definition = deploy(container, "sigwait")
    return [start(container, definition) for _ in range(INSTANCES)]


def listed_jobs(client) -> list[dict]:
    return json.loads(client.http.get(f"{WF}/job?_queryFilter=true", headers=JSON).body)["result"]


def test_queued_broadcast_reaches_every_instance_through_the_worker(client, container, waiting):
    starting = deploy(container, "sigstart")
    status, body = post(client, "signal", {"signalName": "alert"})
    assert status == 200 and body["status"] == "queued"
    assert [j["jobHandlerType"] for j in listed_jobs(client)] == ["signal-broadcast"]
    drain(container)
    assert all(tasks(container, instance) == ["T"] for instance in waiting)
    started = json.loads(
        client.http.get(
            f"{WF}/processinstance?_queryId=filtered-query&processDefinitionId={starting}",
            headers=JSON,
        ).body
    )
    assert started["resultCount"] == 1
    assert listed_jobs(client) == []  # the broadcast and every delivery deleted themselves


def test_a_rerun_after_a_crash_between_chunks_delivers_once_per_execution(
    client, container, waiting
):
    _, body = post(client, "signal", {"signalName": "alert"})
    pk, sk = job_key(body["jobId"])
    before = container.store.get(Table.RUNTIME, pk, sk)
    after_first = execution_jobs.broadcast_step(container, before)  # then the worker "dies"
    assert after_first is not None
    assert len([j for j in listed_jobs(client) if j["jobHandlerType"] == "deliver-signal"]) == 8
    with pytest.raises(ConcurrencyError):  # a stale copy of the job cannot fan out again
        execution_jobs.broadcast_step(container, before)
    assert jobs.execute(container, body["jobId"])["status"] == "executed"  # resumes at cursor
    deliveries = [j for j in listed_jobs(client) if j["jobHandlerType"] == "deliver-signal"]
    per_execution = Counter(j["executionId"] for j in deliveries)
    assert len(per_execution) == INSTANCES and set(per_execution.values()) == {1}
    assert container.store.get(Table.RUNTIME, pk, sk) is None
    drain(container)
    assert all(tasks(container, instance) == ["T"] for instance in waiting)
    assert listed_jobs(client) == []


def test_a_delivery_whose_subscription_is_gone_is_simply_done(client, container, waiting):
    _, body = post(client, "signal", {"signalName": "alert"})
    jobs.execute(container, body["jobId"])
    # the first instance receives the signal directly before its queued delivery runs
    post(
        client,
        "signal",
        {
            "signalName": "alert",
            "processVariables": {},
            "executionId": next(
                j["executionId"]
                for j in listed_jobs(client)
                if j["processInstanceId"] == waiting[0]
            ),
        },
    )
    drain(container)
    assert listed_jobs(client) == []  # no failed job, nothing dead-lettered
    dead = json.loads(client.http.get(f"{WF}/job/deadletter?_queryFilter=true", headers=JSON).body)
    assert dead["resultCount"] == 0
    assert tasks(container, waiting[0]) == ["T"]
