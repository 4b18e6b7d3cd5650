"""A 500-way parallel multi-instance, end to end through the REST API over moto.

Starting it writes about 1,500 runtime items and completing it removes as many: far more than
one DynamoDB transaction takes (100). Both commands commit through a commit intent
(``service.commit_intents``): every transaction stays within the limits, and what clients read
is the whole fan-out, never a part of it.
"""

from __future__ import annotations

import contextlib
import json

from chalicelib.service.repositories import history as activity_history
from chalicelib.storage import intent
from chalicelib.storage.ports import Table
from tests.support.rest import ADMIN, WF, expect

JSON_ADMIN = dict(ADMIN, **{"Content-Type": "application/json"})
ENOUGH = 3

FAN_OUT = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:flowable="http://flowable.org/bpmn" targetNamespace="Tests">
  <process id="fanOut" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <userTask id="review" name="Review" flowable:assignee="reviewer${loopCounter}">
      <multiInstanceLoopCharacteristics isSequential="false">
        <loopCardinality>${width}</loopCardinality>
        <completionCondition>${nrOfCompletedInstances >= 3}</completionCondition>
      </multiInstanceLoopCharacteristics>
    </userTask>
    <sequenceFlow id="f2" sourceRef="review" targetRef="decide"/>
    <userTask id="decide" name="Decide"/>
    <sequenceFlow id="f3" sourceRef="decide" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>"""


def call(client, method: str, path: str, payload=None):
    body = None if payload is None else json.dumps(payload).encode()
    return client.http.request(method, f"{WF}/{path}", headers=JSON_ADMIN, body=body)


def open_tasks(client, instance_id: str) -> list[dict]:
    data = expect(
        call(
            client,
            "GET",
            f"taskinstance?_queryId=filtered-query&_pageSize=1000&processInstanceId={instance_id}",
        ),
        200,
    )
    return data["result"]


@contextlib.contextmanager
def transactions(container):
    """The number of writes of each transaction the store runs meanwhile."""
    sent: list[int] = []
    transact = container.store.transact

    def spy(writes, **kwargs):
        sent.append(len(writes))
        return transact(writes, **kwargs)

    container.store.transact = spy
    try:
        yield sent
    finally:
        container.store.transact = transact


def test_a_500_way_parallel_multi_instance_runs_end_to_end(client, container):
    width = 500
    model = expect(call(client, "POST", "model", {"name": "fanOut", "bpmnXML": FAN_OUT}), 201)
    expect(call(client, "POST", f"model/{model['_id']}?_action=deploy"), 200)

    with transactions(container) as sent:
        started = expect(
            call(client, "POST", "processinstance", {"_key": "fanOut", "width": width}), 201
        )
    instance_id = started["_id"]
    # an execution, a task and loop variables per branch, in transactions of at most 100
    assert sum(sent) > 3 * width and max(sent) <= 100, sent

    tasks = open_tasks(client, instance_id)
    assert len(tasks) == width
    assert {t["assignee"] for t in tasks} == {f"reviewer{n}" for n in range(width)}
    runtime = container.store.query(Table.RUNTIME, instance_id).items
    assert not [i for i in runtime if i.sk == intent.INTENT_SK or i.sk.startswith("job#")]
    read = expect(call(client, "GET", f"processinstance/{instance_id}"), 200)
    assert len(read["tasks"]) == width

    by_assignee = {t["assignee"]: t["_id"] for t in tasks}
    for n in range(ENOUGH):  # the completion condition holds after the third
        expect(
            call(
                client,
                "POST",
                f"taskinstance/{by_assignee[f'reviewer{n}']}?_action=complete",
                {"verdict": n},
            ),
            200,
        )

    left = open_tasks(client, instance_id)
    assert [t["taskDefinitionKey"] for t in left] == ["decide"]
    runtime = container.store.query(Table.RUNTIME, instance_id).items
    assert not [
        i
        for i in runtime
        if i.sk.startswith(("task#", "#intent", "job#"))
        and i.data.get("task_definition_key") != "decide"
    ]
    history = expect(
        call(
            client,
            "GET",
            "taskinstance/history?_queryId=filtered-query&"
            f"_pageSize=1000&processInstanceId={instance_id}",
        ),
        200,
    )
    reviews = [t for t in history["result"] if t["taskDefinitionKey"] == "review"]
    assert len(reviews) == width
    assert sum(1 for t in reviews if t["deleteReason"] is None) == ENOUGH
    assert all(t["endTime"] for t in reviews)

    expect(call(client, "POST", f"taskinstance/{left[0]['_id']}?_action=complete", {}), 200)
    record = expect(call(client, "GET", f"processinstance/history/{instance_id}"), 200)
    assert record["endActivityId"] == "end"


ASYNC_FAN_OUT = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:flowable="http://flowable.org/bpmn" targetNamespace="Tests">
  <process id="asyncFanOut" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <scriptTask id="work" scriptFormat="javascript" flowable:async="true">
      <multiInstanceLoopCharacteristics isSequential="false">
        <loopCardinality>${width}</loopCardinality>
      </multiInstanceLoopCharacteristics>
      <script>execution.setVariable("ran", loopCounter);</script>
    </scriptTask>
    <sequenceFlow id="f2" sourceRef="work" targetRef="after"/>
    <userTask id="after" name="After"/>
    <sequenceFlow id="f3" sourceRef="after" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>"""


def test_a_wide_fan_out_of_async_tasks_queues_one_job_each_and_joins_once(client, container):
    from chalicelib.service.jobs import actions as jobs

    width = 40  # about 200 writes to start: beyond one transaction
    model = expect(
        call(client, "POST", "model", {"name": "asyncFanOut", "bpmnXML": ASYNC_FAN_OUT}), 201
    )
    expect(call(client, "POST", f"model/{model['_id']}?_action=deploy"), 200)
    with transactions(container) as sent:
        started = expect(
            call(client, "POST", "processinstance", {"_key": "asyncFanOut", "width": width}), 201
        )
    assert sum(sent) > 100 and max(sent) <= 100, sent
    instance_id = started["_id"]
    queued = container.store.query(Table.RUNTIME, instance_id, sk_prefix="job#").items
    assert len(queued) == width  # deferred under the intent, every one of them written
    assert {j.data["jobHandlerType"] for j in queued} == {"async-continuation"}
    assert open_tasks(client, instance_id) == []
    for job in reversed(queued):  # any order: the last one to finish moves the process on
        assert jobs.run_job(container, job.data["_id"]) == "executed"
    assert [t["taskDefinitionKey"] for t in open_tasks(client, instance_id)] == ["after"]
    left = container.store.query(Table.RUNTIME, instance_id).items
    assert not [i.sk for i in left if i.sk.startswith(("job#", "#intent"))]
    history = activity_history.read(container.store, instance_id)
    assert (
        sum(
            1
            for a in history
            if a["activityId"] == "work" and a["activityType"] == "scriptTask" and a["endTime"]
        )
        == width
    )
