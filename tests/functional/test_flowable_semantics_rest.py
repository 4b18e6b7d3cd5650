"""Flowable 6 semantics as a REST client sees them (issue 13; engine-level tests in
``tests/unit/engine/runtime``): terminate end events and their delete reasons, event
sub-processes that stop listening with their scope's main flow, data objects, and
``asyncLeave`` end listeners. Each process is deployed as a model, driven through the routes
(jobs run with ``job/{id}?_action=execute``, the test clock moved for timers) and read back
from ``processinstance``, its history, ``taskinstance/history``, ``execution`` and ``job``."""

from __future__ import annotations

from tests.support.conformance import (
    act,
    complete,
    deploy_text,
    execute,
    history,
    instance,
    instance_jobs,
    is_running,
    names,
    open_tasks,
    start,
    subscribed,
    task_history,
)

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:flowable="http://flowable.org/bpmn" targetNamespace="Tests">
  <message id="m1" name="extra"/>
  <process id="{key}" isExecutable="true">"""
TAIL = "</process></definitions>"


def flow(source: str, target: str) -> str:
    return f'<sequenceFlow id="{source}-{target}" sourceRef="{source}" targetRef="{target}"/>'


def process(key: str, body: str) -> str:
    return HEAD.format(key=key) + body + TAIL


def task(client, iid: str, name: str) -> str:
    return next(t["_id"] for t in open_tasks(client, iid) if t["name"] == name)


def deleted_tasks(client, iid: str) -> dict[str, str]:
    return {t["name"]: t["deleteReason"] for t in task_history(client, iid) if t["deleteReason"]}


def test_terminate_end_event_delete_reasons(client):
    deploy_text(
        client,
        "terminated",
        process(
            "terminated",
            '<startEvent id="s"/>'
            + flow("s", "fork")
            + '<parallelGateway id="fork"/>'
            + flow("fork", "a")
            + flow("fork", "b")
            + '<userTask id="a" name="A"/><userTask id="b" name="B"/>'
            + flow("a", "t")
            + '<endEvent id="t"><terminateEventDefinition/></endEvent>',
        ),
    )
    iid = start(client, "terminated")["_id"]
    complete(client, task(client, iid, "A"))
    assert not is_running(client, iid) and open_tasks(client, iid) == []
    record = history(client, iid)
    assert record["deleteReason"] == "terminate end event (t)"
    assert record["endActivityId"] == "t" and record["endTime"]
    assert instance(client, iid)["deleteReason"] == "terminate end event (t)"
    assert deleted_tasks(client, iid) == {"B": "terminate end event (t)"}


def test_terminate_multi_instance_ends_the_whole_activity(client):
    deploy_text(
        client,
        "miTerminate",
        process(
            "miTerminate",
            '<startEvent id="s"/>' + flow("s", "sub") + '<subProcess id="sub">'
            '<multiInstanceLoopCharacteristics isSequential="false"><loopCardinality>3'
            "</loopCardinality></multiInstanceLoopCharacteristics>"
            '<startEvent id="ss"/>'
            + flow("ss", "fork")
            + '<parallelGateway id="fork"/>'
            + flow("fork", "a")
            + flow("fork", "b")
            + '<userTask id="a" name="a${loopCounter}"/><userTask id="b" name="b${loopCounter}"/>'
            + flow("a", "term")
            + '<endEvent id="term"><terminateEventDefinition '
            'flowable:terminateMultiInstance="true"/></endEvent>'
            + flow("b", "se")
            + '<endEvent id="se"/></subProcess>'
            + flow("sub", "after")
            + '<userTask id="after" name="After"/>',
        ),
    )
    iid = start(client, "miTerminate")["_id"]
    assert names(client, iid) == ["a0", "a1", "a2", "b0", "b1", "b2"]
    complete(client, task(client, iid, "a1"))
    assert names(client, iid) == ["After"]
    reason = "terminate end event (sub)"
    assert deleted_tasks(client, iid) == dict.fromkeys(["a0", "a2", "b0", "b1", "b2"], reason)


def test_event_sub_process_stops_listening_with_the_main_flow(client, container):
    """A message event sub-process and a timer-cycle one (both non-interrupting): once the
    main flow's task is done, the running handler finishes but neither can start again."""
    deploy_text(
        client,
        "listening",
        process(
            "listening",
            '<startEvent id="s"/>'
            + flow("s", "work")
            + '<userTask id="work" name="Work"/>'
            + flow("work", "e")
            + '<endEvent id="e"/>'
            '<subProcess id="byMessage" triggeredByEvent="true"><startEvent id="ms" '
            'isInterrupting="false"><messageEventDefinition messageRef="m1"/></startEvent>'
            + flow("ms", "handle")
            + '<userTask id="handle" name="Handle"/></subProcess>'
            '<subProcess id="byTimer" triggeredByEvent="true"><startEvent id="ts" '
            'isInterrupting="false"><timerEventDefinition><timeCycle>R/PT1H</timeCycle>'
            "</timerEventDefinition></startEvent>"
            + flow("ts", "remind")
            + '<userTask id="remind" name="Remind"/></subProcess>',
        ),
    )
    iid = start(client, "listening")["_id"]
    [listener] = subscribed(client, "message", "extra")
    act(
        client,
        "message",
        {"messageName": "extra", "executionId": listener["_id"], "processVariables": {}},
    )
    [timer] = instance_jobs(client, iid, timersOnly="true")
    container.clock.advance(hours=1, seconds=1)
    execute(client, timer["_id"])
    assert names(client, iid) == ["Handle", "Remind", "Work"]
    assert len(subscribed(client, "message", "extra")) == 1
    assert len(instance_jobs(client, iid, timersOnly="true")) == 1
    complete(client, task(client, iid, "Work"))
    assert subscribed(client, "message", "extra") == []
    assert instance_jobs(client, iid) == []
    container.clock.advance(hours=2)
    assert names(client, iid) == ["Handle", "Remind"] and is_running(client, iid)
    for name in ("Handle", "Remind"):
        complete(client, task(client, iid, name))
    assert not is_running(client, iid) and history(client, iid)["deleteReason"] is None


