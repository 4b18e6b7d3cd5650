"""``make run`` (embedded moto) sends a mail task's mail: the launcher verifies
``WORKFLOW_MAIL_FROM`` in moto's SES, its jobs worker runs the ``mail-task`` job."""

from __future__ import annotations

import pytest

from tests.support.launcher import WF, post_json, running_launcher, wait_until
from tests.support.rest import ADMIN

SENDER = "workflow@localhost"
XML = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:flowable="http://flowable.org/bpmn" targetNamespace="Tests">
  <process id="notify" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="mail"/>
    <serviceTask id="mail" flowable:type="mail"><extensionElements>
      <flowable:field name="to"><flowable:expression>${who}</flowable:expression></flowable:field>
      <flowable:field name="subject"><flowable:string>Welcome</flowable:string></flowable:field>
      <flowable:field name="text"><flowable:string>Hello</flowable:string></flowable:field>
    </extensionElements></serviceTask>
    <sequenceFlow id="f2" sourceRef="mail" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>"""


@pytest.fixture(scope="module")
def service():
    with running_launcher(deploy_workflows=False, WORKFLOW_MAIL_FROM=SENDER) as running:
        yield running.url + WF


def test_a_started_mail_task_sends_through_moto_ses(service):
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    from chalicelib.bootstrap import get_container
    from chalicelib.service.definitions import deploy as deployments

    container = get_container()
    [definition] = deployments.deploy(
        container, source="file:notify", name="notify", bpmn={"notify.bpmn20.xml": XML}
    ).definition_ids
    headers = dict(ADMIN, **{"Content-Type": "application/json"})
    status, _, _ = post_json(
        f"{service}/processinstance?_action=create",
        {"_processDefinitionId": definition, "who": "kermit@example.org"},
        headers,
    )
    assert status in (200, 201)
    backend = ses_backends[DEFAULT_ACCOUNT_ID][container.settings.region]
    assert wait_until(lambda: len(backend.sent_messages) == 1)
    [sent] = backend.sent_messages
    assert sent.source == SENDER and "kermit@example.org" in sent.destinations
