"""``execution?_action=message|signal|trigger``: sync and queued deliveries, errors, keys."""

from __future__ import annotations

import json

import pytest

from chalicelib.service.jobs import actions as jobs
from chalicelib.service.jobs.retry import DEFAULT_RETRIES
from tests.support.executions import (
    JSON,
    WF,
    deploy,
    drain,
    job_items,
    post,
    start,
    tasks,
    variables,
    waiting_execution,
)
from tests.support.rest import ANONYMOUS


@pytest.fixture
def msgwait(container):
    return deploy(container, "msgwait")


# --- message ---------------------------------------------------------------------------------


def test_message_reaches_the_only_subscription_across_instances(client, container, msgwait):
    instance = start(container, msgwait)
    status, body = post(client, "message", {"messageName": "go", "processVariables": {"x": 1}})
    assert status == 200
    assert body == {
        "status": "delivered",
        "executionId": body["executionId"],
        "processInstanceId": instance,
    }
    assert body["executionId"] != instance  # the child execution that waited at the catch
    assert tasks(container, instance) == ["T"] and variables(container, instance)["x"] == 1


def test_two_candidates_are_409_until_an_instance_or_business_key_selects_one(
    client, container, msgwait
):
    first = start(container, msgwait, business_key="b-1")
    second = start(container, msgwait, business_key="b-2")
    status, body = post(client, "message", {"messageName": "go", "processVariables": {}})
    assert status == 409 and "2 executions" in body["message"]
    assert body["detail"] == {"count": 2}
    status, body = post(
        client, "message", {"messageName": "go", "processVariables": {}, "businessKey": "b-2"}
    )
    assert (status, body["processInstanceId"]) == (200, second)
    status, body = post(
        client, "message", {"messageName": "go", "processVariables": {}, "processInstanceId": first}
    )
    assert (status, body["processInstanceId"]) == (200, first)
    assert tasks(container, first) == tasks(container, second) == ["T"]


def test_a_message_by_business_key_costs_the_same_however_many_instances_wait(
    client, container, msgwait
):
    """Bounded work per request: with 2 instances waiting for ``go``, then 8 (other business
    keys), a message for one business key reads that key's lookup partition and the
    instance's subscriptions, never the other waiting instances."""
    from chalicelib import aws

    def deliver_to(key: str) -> dict[str, int]:
        with aws.counting() as counter:
            status, body = post(
                client, "message", {"messageName": "go", "processVariables": {}, "businessKey": key}
            )
        assert status == 200, body
        assert body["processInstanceId"] == instances[key]
        return dict(counter.counts["dynamodb"])

    instances = {f"k-{n}": start(container, msgwait, business_key=f"k-{n}") for n in range(3)}
    deliver_to("k-0")  # warm
    small = deliver_to("k-1")
    instances.update(
        {f"k-{n}": start(container, msgwait, business_key=f"k-{n}") for n in range(3, 9)}
    )

    # the key's partition, the instance's subscriptions, its load to resolve the target and
    # to run the command (before: every waiting subscription, and a GetItem per instance)
    assert deliver_to("k-7") == small == {"Query": 4, "TransactWriteItems": 1}


def test_a_message_to_many_waiting_reads_a_bounded_number(client, container, msgwait, monkeypatch):
    """Without a target the index is read only up to ``CANDIDATES_READ`` + 1: past that the
    409 says "more than" instead of counting them all."""
    from chalicelib.service.events import targets

    monkeypatch.setattr(targets, "CANDIDATES_READ", 2)
    for _ in range(2):
        start(container, msgwait)
    status, body = post(client, "message", {"messageName": "go", "processVariables": {}})
    assert status == 409 and body["detail"] == {"count": 2}
    start(container, msgwait)

    status, body = post(client, "message", {"messageName": "go", "processVariables": {}})

    assert status == 409 and body["message"].startswith("More than 2 executions")
    assert body["detail"] == {"count": 2, "more": True}


