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
    children = execution_jobs.broadcast_step(container, before)  # then the worker "dies"
    assert 1 <= len(children) <= execution_jobs.FAN_OUT  # the rest of the range, in slices
    assert len([j for j in listed_jobs(client) if j["jobHandlerType"] == "deliver-signal"]) == 8
    with pytest.raises(ConcurrencyError):  # a stale copy of the job cannot fan out again
        execution_jobs.broadcast_step(container, before)
    for child in children:  # what the wake-ups (or the sweep) run: stored with the chunk
        assert jobs.execute(container, child.data["_id"])["status"] == "executed"
    assert not [j for j in listed_jobs(client) if j["jobHandlerType"] == "signal-broadcast"]
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


def test_deliveries_run_between_chunks_and_twice_woken_each_receiver_gets_it_once(
    client, container, waiting, monkeypatch
):
    """The worker's view of a broadcast in chunks: one chunk per run (the run wakes itself for
    the next), each chunk's delivery jobs woken at once, so a batch mixes the deliveries of
    chunk k with the fan-out of chunk k + 1; and every message arrives twice in its batch (as
    SQS may, and the sweep does). Each receiver runs its delivery exactly once."""
    from chalicelib import aws
    from chalicelib.service.jobs.runners import RUNNERS
    from chalicelib.workers import entry

    monkeypatch.setattr(execution_jobs, "STEPS_PER_RUN", 1)
    deliver = RUNNERS["deliver-signal"]
    outcomes: list[tuple[str, str]] = []

    def recording(container_, job):
        outcome = deliver(container_, job)
        outcomes.append((job.data["processInstanceId"], outcome))
        return outcome

    monkeypatch.setitem(RUNNERS, "deliver-signal", recording)
    status, body = post(client, "signal", {"signalName": "alert"})
    assert status == 200 and body["status"] == "queued"

    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=container.settings.jobs_queue)["QueueUrl"]
    mixed = 0
    for _ in range(50):
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            break
        kinds = set()
        for m in messages:
            job = next((j for j in listed_jobs(client) if j["_id"] in m["Body"]), None)
            kinds.add(job and job["jobHandlerType"])
        mixed += {"signal-broadcast", "deliver-signal"} <= kinds
        records = [{"messageId": m["MessageId"], "body": m["Body"]} for m in messages]
        twice = [dict(r, messageId=f"{r['messageId']}-{n}") for r in records for n in (1, 2)]
        assert entry.on_job_message({"Records": twice}) == {"batchItemFailures": []}
        for m in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    else:
        raise AssertionError("the jobs queue never emptied")

    executed = Counter(instance for instance, outcome in outcomes if outcome == "executed")
    assert set(executed) == set(waiting) and set(executed.values()) == {1}
    assert mixed  # some batch ran deliveries beside the broadcast's next chunk
    assert all(tasks(container, instance) == ["T"] for instance in waiting)
    assert listed_jobs(client) == []


def test_the_rest_of_a_broadcast_fans_out_in_parallel_slices(client, container, monkeypatch):
    """Subscriptions created a second apart: the first chunk splits the rest of the range into
    ``FAN_OUT`` broadcasts with contiguous, disjoint ranges, each a job any worker may run;
    together they deliver to every receiver exactly once."""
    monkeypatch.setattr(execution_jobs, "CHUNK", 8)
    definition = deploy(container, "sigwait")
    waiting = []
    for _ in range(INSTANCES):
        waiting.append(start(container, definition))
        container.clock.advance(seconds=1)
    _, body = post(client, "signal", {"signalName": "alert"})
    pk, sk = job_key(body["jobId"])
    children = execution_jobs.broadcast_step(container, container.store.get(Table.RUNTIME, pk, sk))
    assert len(children) == execution_jobs.FAN_OUT
    ranges = [
        (c.data["jobHandlerConfiguration"]["after"], c.data["jobHandlerConfiguration"]["upTo"])
        for c in children
    ]
    assert all(low < high for low, high in ranges)
    assert all(ranges[i][1] == ranges[i + 1][0] for i in range(len(ranges) - 1))
    for child in reversed(children):  # any order, any worker
        assert execution_jobs.broadcast_step(container, child) == []  # each fits one chunk
    deliveries = [j for j in listed_jobs(client) if j["jobHandlerType"] == "deliver-signal"]
    per_execution = Counter(j["executionId"] for j in deliveries)
    assert len(per_execution) == INSTANCES and set(per_execution.values()) == {1}
    drain(container)
    assert all(tasks(container, instance) == ["T"] for instance in waiting)
