"""Timers and async continuations as jobs over moto: written with the command, listed and run
through the routes, woken through the SQS queue, and the DynamoDB requests of one job run.

A completed task cancelling its timer job, on the memory store:
``tests/unit/service/jobs/test_engine_effects.py``.
"""

from __future__ import annotations

import json

from chalicelib.messaging.job_message import encode
from chalicelib.service import unit_of_work as instances
from chalicelib.service.jobs import actions as jobs
from chalicelib.storage.ports import Table
from chalicelib.workers import entry
from tests.support.jobs import ASYNC, TIMER, deploy_and_start, task_keys
from tests.support.rest import ADMIN

WF = "/openidm/workflow"
JSON = dict(ADMIN, **{"Content-Type": "application/json"})


def the_job(container, instance_id):
    items = container.store.query(Table.RUNTIME, instance_id, sk_prefix="job#").items
    assert len(items) == 1, [i.sk for i in items]
    return items[0]


def queued_job_ids(container) -> list[str]:
    from chalicelib import aws

    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=container.settings.jobs_queue)["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"])["jobId"] for m in messages]


def test_boundary_timer_is_a_job_due_in_an_hour(client, container):
    instance = deploy_and_start(container, TIMER, "escalate")
    job = the_job(container, instance)
    assert job.data["jobType"] == "timer" and job.data["jobHandlerType"] == "trigger-timer"
    assert job.data["dueDate"] == "2026-01-01T01:00:00.000Z"  # FixedClock + PT1H
    listed = json.loads(
        client.http.get(f"{WF}/job?_queryId=filtered-query&timersOnly=true", headers=ADMIN).body
    )
    assert [j["_id"] for j in listed["result"]] == [job.data["_id"]]
    # not due: the worker puts it back on the queue instead of running it early
    assert "delayed again" in jobs.run_job(container, job.data["_id"])
    assert task_keys(container, instance) == ["review"]


def test_firing_the_timer_moves_the_process_and_deletes_the_job(client, container):
    instance = deploy_and_start(container, TIMER, "escalate")
    job_id = the_job(container, instance).data["_id"]
    response = client.http.post(f"{WF}/job/{job_id}?_action=execute", headers=JSON)
    assert json.loads(response.body) == {"_id": job_id, "status": "executed"}
    assert task_keys(container, instance) == ["escalated"]
    assert container.store.query(Table.RUNTIME, instance, sk_prefix="job#").items == []
    # a duplicate wake-up for the same job does nothing
    assert "absent" in jobs.run_job(container, job_id)
    assert task_keys(container, instance) == ["escalated"]


def test_async_continuation_runs_through_the_queue_worker_twice_safely(container):
    instance = deploy_and_start(container, ASYNC, "background")
    assert task_keys(container, instance) == []  # stopped before the async script
    job_id = the_job(container, instance).data["_id"]
    assert job_id in queued_job_ids(container)  # the wake-up went out after the commit
    record = {"messageId": "m1", "body": json.dumps(encode(job_id))}
    assert entry.on_job_message({"Records": [record]}) == {"batchItemFailures": []}
    assert task_keys(container, instance) == ["wait"]
    state = instances.load_instance(container, instance)
    assert state.local_variables(instance)["done"].value is True
    before = [(i.sk, i.data) for i in container.store.query(Table.RUNTIME, instance).items]
    assert entry.on_job_message({"Records": [dict(record, messageId="m2")]}) == {
        "batchItemFailures": []
    }
    after = [(i.sk, i.data) for i in container.store.query(Table.RUNTIME, instance).items]
    assert after == before  # delivered twice: same final state


def test_a_job_run_reads_the_job_once(container):
    """The worker's read of the job is reused by the runner (its commit is conditioned on the
    job's version): one GetItem, one Query of the instance, one transaction."""
    from chalicelib import aws

    instance = deploy_and_start(container, ASYNC, "background")
    job_id = the_job(container, instance).data["_id"]
    with aws.counting() as counter:
        assert jobs.run_job(container, job_id) == "executed"
    assert counter.counts["dynamodb"] == {"GetItem": 1, "Query": 1, "TransactWriteItems": 1}
