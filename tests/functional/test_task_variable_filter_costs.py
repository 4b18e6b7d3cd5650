"""Task filters that look at each task's instance cost the same at any size: ``var-<name>`` on
``taskinstance`` reads the listed variables of a batch's instances from their headers (one
BatchGetItem per batch, not one Query per instance), and ``var-<name>``,
``processFinished``/``processUnfinished`` on ``taskinstance/history`` read the batch's
historic process items the same way. An instance whose variables do not fit its header (over
4 KB of them) is read by the names its header carries, in one more BatchGetItem for the whole
batch; one with more than 100 variables is still read alone (one Query), and answers the same.

Through HTTP over moto at two sizes (instances built on the memory store, written to moto in
bulk: ``tests.support.mirrored``); every answer is checked against what was started."""

from __future__ import annotations

import json

from tests.support.instances import BIG_DOC, MANY_VARIABLES, counted_query
from tests.support.mirrored import Mirror
from tests.support.rest import ADMIN, WF, expect

JSON = {**ADMIN, "Content-Type": "application/json"}

ONE_TASK = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:flowable="http://flowable.org/bpmn" targetNamespace="costs">
  <process id="vartask" name="Var task" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <userTask id="review" name="Review" flowable:candidateGroups="g"/>
    <sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>"""


def _deploy(client) -> None:
    body = json.dumps({"name": "vartask", "bpmnXML": ONE_TASK}).encode()
    model = expect(client.http.post(f"{WF}/model", headers=JSON, body=body), 201)
    expect(client.http.post(f"{WF}/model/{model['_id']}?_action=deploy", headers=JSON), 200)


def _start(client, variables: dict) -> str:
    body = json.dumps({"_key": "vartask", **variables}).encode()
    started = expect(
        client.http.post(f"{WF}/processinstance?_action=create", headers=JSON, body=body), 201
    )
    return started["_id"]


def _task_of(client, instance_id: str) -> str:
    found = expect(
        client.http.get(
            f"{WF}/taskinstance?_queryId=filtered-query&processInstanceId={instance_id}",
            headers=ADMIN,
        ),
        200,
    )["result"]
    return found[0]["_id"]


def _grow(client, first: int, count: int, made: dict[str, dict]) -> None:
    """``count`` more instances numbered from ``first``: ``n`` = number % 4; every third one's
    task completed (its instance finished)."""
    for number in range(first, first + count):
        instance_id = _start(client, {"n": number % 4})
        finished = number % 3 == 1
        if finished:
            task = _task_of(client, instance_id)
            expect(
                client.http.post(
                    f"{WF}/taskinstance/{task}?_action=complete", headers=JSON, body=b"{}"
                ),
                200,
            )
        made[instance_id] = {"n": number % 4, "finished": finished}


def _instances(client, path: str, params: str) -> tuple[set[str], dict]:
    data, counts = counted_query(client, f"{WF}/{path}", params)
    assert data["pagedResultsCookie"] is None  # one page holds every match at these sizes
    return {t["processInstanceId"] for t in data["result"]}, counts


def test_instance_filters_on_tasks_cost_the_same_at_any_size(client, container):
    mirror = Mirror(container)
    made: dict[str, dict] = {}
    with mirror.building():
        _deploy(client)
        # one instance whose variables pass the 4 KB a header lists: read by name, still right
        big = _start(client, {"n": 1, "doc": BIG_DOC})
        made[big] = {"n": 1, "finished": False}
        # and one with more variables than a header names: read alone
        many = _start(client, {"n": 1, **MANY_VARIABLES})
        made[many] = {"n": 1, "finished": False}
        _grow(client, 0, 8, made)
    costs = []
    for first, count in ((8, 0), (8, 40)):
        with mirror.building():
            _grow(client, first, count, made)
        open_ones = {i for i, m in made.items() if m["n"] == 1 and not m["finished"]}
        found, running = _instances(
            client, "taskinstance", "_queryId=filtered-query&var-n=1&_pageSize=100"
        )
        assert found == open_ones and {big, many} <= found
        done = {i for i, m in made.items() if m["n"] == 1 and m["finished"]}
        found, ended = _instances(
            client,
            "taskinstance/history",
            "_queryId=filtered-query&processFinished=true&var-n=1&_pageSize=100",
        )
        assert found == done and done
        found, unended = _instances(
            client, "taskinstance/history", "_queryId=filtered-query&processUnfinished=true"
        )
        assert found == {i for i, m in made.items() if not m["finished"]}
        costs.append((running, ended, unended))
    assert costs[0] == costs[1]
    running, ended, unended = costs[0]
    # the 8 listing shards, one BatchGetItem of the headers and one of the big one's named
    # variables, one Query of the many variables
    assert running == {"Query": 8 + 1, "BatchGetItem": 2}
    # the same with the historic process items; a state filter alone reads no variable
    assert ended == {"Query": 8 + 1, "BatchGetItem": 2}
    assert unended == {"Query": 8, "BatchGetItem": 1}