def test_message_to_a_named_execution(client, container, msgwait):
    instance = start(container, msgwait)
    execution = waiting_execution(container, instance)
    status, body = post(
        client, "message", {"messageName": "go", "executionId": execution, "processVariables": {}}
    )
    assert (status, body["executionId"]) == (200, execution)
    status, body = post(
        client, "message", {"messageName": "go", "executionId": execution, "processVariables": {}}
    )
    assert status == 404 and "has not subscribed" in body["message"]  # it moved on to T


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "messageName"),
        ({"messageName": ""}, "messageName"),
        ({"messageName": "go", "processVariables": [1]}, "processVariables"),
        ({"messageName": "go", "executionId": 7}, "executionId"),
    ],
)
def test_bad_message_bodies_are_400_naming_the_field(client, container, body, field):
    status, answer = post(client, "message", body)
    assert status == 400 and field in answer["message"]


def test_message_nobody_waits_for_is_404_and_queues_nothing(client, container, msgwait):
    instance = start(container, msgwait)
    status, body = post(client, "message", {"messageName": "nobody"})
    assert status == 404 and "nobody" in body["message"]
    assert job_items(container, instance) == []
    status, _ = post(client, "message", {"messageName": "go", "processInstanceId": "missing"})
    assert status == 404


def test_message_start_event_starts_an_instance(client, container):
    definition = deploy(container, "msgstart")
    status, body = post(
        client,
        "message",
        {"messageName": "begin", "businessKey": "order-7", "processVariables": {"amount": 3}},
    )
    assert status == 200 and body["status"] == "delivered"
    instance = body["processInstanceId"]
    assert body["executionId"] == instance
    read = json.loads(client.http.get(f"{WF}/processinstance/{instance}", headers=JSON).body)
    assert (read["processDefinitionId"], read["businessKey"]) == (definition, "order-7")
    assert read["processVariables"]["amount"] == 3 and tasks(container, instance) == ["T"]


def test_queued_message_is_a_listed_job_the_worker_delivers(client, container, msgwait):
    instance = start(container, msgwait)
    status, body = post(client, "message", {"messageName": "go"})
    assert status == 200 and body["status"] == "queued"
    listed = json.loads(client.http.get(f"{WF}/job?_queryFilter=true", headers=JSON).body)
    [job] = [j for j in listed["result"] if j["_id"] == body["jobId"]]
    assert (job["jobHandlerType"], job["processInstanceId"]) == ("deliver-message", instance)
    assert tasks(container, instance) == []
    assert drain(container) >= 1
    assert tasks(container, instance) == ["T"] and job_items(container, instance) == []


def test_queued_message_whose_target_left_fails_and_is_retried(client, container, msgwait):
    instance = start(container, msgwait)
    _, queued = post(client, "message", {"messageName": "go"})
    post(client, "message", {"messageName": "go", "processVariables": {}})  # consumed meanwhile
    outcome = jobs.execute(container, queued["jobId"])
    assert outcome["status"] == "failed" and outcome["retries"] == DEFAULT_RETRIES - 1
    assert outcome["exceptionMessage"].startswith("Message 'go' could not be delivered")
    [job] = job_items(container, instance)
    assert job.data["exceptionMessage"] == outcome["exceptionMessage"]


def test_queued_message_start_runs_as_a_standalone_job(client, container):
    deploy(container, "msgstart")
    status, body = post(client, "message", {"messageName": "begin", "businessKey": "k"})
    assert status == 200 and body["status"] == "queued"
    assert jobs.execute(container, body["jobId"]) == {"_id": body["jobId"], "status": "executed"}
    listed = json.loads(
        client.http.get(
            f"{WF}/processinstance?_queryId=filtered-query&processInstanceBusinessKey=k",
            headers=JSON,
        ).body
    )
    assert listed["resultCount"] == 1


# --- signal ----------------------------------------------------------------------------------


def test_signal_to_one_execution_now_and_queued(client, container):
    definition = deploy(container, "sigwait")
    first, second = start(container, definition), start(container, definition)
    status, body = post(
        client,
        "signal",
        {
            "signalName": "alert",
            "processVariables": {"v": 1},
            "executionId": waiting_execution(container, first),
        },
    )
    assert (status, body) == (200, {"status": "delivered", "deliveredTo": 1})
    assert tasks(container, first) == ["T"] and tasks(container, second) == []
    status, body = post(
        client,
        "signal",
        {"signalName": "alert", "executionId": waiting_execution(container, second)},
    )
    assert status == 200 and body["status"] == "queued"
    drain(container)
    assert tasks(container, second) == ["T"]


