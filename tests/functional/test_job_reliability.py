"""Jobs under the failures DESIGN.md §4 promises to survive (moto DynamoDB + SQS).

* every SQS message delivered twice (one after the other, or at the same time) gives the same
  state and history as once;
* a wake-up lost after the commit is sent again by the sweep;
* a DynamoDB failure at any call of a job run leaves no partial state, and the job then runs;
* a failing job walks its retries down to the dead-letter table and back (default 3 x 10 s);
* two jobs of one instance run at the same moment (parallel branches before a join) join once.

An element's ``failedJobRetryTimeCycle`` (async activity, timer event), on the memory store:
``tests/unit/service/jobs/test_retry_and_sweep.py``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib import aws
from chalicelib.clock import format_iso, parse_iso
from chalicelib.engine.runtime import SetVariables, StartProcess
from chalicelib.errors import ServiceUnavailable
from chalicelib.messaging.job_message import encode
from chalicelib.service import unit_of_work as instances
from chalicelib.service.definitions import deploy as deployments
from chalicelib.service.jobs.sweep import sweep
from chalicelib.service.repositories import history as activity_history
from chalicelib.service.repositories.jobs import job_key
from chalicelib.storage.ports import Table
from chalicelib.workers import entry
from tests.support.jobs import (
    ASYNC,
    BPMN_HEAD,
    FLAKY,
    TIMER,
    dead_letters,
    deploy_and_start,
    task_keys,
    wake,
)
from tests.support.rest import ADMIN

WF = "/openidm/workflow"
JSON = dict(ADMIN, **{"Content-Type": "application/json"})

PARALLEL = (
    BPMN_HEAD
    + """
  <process id="fork" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="split"/>
    <parallelGateway id="split"/>
    <sequenceFlow id="fa" sourceRef="split" targetRef="a"/>
    <sequenceFlow id="fb" sourceRef="split" targetRef="b"/>
    <scriptTask id="a" scriptFormat="javascript" flowable:async="true" flowable:exclusive="false">
      <script>execution.setVariable("a", 1);</script>
    </scriptTask>
    <scriptTask id="b" scriptFormat="javascript" flowable:async="true" flowable:exclusive="false">
      <script>execution.setVariable("b", 2);</script>
    </scriptTask>
    <sequenceFlow id="fa2" sourceRef="a" targetRef="join"/>
    <sequenceFlow id="fb2" sourceRef="b" targetRef="join"/>
    <parallelGateway id="join"/>
    <sequenceFlow id="f2" sourceRef="join" targetRef="wait"/>
    <userTask id="wait"/>
    <sequenceFlow id="f3" sourceRef="wait" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>"""
)


# --- helpers ---------------------------------------------------------------------------------


def _queue(container):
    sqs = aws.client("sqs")
    return sqs, sqs.get_queue_url(QueueName=container.settings.jobs_queue)["QueueUrl"]


def receive_all(container) -> list[dict]:
    """Take every visible message off the jobs queue (deleted: this test is the worker)."""
    sqs, url = _queue(container)
    taken = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return taken
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        taken.extend(messages)


def deliver(messages: list[dict], times: int = 1) -> None:
    """Hand each message to the SQS handler ``times`` times, as Lambda would."""
    for message in messages:
        for n in range(times):
            record = {"messageId": f"{message['MessageId']}-{n}", "body": message["Body"]}
            assert entry.on_job_message({"Records": [record]}) == {"batchItemFailures": []}


def drain(container, times: int = 1, rounds: int = 20) -> int:
    """Run the worker until the queue is empty, each message ``times`` times."""
    handled = 0
    for _ in range(rounds):
        messages = receive_all(container)
        if not messages:
            return handled
        deliver(messages, times)
        handled += len(messages)
    raise AssertionError("the jobs queue never emptied")


def runtime(container, instance_id: str) -> list[tuple[str, dict]]:
    return [(i.sk, i.data) for i in container.store.query(Table.RUNTIME, instance_id).items]


def history(container, instance_id: str) -> list[tuple[str, dict]]:
    return [(i.sk, i.data) for i in container.store.query(Table.HISTORY, instance_id).items]


def snapshot(container, instance_id: str):
    return runtime(container, instance_id), history(container, instance_id)


def shape(container, instance_id: str):
    """What the run did, without its ids and times: to compare two instances' runs."""
    acts = sorted(
        (d["activityId"], d["endTime"] is not None)
        for d in activity_history.read(container.store, instance_id)
    )
    kinds = sorted(sk.split("#", 1)[0] for sk, _ in runtime(container, instance_id))
    state = instances.load_instance(container, instance_id)
    variables = (
        {n: v.value for n, v in state.local_variables(instance_id).items()} if state else None
    )
    return acts, kinds, task_keys(container, instance_id), variables


