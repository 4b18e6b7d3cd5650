"""The external worker task over SQS (moto): the jobs worker publishes the task's job to its
topic's queue and locks it; the worker answers on the events queue (``complete``,
``bpmnError``, ``fail``) or through ``execution?_action=trigger``; a lock that expires returns
the job for another try. Flowable's ``ExternalWorkerServiceTaskTest`` processes, with what that
test asserts (the worker's variables, the out mappings, exclusive flags, BPMN errors)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.clock import format_iso
from chalicelib.service.actions import external_worker
from chalicelib.service.definitions import deploy as deployments
from chalicelib.service.definitions.errors import InvalidDeployment
from chalicelib.service.jobs.sweep import sweep
from chalicelib.service.repositories.jobs import read_job
from tests.support.env import CORPUS
from tests.support.eventregistry import queue_url, send, sqs_event
from tests.support.executions import drain, job_items, start, tasks, variables
from tests.support.rest import ADMIN, WF

EXTERNALWORKER = CORPUS / "flowable-integration" / "externalworker"
TOPIC_QUEUE = "wf-test-out-simple"
JSON = dict(ADMIN, **{"Content-Type": "application/json"})


def _bpmn(method: str) -> str:
    return (EXTERNALWORKER / f"ExternalWorkerServiceTaskTest.{method}.bpmn20.xml").read_text(
        encoding="utf-8"
    )


def _deploy(container, method: str) -> str:
    return deployments.deploy(
        container, source=f"file:{method}", name=method, bpmn={"p.bpmn20.xml": _bpmn(method)}
    ).definition_ids[0]


@pytest.fixture
def topic(container, corpus):
    """The ``simple`` topic's queue, named in ``WORKFLOW_WORKER_TOPICS``; its URL."""
    from chalicelib import aws

    if not EXTERNALWORKER.is_dir():
        pytest.skip(f"external worker corpus not found at {EXTERNALWORKER}")
    container.settings = replace(container.settings, worker_topics={"simple": TOPIC_QUEUE})
    return aws.client("sqs").create_queue(QueueName=TOPIC_QUEUE)["QueueUrl"]


def _published(url: str) -> list[dict]:
    """The work items on the topic's queue (received and deleted)."""
    from chalicelib import aws

    sqs = aws.client("sqs")
    found = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return found
        for m in messages:
            found.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def _answer(container, work: dict, **fields) -> list[str]:
    """The worker's answer: ``callback.message`` plus ``fields``, sent to ``callback.queue``
    and handled by the inbound events function as Lambda would; the outcomes logged."""
    from chalicelib import aws
    from chalicelib.workers import entry

    callback = work["callback"]
    send(container, {**callback["message"], **fields}, callback["queue"])
    sqs = aws.client("sqs")
    url = queue_url(container, callback["queue"])
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    assert messages
    response = entry.on_event_message(sqs_event(messages, callback["queue"]))
    assert response == {"batchItemFailures": []}
    for m in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return [m["MessageId"] for m in messages]


def _run(container, topic_url: str, method: str, values: dict) -> tuple[str, dict]:
    """Deploy and start ``method``, run the jobs: the instance and its one work item."""
    instance = start(container, _deploy(container, method), values)
    drain(container)
    [work] = _published(topic_url)
    return instance, work


def _job(container, instance: str):
    [item] = job_items(container, instance)
    return item


def _dead_letters(client) -> list[dict]:
    response = client.http.get(f"{WF}/job/deadletter?_queryFilter=true", headers=ADMIN)
    assert response.status_code == 200, response.body
    return json.loads(response.body)["result"]


# --- the round trip --------------------------------------------------------------------------


def test_round_trip_through_the_topic_queue_and_the_events_queue(container, topic):
    instance, work = _run(container, topic, "testWithChangingVariables", {"name": "kermit"})
    assert tasks(container, instance) == []
    job = _job(container, instance)
    assert work["jobId"] == job.data["_id"]
    assert work["topic"] == "simple"
    assert work["processInstanceId"] == instance
    assert work["executionId"] == job.data["executionId"]
    assert work["activityId"] == "externalWorkerTask"
    assert work["variables"] == {"theName": "kermit"}  # the in-parameters only
    assert work["callback"] == {
        "queue": container.settings.events_queue,
        "message": {"workflowCallback": job.data["_id"], "action": "complete"},
        "trigger": {
            "method": "POST",
            "path": "/openidm/workflow/execution?_action=trigger",
            "body": {"executionId": job.data["executionId"], "transientVariables": {}},
        },
    }
    # published, then locked: still in the runtime table, due when the lock expires
    lock = container.clock.now() + timedelta(seconds=container.settings.worker_lock_seconds)
    assert job.data["lockOwner"] == f"sqs:{TOPIC_QUEUE}"
    assert job.data["lockExpirationTime"] == job.data["dueDate"] == format_iso(lock)
    assert job.data["retries"] == 3

    _answer(container, work, variables={"theResult": "done", "ignored": 1})
    assert tasks(container, instance) == ["taskAfter"]
    values = variables(container, instance)
    assert values["result"] == "done"  # through the out-parameter only
    assert "theResult" not in values and "ignored" not in values
    assert job_items(container, instance) == []
    drain(container)
    assert _published(topic) == []