def test_signal_to_an_execution_that_does_not_wait_for_it_is_404(client, container):
    definition = deploy(container, "sigwait")
    instance = start(container, definition)
    for body in (
        {"signalName": "other", "executionId": waiting_execution(container, instance)},
        {"signalName": "alert", "executionId": instance, "processVariables": {}},
        {"signalName": "alert", "executionId": "nope", "processVariables": {}},
    ):
        status, answer = post(client, "signal", body)
        assert status == 404, answer
    status, answer = post(client, "signal", {"executionId": instance})
    assert status == 400 and "signalName" in answer["message"]


def test_sync_broadcast_reaches_every_instance_and_signal_start(client, container):
    waiting = deploy(container, "sigwait")
    starting = deploy(container, "sigstart")
    started = [start(container, waiting) for _ in range(3)]
    status, body = post(client, "signal", {"signalName": "alert", "processVariables": {"s": 1}})
    assert (status, body) == (200, {"status": "delivered", "deliveredTo": 4})
    assert all(tasks(container, i) == ["T"] and variables(container, i)["s"] == 1 for i in started)
    listed = json.loads(
        client.http.get(
            f"{WF}/processinstance?_queryId=filtered-query&processDefinitionId={starting}",
            headers=JSON,
        ).body
    )
    assert listed["resultCount"] == 1
    status, body = post(client, "signal", {"signalName": "alert", "processVariables": {}})
    assert body == {"status": "delivered", "deliveredTo": 1}  # only the start event is left


def test_a_sync_broadcast_delivers_a_bounded_number_and_queues_the_rest(
    client, container, monkeypatch
):
    """Bounded work per request: past ``SYNC_SUBSCRIBERS`` subscriptions a broadcast with
    variables delivers the first ones itself and queues one ``signal-broadcast`` job for the
    rest (named by ``jobId``); its requests are the same with 3 or 7 instances waiting, and
    draining the queue reaches every one of them, with the variables, exactly once."""
    from chalicelib import aws
    from chalicelib.service.events import actions

    monkeypatch.setattr(actions, "SYNC_SUBSCRIBERS", 2)
    waiting = deploy(container, "sigwait")
    deploy(container, "sigstart")

    def broadcast(count: int) -> dict[str, int]:
        """Start ``count`` waiting instances, broadcast to them, drain the queue: the
        broadcast's DynamoDB requests."""
        started = [start(container, waiting) for _ in range(count)]
        with aws.counting() as counter:
            status, body = post(
                client, "signal", {"signalName": "alert", "processVariables": {"s": count}}
            )
        assert status == 200, body
        # two subscriptions delivered now, plus the signal start event
        assert body == {"status": "delivered", "deliveredTo": 3, "jobId": body["jobId"]}
        assert sum(tasks(container, i) == ["T"] for i in started) == 2
        job = json.loads(client.http.get(f"{WF}/job/{body['jobId']}", headers=JSON).body)
        assert job["jobHandlerType"] == "signal-broadcast"
        drain(container)
        assert all(tasks(container, i) == ["T"] for i in started)
        assert {variables(container, i)["s"] for i in started} == {count}
        return dict(counter.counts["dynamodb"])

    broadcast(3)  # warm
    assert broadcast(3) == broadcast(7)


def test_sync_broadcast_lists_instances_whose_process_fails_and_delivers_the_others(
    client, container
):
    good = start(container, deploy(container, "sigwait"))
    bad = start(container, deploy(container, "sigfail"))
    status, body = post(client, "signal", {"signalName": "alert", "processVariables": {}})
    assert status == 200 and body["deliveredTo"] == 1
    assert [f["processInstanceId"] for f in body["failed"]] == [bad]
    assert tasks(container, good) == ["T"]
    status, _ = post(
        client,
        "signal",
        {
            "signalName": "alert",
            "processVariables": {},
            "executionId": waiting_execution(container, bad),
        },
    )
    assert status == 400  # it still waits at the catch: nothing of it was committed


