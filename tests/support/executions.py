"""Shared processes and helpers of the ``test_execution_*`` tests."""

from __future__ import annotations

import json

from chalicelib.engine.runtime import StartProcess
from chalicelib.service import unit_of_work as instances
from chalicelib.service.definitions import deploy as deployments
from chalicelib.storage.ports import Table
from tests.support.rest import ADMIN

WF = "/openidm/workflow"
JSON = dict(ADMIN, **{"Content-Type": "application/json"})
_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:flowable="http://flowable.org/bpmn" targetNamespace="Tests">
  <message id="m1" name="go"/><message id="m2" name="begin"/><signal id="s1" name="alert"/>
  <process id="{key}" name="{name}" isExecutable="true">"""
_TAIL = """
    <userTask id="T" name="After"/>
    <sequenceFlow id="f9" sourceRef="T" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>"""
#: start -> the waiting element ``c`` -> user task T -> end
_WAITS = {
    "msgwait": '<intermediateCatchEvent id="c"><messageEventDefinition messageRef="m1"/>'
    "</intermediateCatchEvent>",
    "sigwait": '<intermediateCatchEvent id="c"><signalEventDefinition signalRef="s1"/>'
    "</intermediateCatchEvent>",
    "recv": '<receiveTask id="c"/>',
    "miwait": '<userTask id="c" name="Each"><multiInstanceLoopCharacteristics '
    'isSequential="false"><loopCardinality>2</loopCardinality>'
    "</multiInstanceLoopCharacteristics></userTask>",
    "sigfail": '<intermediateCatchEvent id="c"><signalEventDefinition signalRef="s1"/>'
    '</intermediateCatchEvent><sequenceFlow id="f3" sourceRef="c" targetRef="boom"/>'
    '<scriptTask id="boom" scriptFormat="javascript"><script>throw new Error("no");'
    "</script></scriptTask>",
    "thrower": '<intermediateThrowEvent id="c"><signalEventDefinition signalRef="s1"/>'
    "</intermediateThrowEvent>",
}
_STARTS = {
    "msgstart": '<startEvent id="start"><messageEventDefinition messageRef="m2"/></startEvent>',
    "sigstart": '<startEvent id="start"><signalEventDefinition signalRef="s1"/></startEvent>',
}


def bpmn(key: str) -> str:
    head = _HEAD.format(key=key, name=key.title())
    if key in _STARTS:
        return (
            head + _STARTS[key] + '<sequenceFlow id="f1" sourceRef="start" targetRef="T"/>' + _TAIL
        )
    return (
        head + '<startEvent id="start"/><sequenceFlow id="f1" sourceRef="start" '
        'targetRef="c"/>'
        + _WAITS[key]
        + '<sequenceFlow id="f2" sourceRef="c" targetRef="T"/>'
        + _TAIL
    )


def deploy(container, key: str) -> str:
    return deployments.deploy(
        container, source=f"file:{key}", name=key, bpmn={f"{key}.bpmn20.xml": bpmn(key)}
    ).definition_ids[0]


def start(container, definition_id: str, variables=None, business_key=None) -> str:
    _, result = instances.run_command(
        container,
        lambda uow: StartProcess(
            definition_id, variables=variables or {}, business_key=business_key
        ),
    )
    return result.instance_id


def waiting_execution(container, instance_id: str) -> str:
    """The execution at ``c``."""
    state = instances.load_instance(container, instance_id)
    [execution] = [e for e in state.executions.values() if e.activity_id == "c"]
    return execution.id


def tasks(container, instance_id: str) -> list[str]:
    state = instances.load_instance(container, instance_id)
    return sorted(t.task_definition_key for t in state.tasks.values()) if state else []


def variables(container, instance_id: str) -> dict:
    state = instances.load_instance(container, instance_id)
    return {name: v.value for name, v in state.local_variables(instance_id).items()}


def job_items(container, instance_id: str) -> list:
    return container.store.query(Table.RUNTIME, instance_id, sk_prefix="job#").items


def post(client, action: str, body, headers=None):
    response = client.http.post(
        f"{WF}/execution?_action={action}", headers=headers or JSON, body=json.dumps(body)
    )
    return response.status_code, json.loads(response.body)


def drain(container, rounds: int = 50) -> int:
    """Run the queue worker until the jobs queue is empty; the number of messages handled."""
    from chalicelib import aws
    from chalicelib.workers import entry

    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=container.settings.jobs_queue)["QueueUrl"]
    handled = 0
    for _ in range(rounds):
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return handled
        records = [{"messageId": m["MessageId"], "body": m["Body"]} for m in messages]
        assert entry.on_job_message({"Records": records}) == {"batchItemFailures": []}
        for m in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        handled += len(messages)
    raise AssertionError("the jobs queue never emptied")