def test_a_worker_that_never_answers_gets_the_job_again_when_the_lock_expires(container, topic):
    instance, work = _run(container, topic, "testSimple", {"name": "kermit"})
    first = _job(container, instance)
    container.clock.advance(seconds=container.settings.worker_lock_seconds - 10)
    sweep(container)
    drain(container)
    assert _published(topic) == []  # still locked
    container.clock.advance(seconds=20)  # past the lock
    sweep(container)
    drain(container)
    [again] = _published(topic)
    assert again["jobId"] == work["jobId"] and again["variables"] == {"name": "kermit"}
    second = _job(container, instance)
    assert second.data["lockExpirationTime"] > first.data["lockExpirationTime"]
    assert second.data["retries"] == first.data["retries"] == 3  # an expiry is no failure
    _answer(container, again)
    assert tasks(container, instance) == ["taskAfter"]


# --- duplicates --------------------------------------------------------------------------------


def test_the_same_answer_twice_has_one_effect(container, topic):
    instance, work = _run(container, topic, "testSimple", {"name": "kermit"})
    _answer(container, work, variables={"name": "gonzo"})
    assert variables(container, instance)["name"] == "gonzo"
    _answer(container, work, variables={"name": "fozzie"})  # no job any more: no effect
    assert variables(container, instance)["name"] == "gonzo"
    assert tasks(container, instance) == ["taskAfter"]
    assert _published(topic) == []


def test_an_sqs_redelivery_of_an_answer_has_one_effect(container, topic):
    from chalicelib import aws
    from chalicelib.workers import entry

    instance, work = _run(container, topic, "testSimple", {"name": "kermit"})
    queue = work["callback"]["queue"]
    send(container, {**work["callback"]["message"], "variables": {"n": 1}}, queue)
    messages = aws.client("sqs").receive_message(QueueUrl=queue_url(container, queue))["Messages"]
    for _ in range(2):
        assert entry.on_event_message(sqs_event(messages, queue)) == {"batchItemFailures": []}
    assert tasks(container, instance) == ["taskAfter"]
    assert variables(container, instance) == {"name": "kermit", "n": 1}


def test_rest_trigger_completes_it_and_a_later_answer_or_trigger_has_no_effect(
    client, container, topic
):
    instance, work = _run(container, topic, "testWithChangingVariables", {"name": "kermit"})
    trigger = work["callback"]["trigger"]
    body = {**trigger["body"], "processVariables": {"theResult": "by rest"}}
    response = client.http.post(
        trigger["path"].replace("/openidm/workflow", WF), headers=JSON, body=json.dumps(body)
    )
    assert response.status_code == 200, response.body
    assert json.loads(response.body)["status"] == "delivered"
    assert tasks(container, instance) == ["taskAfter"]
    assert variables(container, instance)["result"] == "by rest"
    assert job_items(container, instance) == []  # the job is gone with the trigger

    _answer(container, work, variables={"theResult": "by worker"})
    again = client.http.post(
        trigger["path"].replace("/openidm/workflow", WF),
        headers=JSON,
        body=json.dumps({**body, "processVariables": {"theResult": "twice"}}),
    )
    assert again.status_code >= 400
    assert variables(container, instance)["result"] == "by rest"
    assert tasks(container, instance) == ["taskAfter"]
    assert _dead_letters(client) == []


# --- BPMN errors, failures, poison -------------------------------------------------------------


def test_bpmn_error_is_caught_by_the_boundary_error_event(container, topic):
    instance, work = _run(container, topic, "testSimpleWithBoundaryError", {"name": "kermit"})
    _answer(container, work, action="bpmnError", errorCode="errorOne")
    assert tasks(container, instance) == []  # the boundary event's flow ends the process
    assert job_items(container, instance) == []
    from chalicelib.service import unit_of_work as instances

    state = instances.load_instance(container, instance)
    assert state is None or not state.executions