def test_a_signal_thrown_by_a_process_reaches_other_instances(client, container):
    waiting = start(container, deploy(container, "sigwait"))
    thrower = start(container, deploy(container, "thrower"))
    broadcasts = [
        j
        for j in json.loads(client.http.get(f"{WF}/job?_queryFilter=true", headers=JSON).body)[
            "result"
        ]
        if j["jobHandlerType"] == "signal-broadcast"
    ]
    assert len(broadcasts) == 1 and broadcasts[0]["elementId"] == "c"
    drain(container)
    assert tasks(container, waiting) == ["T"] and tasks(container, thrower) == ["T"]


# --- trigger ---------------------------------------------------------------------------------


def test_trigger_now_sets_process_variables_but_not_transient_ones(client, container):
    instance = start(container, deploy(container, "recv"))
    execution = waiting_execution(container, instance)
    status, body = post(
        client,
        "trigger",
        {"executionId": execution, "processVariables": {"p": 2}, "transientVariables": {"t": 1}},
    )
    assert (status, body) == (
        200,
        {"status": "delivered", "executionId": execution, "processInstanceId": instance},
    )
    assert tasks(container, instance) == ["T"]
    assert variables(container, instance) == {"p": 2}


def test_queued_trigger_carries_its_variables(client, container):
    instance = start(container, deploy(container, "recv"))
    execution = waiting_execution(container, instance)
    status, body = post(client, "trigger", {"executionId": execution, "processVariables": {"p": 5}})
    assert status == 200 and body["status"] == "queued"
    [job] = job_items(container, instance)
    assert job.data["jobHandlerType"] == "trigger-execution"
    drain(container)
    assert tasks(container, instance) == ["T"] and variables(container, instance) == {"p": 5}


def test_trigger_errors(client, container):
    instance = start(container, deploy(container, "msgwait"))
    execution = waiting_execution(container, instance)
    for body in ({"executionId": execution}, {"executionId": execution, "transientVariables": {}}):
        status, answer = post(client, "trigger", body)
        assert status == 409 and "not waiting" in answer["message"]
    status, answer = post(
        client, "trigger", {"executionId": f"{instance}.x", "transientVariables": {}}
    )
    assert status == 404 and "Execution" in answer["message"]
    status, answer = post(client, "trigger", {"processVariables": {}})
    assert status == 400 and "executionId" in answer["message"]
    status, answer = post(client, "trigger", {"executionId": execution, "transientVariables": "x"})
    assert status == 400 and "transientVariables" in answer["message"]


# --- idempotency and access ------------------------------------------------------------------


def test_idempotency_key_replays_the_first_response(client, container, msgwait):
    instance = start(container, msgwait)
    keyed = dict(JSON, **{"Idempotency-Key": "k-1"})
    body = {"messageName": "go", "processVariables": {"n": 1}}
    first = post(client, "message", body, keyed)
    assert first[0] == 200 and tasks(container, instance) == ["T"]
    assert post(client, "message", body, keyed) == first  # a plain retry would be 404 now
    status, answer = post(client, "message", dict(body, processVariables={"n": 2}), keyed)
    assert status == 409 and "Idempotency-Key" in answer["message"]


def test_idempotency_key_on_a_queued_action_queues_once(client, container):
    instance = start(container, deploy(container, "recv"))
    keyed = dict(JSON, **{"Idempotency-Key": "t-1"})
    body = {"executionId": waiting_execution(container, instance)}
    first = post(client, "trigger", body, keyed)
    assert post(client, "trigger", body, keyed) == first
    assert [j.data["_id"] for j in job_items(container, instance)] == [first[1]["jobId"]]


def test_a_failed_keyed_request_releases_the_key(client, container, msgwait):
    keyed = dict(JSON, **{"Idempotency-Key": "s-1"})
    body = {"signalName": "alert", "executionId": "missing", "processVariables": {}}
    assert post(client, "signal", body, keyed)[0] == 404
    assert post(client, "signal", body, keyed)[0] == 404  # not 409: nothing was recorded


def test_non_admins_are_refused(client, container):
    headers = dict(ANONYMOUS, **{"Content-Type": "application/json"})
    assert post(client, "signal", {"signalName": "alert"}, headers)[0] == 403
    response = client.http.get(f"{WF}/execution?_queryFilter=true", headers=ANONYMOUS)
    assert response.status_code == 403
