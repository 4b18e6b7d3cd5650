"""The HTTP task tests' process, settings and helpers (``tests/functional/test_http_task*.py``):
an HTTP task ``call`` between a start event and a receive task ``after``, run through the jobs
worker against the local server of ``tests/support/http_server.py``."""

from __future__ import annotations

from chalicelib.service.definitions import deploy as deployments
from tests.support.executions import drain, job_items, start
from tests.support.http_server import LocalServer

SECRET = "s3cr3t-Value-42"
SSM_SECRET = "ssm-Held-Secret-7"
CAP = 4096


def http_settings(server: LocalServer):
    """The test settings, the local server allowed, small caps, two header secrets."""
    from chalicelib.settings import Settings
    from tests.support.env import TEST_ENV

    env = dict(
        TEST_ENV,
        WORKFLOW_HTTP_ALLOW=f"{server.base},http://nohost:9798",
        WORKFLOW_HTTP_TIMEOUT_SECONDS="4",
        WORKFLOW_HTTP_MAX_RESPONSE_BYTES=str(CAP),
        WORKFLOW_HTTP_SECRET_TOKEN=SECRET,
        WORKFLOW_HTTP_SECRET_VAULT="ssm:/wf/http/vault",
    )
    return Settings.from_env(env)


def http_process(fields: dict[str, str], *, catch: str | None = None) -> str:
    """start -> HTTP task ``call`` -> receive task ``after`` -> end; ``catch``: a boundary
    error event with that code leading to the receive task ``caught``."""
    field_xml = "".join(
        f'<flowable:field name="{name}"><flowable:expression><![CDATA[{value}]]>'
        "</flowable:expression></flowable:field>"
        if "${" in value
        else f'<flowable:field name="{name}"><flowable:string><![CDATA[{value}]]>'
        "</flowable:string></flowable:field>"
        for name, value in fields.items()
    )
    boundary = f'<error id="err" errorCode="{catch}"/>' if catch else ""
    caught = (
        '<boundaryEvent id="b" attachedToRef="call"><errorEventDefinition errorRef="err"/>'
        '</boundaryEvent><receiveTask id="caught"/>'
        '<sequenceFlow id="f4" sourceRef="b" targetRef="caught"/>'
        if catch
        else ""
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:flowable="http://flowable.org/bpmn" targetNamespace="Tests">
  {boundary}
  <process id="http" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="call"/>
    <serviceTask id="call" flowable:type="http"><extensionElements>{field_xml}
    </extensionElements></serviceTask>
    <sequenceFlow id="f2" sourceRef="call" targetRef="after"/>
    <receiveTask id="after"/>
    <sequenceFlow id="f3" sourceRef="after" targetRef="end"/>
    <endEvent id="end"/>
    {caught}
  </process>
</definitions>"""


def run(container, fields: dict[str, str], start_variables=None, catch=None) -> str:
    definition = deployments.deploy(
        container,
        source="file:http",
        name="http",
        bpmn={"http.bpmn20.xml": http_process(fields, catch=catch)},
    ).definition_ids[0]
    instance = start(container, definition, start_variables or {})
    drain(container)
    return instance


def waiting_at(container, instance: str) -> list[str]:
    from chalicelib.service import unit_of_work as instances

    state = instances.load_instance(container, instance)
    return sorted(e.activity_id for e in state.executions.values() if e.activity_id)


def the_job(container, instance: str) -> dict:
    [job] = job_items(container, instance)
    return job.data
