"""The onboarding process with one user task, the users of the task authorization tests, and a
wide multi-instance process (`WIDE`) for the task history tests."""

from __future__ import annotations

from chalicelib.engine.runtime import StartProcess
from chalicelib.service import unit_of_work as instances
from chalicelib.service.definitions import deploy as deployments

ONBOARD = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:flowable="http://flowable.org/bpmn" targetNamespace="Tests">
  <process id="onboard" name="Onboard" isExecutable="true">
    <startEvent id="start" flowable:initiator="starter"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="approve"/>
    <userTask id="approve" name="Approve ${who}" flowable:candidateUsers="bob"
              flowable:candidateGroups="managers, internal/role/hr" flowable:formKey="approve.js"
              flowable:priority="60">
      <documentation>Please approve ${who}</documentation>
      <extensionElements>
        <flowable:formProperty id="decision" type="enum">
          <flowable:value id="accept" name="Accept"/><flowable:value id="reject" name="Reject"/>
        </flowable:formProperty>
        <flowable:formProperty id="who" writable="false"/>
      </extensionElements>
    </userTask>
    <sequenceFlow id="f2" sourceRef="approve" targetRef="gw"/>
    <exclusiveGateway id="gw"/>
    <sequenceFlow id="yes" sourceRef="gw" targetRef="welcome">
      <conditionExpression>${decision == 'accept'}</conditionExpression>
    </sequenceFlow>
    <sequenceFlow id="no" sourceRef="gw" targetRef="end">
      <conditionExpression>${decision == 'reject'}</conditionExpression>
    </sequenceFlow>
    <userTask id="welcome" name="Welcome" flowable:assignee="${starter}"/>
    <sequenceFlow id="f3" sourceRef="welcome" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>"""


def deploy_onboard(container) -> str:
    return deployments.deploy(
        container,
        source="test:onboard",
        name="onboard.bpmn20.xml",
        bpmn={"onboard.bpmn20.xml": ONBOARD},
    ).definition_ids[0]


def start(container, definition_id: str, **variables) -> tuple[str, str]:
    """Start an instance; ``(instance id, id of its open task)``."""
    _, result = instances.run_command(
        container,
        lambda uow: StartProcess(definition_id, variables=variables, initiator="starter-user"),
    )
    [task_id] = result.state.tasks
    return result.instance_id, task_id


AUTHORIZED = "internal/role/openidm-authorized"


def as_user(name: str) -> dict:
    return {
        "X-OpenIDM-Username": name,
        "X-OpenIDM-Password": PASSWORDS[name],
        "Content-Type": "application/json",
    }


PASSWORDS = {"bob": "bob-pw", "carol": "carol-pw", "hank": "hank-pw", "dave": "dave-pw"}


#: a parallel multi-instance user task of ``${width}`` tasks assigned to ``${who}``: many
#: historic tasks per instance (the task history state tests)
WIDE = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:flowable="http://flowable.org/bpmn" targetNamespace="Tests">
  <process id="wide" name="Wide" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <userTask id="review" name="Review" flowable:assignee="${who}">
      <multiInstanceLoopCharacteristics isSequential="false">
        <loopCardinality>${width}</loopCardinality>
      </multiInstanceLoopCharacteristics>
    </userTask>
    <sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>"""