def job_ids(container, instance_id: str) -> list[str]:
    return [
        i.data["_id"]
        for i in container.store.query(Table.RUNTIME, instance_id, sk_prefix="job#").items
    ]


def the_job_id(container, instance_id: str) -> str:
    [job_id] = job_ids(container, instance_id)
    return job_id


def fire_timer(container, instance_id: str) -> None:
    """Move the clock past the instance's timer and let the sweep queue it."""
    [job] = container.store.query(Table.RUNTIME, instance_id, sk_prefix="job#").items
    container.clock.set(parse_iso(job.data["dueDate"]) + timedelta(seconds=1))
    assert sweep(container)["sent"] >= 1


# --- (a) duplicate delivery ------------------------------------------------------------------


@pytest.mark.parametrize("xml, key", [(ASYNC, "background"), (TIMER, "escalate")])
def test_every_message_delivered_twice_gives_the_state_and_history_of_once(container, xml, key):
    once = deploy_and_start(container, xml, key)
    if key == "escalate":
        fire_timer(container, once)
    drain(container, times=1)
    twice = deploy_and_start(container, xml, key)
    if key == "escalate":
        fire_timer(container, twice)
    drain(container, times=2)
    assert shape(container, twice) == shape(container, once)
    expected = ["wait"] if key == "background" else ["escalated"]
    assert task_keys(container, once) == expected
    # and once more: a late duplicate of the same job changes nothing at all
    before = snapshot(container, twice)
    deliver([{"MessageId": "late", "Body": json.dumps(encode(job))} for job in [f"{twice}.gone"]])
    assert snapshot(container, twice) == before


def test_the_same_message_delivered_twice_at_once_runs_the_job_once(container):
    reference = deploy_and_start(container, ASYNC, "background")
    drain(container)
    instance = deploy_and_start(container, ASYNC, "background")
    job_id = the_job_id(container, instance)
    receive_all(container)
    outcomes: list = []
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        outcomes.append(wake(job_id))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert outcomes == [{"batchItemFailures": []}] * 2
    assert shape(container, instance) == shape(container, reference)
    assert job_ids(container, instance) == []


# --- (b) a lost wake-up ----------------------------------------------------------------------


def test_a_wake_up_lost_after_the_commit_is_sent_again_by_the_sweep(container):
    instance = deploy_and_start(container, ASYNC, "background")
    job_id = the_job_id(container, instance)
    lost = receive_all(container)  # the message is gone: consumed by nobody
    assert [json.loads(m["Body"])["jobId"] for m in lost] == [job_id]
    assert task_keys(container, instance) == []
    assert sweep(container) == {"sent": 1}
    assert drain(container) == 1
    assert task_keys(container, instance) == ["wait"] and job_ids(container, instance) == []
    assert sweep(container) == {"sent": 0}  # nothing left to find


def test_a_wake_up_lost_in_a_crash_is_sent_again_a_few_seconds_later_on_a_one_second_tick(
    container,
):
    """The local tick: the sweep re-sends an overdue job once it is 5 s late, not when its age
    next falls in a one-second window of the minute (up to 60 s later)."""
    container.settings = replace(container.settings, sweep_period_seconds=1)
    instance = deploy_and_start(container, ASYNC, "background")
    job_id = the_job_id(container, instance)
    assert len(receive_all(container)) == 1  # lost with the crashed worker
    ticks = 0
    while task_keys(container, instance) != ["wait"]:
        ticks += 1
        assert ticks <= 7, "not recovered within the grace and a tick"
        container.clock.advance(seconds=1)
        sweep(container)
        drain(container)
    assert job_ids(container, instance) == [] and job_id