def test_bpmn_error_with_variables(container, topic):
    instance, work = _run(
        container, topic, "testSimpleWithBoundaryErrorAndVariables", {"name": "kermit"}
    )
    _answer(
        container,
        work,
        action="bpmnError",
        errorCode="errorOne",
        variables={"errorVar": "kermit error"},
    )
    assert tasks(container, instance) == ["taskAfterError"]
    assert variables(container, instance) == {"name": "kermit", "errorVar": "kermit error"}


def test_fail_takes_the_retries_down_then_dead_letters(client, container, topic):
    instance, work = _run(container, topic, "testSimple", {"name": "kermit"})
    for retries in (2, 1):
        _answer(container, work, action="fail", errorMessage="crm down", errorDetails="trace")
        job = _job(container, instance)
        assert job.data["retries"] == retries
        assert job.data["exceptionMessage"] == "crm down"
        assert "lockOwner" not in job.data  # unlocked: due after the retry wait
        _answer(container, work, action="fail", errorMessage="crm down")  # a repeat: no effect
        assert _job(container, instance).data["retries"] == retries
        drain(container)
        assert _published(topic) == []  # not before the retry wait
        container.clock.advance(seconds=11)
        sweep(container)
        drain(container)
        [work] = _published(topic)  # published again, locked again
        assert _job(container, instance).data["lockOwner"] == f"sqs:{TOPIC_QUEUE}"
    _answer(container, work, action="fail", errorMessage="crm down for good")
    assert job_items(container, instance) == []
    dead = read_job(container.store, work["jobId"], dead=True)
    assert dead is not None and dead.data["exceptionMessage"] == "crm down for good"
    [listed] = _dead_letters(client)
    assert listed["_id"] == work["jobId"] and listed["jobHandlerType"] == "external-worker"
    assert tasks(container, instance) == []  # still at the task


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"action": "explode"}, "action"),
        ({"action": "complete", "variables": [1, 2]}, "variables"),
        ({"action": "bpmnError"}, "errorCode"),
    ],
)
def test_a_malformed_answer_is_poison(client, container, topic, fields, reason):
    instance, work = _run(container, topic, "testSimple", {"name": "kermit"})
    _answer(container, work, **fields)
    [poison] = _dead_letters(client)
    assert poison["jobHandlerType"] == "inbound-event"
    assert reason in poison["exceptionMessage"]
    assert tasks(container, instance) == []
    assert _job(container, instance).data["lockOwner"]  # the job still waits for an answer


def test_a_poison_answer_executed_again_fails_again_and_changes_nothing(client, container, topic):
    instance, work = _run(container, topic, "testSimple", {"name": "kermit"})
    _answer(container, work, action="explode")
    [poison] = _dead_letters(client)
    moved = client.http.post(
        f"{WF}/job/deadletter/{poison['_id']}?_action=execute", headers=JSON, body="{}"
    )
    assert moved.status_code == 200, moved.body
    drain(container)
    retried = read_job(container.store, poison["_id"])
    assert retried is not None and retried.data["retries"] == 2
    assert "action" in retried.data["exceptionMessage"]
    assert tasks(container, instance) == []
    assert _job(container, instance).data["_id"] == work["jobId"]


def test_an_answer_naming_another_kind_of_job_is_poison(client, container, topic):
    from chalicelib import ids
    from chalicelib.service.jobs.items import new_job
    from chalicelib.storage.ports import MustNotExist, Put, Table

    instance, work = _run(container, topic, "testSimple", {"name": "kermit"})
    timer = new_job(
        job_id=ids.child_id(instance),
        handler_type="trigger-timer",
        created=container.clock.now(),
        due=container.clock.now().replace(year=2099),
        instance_id=instance,
    )
    container.store.transact([Put(Table.RUNTIME, timer, MustNotExist())])
    _answer(container, work, workflowCallback=timer.data["_id"])
    [poison] = _dead_letters(client)
    assert "not an external worker job" in poison["exceptionMessage"]
    assert read_job(container.store, timer.data["_id"]) is not None  # untouched
    assert tasks(container, instance) == []


def test_an_answer_for_an_unknown_job_has_no_effect_and_is_no_poison(client, container, topic):
    _, work = _run(container, topic, "testSimple", {"name": "kermit"})
    other = {**work, "callback": {**work["callback"], "message": {"workflowCallback": "nope"}}}
    _answer(container, other, action="complete")
    assert _dead_letters(client) == []


