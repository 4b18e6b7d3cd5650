"""Processes with a boundary timer, an async continuation, a failing async script and a timer
with a retry cycle, deployed and started in the service; the dead-letter listing."""

from __future__ import annotations

from chalicelib.engine.runtime import StartProcess
from chalicelib.service import unit_of_work as instances
from chalicelib.service.definitions import deploy as deployments
from chalicelib.service.repositories.layout import LIST_SHARDS
from chalicelib.storage.ports import Table

TIMER = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:flowable="http://flowable.org/bpmn" targetNamespace="Tests">
  <process id="escalate" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <userTask id="review" name="Review"/>
    <boundaryEvent id="late" attachedToRef="review" cancelActivity="true">
      <timerEventDefinition><timeDuration>PT1H</timeDuration></timerEventDefinition>
    </boundaryEvent>
    <sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
    <sequenceFlow id="f3" sourceRef="late" targetRef="escalated"/>
    <userTask id="escalated" name="Escalated"/>
    <sequenceFlow id="f4" sourceRef="escalated" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>"""


ASYNC = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:flowable="http://flowable.org/bpmn" targetNamespace="Tests">
  <process id="background" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <scriptTask id="work" scriptFormat="javascript" flowable:async="true">
      <script>execution.setVariable("done", true);</script>
    </scriptTask>
    <sequenceFlow id="f2" sourceRef="work" targetRef="wait"/>
    <userTask id="wait"/>
    <sequenceFlow id="f3" sourceRef="wait" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>"""

#: The opening of a BPMN document (the Flowable namespace declared), for processes built here.
BPMN_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:flowable="http://flowable.org/bpmn" targetNamespace="Tests">"""

#: An async script that fails until ``ok`` is set; ``{retry}`` takes a retry-cycle attribute.
FLAKY = (
    BPMN_HEAD
    + """
  <process id="flaky" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <scriptTask id="work" scriptFormat="javascript" flowable:async="true" {retry}>
      <script>if (!execution.getVariable("ok")) {{ throw new Error("not ok yet"); }}
        execution.setVariable("worked", true);</script>
    </scriptTask>
    <sequenceFlow id="f2" sourceRef="work" targetRef="wait"/>
    <userTask id="wait"/>
    <sequenceFlow id="f3" sourceRef="wait" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>"""
)

RETRY_TIMER = (
    BPMN_HEAD
    + """
  <process id="retryTimer" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="sleep"/>
    <intermediateCatchEvent id="sleep">
      <extensionElements>
        <flowable:failedJobRetryTimeCycle>R2/PT1M</flowable:failedJobRetryTimeCycle>
      </extensionElements>
      <timerEventDefinition><timeDuration>PT5M</timeDuration></timerEventDefinition>
    </intermediateCatchEvent>
    <sequenceFlow id="f2" sourceRef="sleep" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>"""
)


def deploy_and_start(container, xml, key):
    definition = deployments.deploy(
        container, source=f"file:{key}", name=key, bpmn={f"{key}.bpmn20.xml": xml}
    ).definition_ids[0]
    _, result = instances.run_command(container, lambda uow: StartProcess(definition))
    return result.instance_id


def task_keys(container, instance_id):
    state = instances.load_instance(container, instance_id)
    return sorted(t.task_definition_key for t in state.tasks.values()) if state else []


def dead_letters(container) -> list:
    """The dead-letter listing (its sharded index), every page."""
    from chalicelib.storage.ports import Index
    from chalicelib.storage.sharding import query_shards

    found, token = [], None
    while True:
        page = query_shards(
            container.store,
            Table.DEADLETTER,
            Index.KIND_SHARD_SORT,
            "dlq",
            LIST_SHARDS,
            limit=100,
            start=token,
        )
        found += page.items
        token = page.next_token
        if token is None:
            return found


def wake(job_id: str) -> str:
    """One message for ``job_id`` through the SQS handler."""
    import json

    from chalicelib.messaging.job_message import encode
    from chalicelib.workers import entry

    return entry.on_job_message(
        {"Records": [{"messageId": "m", "body": json.dumps(encode(job_id))}]}
    )