def test_a_timer_whose_wake_up_never_went_out_fires_through_the_sweep(container, monkeypatch):
    def broken(*args, **kwargs):
        raise ServiceUnavailable("The message queue is unavailable; retry later")

    monkeypatch.setattr(container.publisher, "send", broken)
    instance = deploy_and_start(container, TIMER, "escalate")  # the commit still succeeds
    monkeypatch.undo()
    job = container.store.query(Table.RUNTIME, instance, sk_prefix="job#").items[0]
    container.clock.set(parse_iso(job.data["dueDate"]))
    assert sweep(container) == {"sent": 1}
    assert drain(container) == 1
    assert task_keys(container, instance) == ["escalated"]


# --- (c) DynamoDB failures inside a job run --------------------------------------------------


class FailNth:
    """Wrap the store's calls; the ``n``-th call (counting all of them) raises."""

    METHODS = ("get", "query", "query_index", "transact", "batch_put")

    def __init__(self, store, monkeypatch, n: int):
        self.calls: list[str] = []
        self.n = n
        for name in self.METHODS:
            monkeypatch.setattr(store, name, self._wrap(name, getattr(store, name)))

    def _wrap(self, name, method):
        def call(*args, **kwargs):
            self.calls.append(name)
            if len(self.calls) == self.n:
                raise ServiceUnavailable("The data store is unavailable; retry later")
            return method(*args, **kwargs)

        return call


def _calls_of_a_clean_run(container, monkeypatch, instance_id: str) -> list[str]:
    job_id = the_job_id(container, instance_id)
    counter = FailNth(container.store, monkeypatch, n=0)
    assert wake(job_id) == {"batchItemFailures": []}
    monkeypatch.undo()
    return counter.calls


@pytest.mark.parametrize("xml, key", [(ASYNC, "background"), (TIMER, "escalate")])
def test_a_store_failure_at_any_call_of_a_job_run_leaves_no_partial_state(
    container, monkeypatch, xml, key
):
    definition_id = deployments.deploy(
        container, source=f"file:{key}", name=key, bpmn={f"{key}.bpmn20.xml": xml}
    ).definition_ids[0]

    def started() -> str:
        _, result = instances.run_command(container, lambda uow: StartProcess(definition_id))
        instance_id = result.instance_id
        if key == "escalate":
            fire_timer(container, instance_id)
        receive_all(container)
        return instance_id

    warm = started()  # caches the definition: the runs below make the same calls
    assert wake(the_job_id(container, warm)) == {"batchItemFailures": []}
    reference = started()
    calls = _calls_of_a_clean_run(container, monkeypatch, reference)
    assert calls.count("transact") == 1 and calls[-1] == "transact"
    for n in range(1, len(calls) + 1):
        instance = started()
        job_id = the_job_id(container, instance)
        runtime_before = [
            (sk, d) for sk, d in runtime(container, instance) if not sk.startswith("job#")
        ]
        history_before = history(container, instance)
        injected = FailNth(container.store, monkeypatch, n)
        response = wake(job_id)
        monkeypatch.undo()
        assert injected.calls[:n] == calls[:n]  # the failure hit the n-th call of a clean run
        # nothing of the run is visible: same instance items, same history, the job still there
        assert [
            (sk, d) for sk, d in runtime(container, instance) if not sk.startswith("job#")
        ] == runtime_before, calls[n - 1]
        assert history(container, instance) == history_before, calls[n - 1]
        assert job_ids(container, instance) == [job_id], calls[n - 1]
        job = container.store.get(Table.RUNTIME, *job_key(job_id))
        if response["batchItemFailures"]:  # failed before the job could be marked: SQS retries
            assert job.data["retries"] == 3
        else:  # the run failed and was recorded: one retry used, due again in 10 s
            assert job.data["retries"] == 2, calls[n - 1]
            assert "unavailable" in job.data["exceptionMessage"]
            container.clock.advance(seconds=10)
        receive_all(container)
        assert wake(job_id) == {"batchItemFailures": []}
        assert job_ids(container, instance) == [], calls[n - 1]
        assert shape(container, instance) == shape(container, reference), calls[n - 1]
    assert dead_letters(container) == []