def test_a_topic_without_a_queue_is_refused_at_deploy(container, corpus):
    if not EXTERNALWORKER.is_dir():
        pytest.skip(f"external worker corpus not found at {EXTERNALWORKER}")
    with pytest.raises(InvalidDeployment) as exc:
        _deploy(container, "testSimple")
    [problem] = exc.value.detail["errors"]
    assert problem["problem"] == "external-worker-topic-unknown"
    assert "simple" in problem["defaultDescription"]


def test_a_topic_queue_gone_fails_the_job(container, topic):
    container.settings = replace(container.settings, worker_topics={"simple": TOPIC_QUEUE})
    instance = start(container, _deploy(container, "testSimple"), {"name": "kermit"})
    container.settings = replace(container.settings, worker_topics={})
    drain(container)
    job = _job(container, instance)
    assert job.data["retries"] == 2 and "simple" in job.data["exceptionMessage"]
    assert "lockOwner" not in job.data


# --- Flowable's corpus -------------------------------------------------------------------------

#: method -> (start variables, what the worker receives, its answer, variables after)
CORPUS_CASES = {
    "testSimple": ({"name": "kermit"}, {"name": "kermit"}, {}, {"name": "kermit"}),
    "testSimpleExclusive": ({"name": "kermit"}, {"name": "kermit"}, {}, {"name": "kermit"}),
    "testSimpleNotExclusive": ({"name": "kermit"}, {"name": "kermit"}, {}, {"name": "kermit"}),
    "testWithChangingVariables": (
        {"name": "kermit"},
        {"theName": "kermit"},
        {"variables": {"theResult": "kermit result"}},
        {"name": "kermit", "result": "kermit result"},
    ),
    "testWithLimitedVariables": (
        {"name": "kermit", "description": "the frog"},
        {"theName": "kermit"},
        {"variables": {"theResult": "kermit result", "other": 1}},
        {"name": "kermit", "description": "the frog", "result": "kermit result"},
    ),
    "testWithExpressions": (
        {"name": "kermit", "anotherVar": 10, "anotherVar2": 32},
        {"theSum": 42, "theProduct": 320},
        {"variables": {"resultVar1": 20, "resultVar2": 5}},
        {"name": "kermit", "anotherVar": 10, "anotherVar2": 32, "sum": 25, "product": 100},
    ),
    "testWithMultipleVariableMapping": (
        {"name": "kermit", "description": "the frog", "other": True},
        {"theName": "kermit", "theDescription": "the frog"},
        {"variables": {"theResult1": "r1", "theResult2": 2, "theResult3": False, "junk": 0}},
        {
            "name": "kermit",
            "description": "the frog",
            "other": True,
            "result1": "r1",
            "result2": 2,
            "result3": False,
        },
    ),
    "testWithNoInputVariables": ({"name": "kermit"}, {}, {}, {"name": "kermit"}),
    "testSimpleWithBoundaryError": (
        {"name": "kermit"},
        {"name": "kermit"},
        {"action": "bpmnError", "errorCode": "errorOne"},
        None,
    ),
    "testSimpleWithBoundaryErrorAndVariables": (
        {"name": "kermit"},
        {"name": "kermit"},
        {"action": "bpmnError", "errorCode": "errorOne", "variables": {"errorVar": "x"}},
        {"name": "kermit", "errorVar": "x"},
    ),
}


def test_every_corpus_file_has_a_case(corpus):
    if not EXTERNALWORKER.is_dir():
        pytest.skip(f"external worker corpus not found at {EXTERNALWORKER}")
    found = {p.name.split(".")[1] for p in EXTERNALWORKER.glob("*.bpmn20.xml")}
    assert found == set(CORPUS_CASES)


@pytest.mark.parametrize("method", sorted(CORPUS_CASES))
def test_flowable_corpus(container, topic, method):
    start_values, received, answer, after = CORPUS_CASES[method]
    instance = start(container, _deploy(container, method), start_values)
    assert tasks(container, instance) == []
    job = _job(container, instance)
    assert job.data["jobHandlerType"] == external_worker.HANDLER
    assert job.data["elementId"] == "externalWorkerTask"
    assert job.data["retries"] == 3
    assert "lockOwner" not in job.data  # not acquired yet
    assert job.data["exclusive"] is (method != "testSimpleNotExclusive")
    drain(container)
    [work] = _published(topic)
    assert work["variables"] == received
    assert work["topic"] == "simple"
    _answer(container, work, **answer)
    assert job_items(container, instance) == []
    if after is None:  # the error's flow ends the process
        assert tasks(container, instance) == []
        return
    expected = ["taskAfterError"] if "errorCode" in answer else ["taskAfter"]
    assert tasks(container, instance) == expected
    assert variables(container, instance) == after
