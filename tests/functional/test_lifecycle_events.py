"""Lifecycle events as CloudEvents 1.0 on an outbound channel (issue 14, beyond Flowable):
processes started/ended/cancelled, tasks created/assigned/completed and jobs dead-lettered,
each commit's events in one outbox job written in its transaction, sent once it has run."""

from __future__ import annotations

import dataclasses
import json

import pytest

from chalicelib.engine.runtime import CompleteTask, UpdateTask
from chalicelib.service import unit_of_work as instances
from chalicelib.service.definitions import deploy as deployments
from chalicelib.service.events import lifecycle
from chalicelib.service.jobs import actions as jobs
from tests.support.executions import bpmn, drain, job_items, start

OUT_QUEUE = "wf-test-out-lifecycle"
CHANNEL = json.dumps(
    {"key": "lifecycle", "channelType": "outbound", "type": "sqs", "destination": OUT_QUEUE}
)


@pytest.fixture
def queue_url(container):
    from chalicelib import aws

    return aws.client("sqs").create_queue(QueueName=OUT_QUEUE)["QueueUrl"]


@pytest.fixture
def with_channel(container, monkeypatch, queue_url):
    monkeypatch.setattr(
        container,
        "settings",
        dataclasses.replace(container.settings, lifecycle_channel="lifecycle"),
    )
    return deployments.deploy(
        container,
        source="file:recv",
        name="recv",
        bpmn={"recv.bpmn20.xml": bpmn("recv")},
        resources={"lifecycle.channel": CHANNEL},
    ).definition_ids[0]


def received(queue_url: str) -> list[dict]:
    from chalicelib import aws

    sqs = aws.client("sqs")
    found: list[dict] = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        )
        if not messages:
            return found
        for m in messages:
            found.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])


def _task_id(container, instance_id: str) -> str:
    [task] = instances.load_instance(container, instance_id).tasks.values()
    return task.id


def _run(container, command) -> None:
    instances.run_command(container, lambda uow: command)


def test_a_process_and_its_task_announce_each_step_as_cloud_events(
    container, with_channel, queue_url
):
    definition = with_channel
    iid = start(container, definition, business_key="bk-1")
    [waiting] = [
        e.id
        for e in instances.load_instance(container, iid).executions.values()
        if e.activity_id == "c"
    ]
    from chalicelib.engine.runtime import Trigger

    _run(container, Trigger(waiting, {}, iid))
    task_id = _task_id(container, iid)
    _run(container, UpdateTask(task_id, {"assignee": "kermit"}, "admin"))
    _run(container, CompleteTask(task_id, {}, "kermit"))
    assert received(queue_url) == []  # sent by the outbox jobs, after each commit
    drain(container)
    events = received(queue_url)
    assert [e["type"] for e in events] == [
        "workflow.process.started",
        "workflow.task.created",
        "workflow.task.assigned",
        "workflow.task.completed",
        "workflow.process.ended",
    ]
    for event in events:
        assert event["specversion"] == "1.0" and event["source"] == "/openidm/workflow"
        assert event["subject"] == iid and event["datacontenttype"] == "application/json"
        assert event["id"] and event["time"].endswith("Z")
        assert event["data"]["processInstanceId"] == iid
    assert len({e["id"] for e in events}) == len(events)
    assert events[0]["data"]["businessKey"] == "bk-1"
    assert events[0]["data"]["processDefinitionId"] == definition
    assert events[1]["data"]["taskId"] == task_id and events[1]["data"]["name"] == "After"
    assert events[2]["data"]["assignee"] == "kermit"
    assert events[3]["data"]["userId"] == "kermit"
    drain(container)
    assert received(queue_url) == []  # each sent once


def test_a_cancelled_process_is_announced_with_its_reason(container, with_channel, queue_url):
    from chalicelib.engine.runtime import DeleteInstance

    iid = start(container, with_channel)
    _run(container, DeleteInstance(iid, "no longer needed"))
    drain(container)
    events = received(queue_url)
    assert [e["type"] for e in events] == ["workflow.process.started", "workflow.process.cancelled"]
    assert events[1]["data"]["deleteReason"] == "no longer needed"


def test_a_dead_lettered_job_is_announced(container, with_channel, queue_url, monkeypatch):
    from chalicelib.service.jobs.runners import RUNNERS

    def failing(container_, job):
        raise RuntimeError("the endpoint is down")

    iid = start(container, with_channel)
    drain(container)
    received(queue_url)
    from chalicelib.service.events.broadcast import broadcast_job
    from chalicelib.storage.ports import MustNotExist, Put, Table

    job = broadcast_job(container, "nobody", {})
    container.store.transact([Put(Table.RUNTIME, job, MustNotExist())])
    monkeypatch.setitem(RUNNERS, "signal-broadcast", failing)
    for _ in range(3):
        outcome = jobs.execute(container, job.data["_id"])
    assert outcome["status"] == "deadletter"
    drain(container)
    [event] = received(queue_url)
    assert event["type"] == "workflow.job.deadlettered"
    assert event["data"]["jobId"] == job.data["_id"]
    assert "endpoint is down" in event["data"]["exceptionMessage"]
    assert iid


def test_without_a_channel_no_lifecycle_job_is_written(container, queue_url):
    definition = deployments.deploy(
        container, source="file:recv", name="recv", bpmn={"recv.bpmn20.xml": bpmn("recv")}
    ).definition_ids[0]
    iid = start(container, definition)
    assert [
        i for i in job_items(container, iid) if i.data["jobHandlerType"] == lifecycle.HANDLER
    ] == []
    drain(container)
    assert received(queue_url) == []