def test_data_objects_are_variables_from_the_start(client):
    deploy_text(
        client,
        "withData",
        process(
            "withData",
            '<dataObject id="d1" name="title" itemSubjectRef="xsd:string"><extensionElements>'
            "<flowable:value>Hello</flowable:value></extensionElements></dataObject>"
            '<dataObject id="d2" name="limit" itemSubjectRef="xsd:int"><extensionElements>'
            "<flowable:value>3</flowable:value></extensionElements></dataObject>"
            '<dataObject id="d3" name="when" itemSubjectRef="xsd:datetime"><extensionElements>'
            "<flowable:value>2013-09-16T11:23:00</flowable:value></extensionElements>"
            "</dataObject>"
            '<startEvent id="s"/>' + flow("s", "u") + '<userTask id="u" name="${title} ${limit}"/>',
        ),
    )
    iid = start(client, "withData", limit=7)["_id"]
    assert instance(client, iid)["processVariables"] == {
        "title": "Hello",
        "limit": 7,
        "when": "2013-09-16T11:23:00.000Z",
    }
    assert names(client, iid) == ["Hello 7"]


def test_async_leave_end_listener_runs_with_the_leave_job(client):
    """Flowable's AsyncLeaveTest.testExecutionListenersAsyncLeave through the routes."""
    listener = (
        '<flowable:executionListener event="{0}" '
        "expression=\"${{execution.setVariable('{0}', true)}}\"/>"
    )
    deploy_text(
        client,
        "leaving",
        process(
            "leaving",
            '<startEvent id="s"/>'
            + flow("s", "u")
            + '<userTask id="u" name="U" flowable:asyncLeave="true"><extensionElements>'
            + listener.format("start")
            + listener.format("end")
            + "</extensionElements></userTask>"
            + flow("u", "next")
            + '<userTask id="next" name="Next"/>',
        ),
    )
    iid = start(client, "leaving")["_id"]
    complete(client, task(client, iid, "U"))
    assert instance(client, iid)["processVariables"] == {"start": True}
    [job] = instance_jobs(client, iid)
    assert job["jobHandlerType"] == "async-after" and job["elementId"] == "u"
    execute(client, job["_id"])
    assert instance(client, iid)["processVariables"] == {"start": True, "end": True}
    assert names(client, iid) == ["Next"]