# --- (d) retries, the dead-letter table, and back --------------------------------------------


def test_a_failing_job_walks_three_two_one_to_the_dead_letter_table_and_back(client, container):
    instance = deploy_and_start(container, FLAKY.format(retry=""), "flaky")
    job_id = the_job_id(container, instance)
    receive_all(container)
    stored = lambda: container.store.get(Table.RUNTIME, *job_key(job_id))  # noqa: E731
    assert stored().data["retries"] == 3
    for left in (2, 1):
        assert wake(job_id) == {"batchItemFailures": []}
        job = stored()
        assert job.data["retries"] == left and job.data["exceptionMessage"]
        assert "not ok yet" in job.data["exceptionMessage"]
        assert job.data["dueDate"] == format_iso(container.clock.now() + timedelta(seconds=10))
        # its retry wake-up was sent (delayed); early it changes nothing
        assert job_id in [json.loads(m["Body"])["jobId"] for m in _pending(container)]
        assert wake(job_id) == {"batchItemFailures": []}
        assert stored().data["retries"] == left
        container.clock.advance(seconds=10)
    assert wake(job_id) == {"batchItemFailures": []}
    assert stored() is None
    [dead] = dead_letters(container)
    assert dead.data["_id"] == job_id and dead.data["retries"] == 0
    listed = json.loads(
        client.http.get(f"{WF}/job/deadletter?_queryFilter=true", headers=ADMIN).body
    )
    assert [j["_id"] for j in listed["result"]] == [job_id]
    assert task_keys(container, instance) == []
    # fix the cause, move it back: fresh retries, queued, and it runs
    instances.run_command(
        container, lambda uow: (uow.load(instance), SetVariables(instance, {"ok": True}))[1]
    )
    response = client.http.post(
        f"{WF}/job/deadletter/{job_id}?_action=execute", headers=JSON, body="{}"
    )
    assert response.status_code == 200, response.body
    assert stored().data["retries"] == 3 and dead_letters(container) == []
    assert drain(container) >= 1
    assert stored() is None and task_keys(container, instance) == ["wait"]
    state = instances.load_instance(container, instance)
    assert state.local_variables(instance)["worked"].value is True


def _pending(container) -> list[dict]:
    """Messages on the queue, visible or still delayed (moto's own queue object)."""
    from moto.sqs.models import sqs_backends

    queue = sqs_backends["123456789012"]["us-east-1"].queues[container.settings.jobs_queue]
    return [{"Body": m.body} for m in queue._messages]


# --- (e) concurrent jobs of one instance -----------------------------------------------------


@pytest.mark.parametrize("round_", range(5))
def test_parallel_async_branches_run_at_once_join_exactly_once(container, round_):
    instance = deploy_and_start(container, PARALLEL, "fork")
    pending = job_ids(container, instance)
    assert len(pending) == 2
    receive_all(container)
    barrier = threading.Barrier(2)
    outcomes: list = []

    def run(job_id: str) -> None:
        barrier.wait()
        outcomes.append(wake(job_id))

    threads = [threading.Thread(target=run, args=(job_id,)) for job_id in pending]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert outcomes == [{"batchItemFailures": []}] * 2
    assert dead_letters(container) == []
    left = job_ids(container, instance)
    # a run that lost the race every time is retried by SQS: deliver what is left
    for job_id in left:
        container.clock.advance(seconds=10)
        wake(job_id)
    assert job_ids(container, instance) == []
    assert task_keys(container, instance) == ["wait"]
    state = instances.load_instance(container, instance)
    assert {n: v.value for n, v in state.local_variables(instance).items()} == {"a": 1, "b": 2}
    waits = [
        d for d in activity_history.read(container.store, instance) if d["activityId"] == "wait"
    ]
    assert len(waits) == 1
    executions = [e for e in state.executions.values() if e.activity_id == "wait"]
    assert len(executions) == 1
