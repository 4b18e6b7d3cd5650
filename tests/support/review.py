"""The review process (a user task assigned to the starter, then a script) and the
unit-of-work helpers that deploy and start it in the service."""

from __future__ import annotations

from chalicelib.engine.runtime import StartProcess
from chalicelib.service import unit_of_work as instances
from chalicelib.service.definitions import deploy as deployments

TWO_TASKS = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:flowable="http://flowable.org/bpmn" targetNamespace="Tests">
  <process id="review" name="Review" isExecutable="true">
    <startEvent id="start" flowable:initiator="starter"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="write"/>
    <userTask id="write" name="Write" flowable:assignee="${starter}"/>
    <sequenceFlow id="f2" sourceRef="write" targetRef="check"/>
    <scriptTask id="check" scriptFormat="javascript">
      <script>if (execution.getVariable("words") > 100) { execution.setVariable("long", true); }
      else { execution.setVariable("long", false); }</script>
    </scriptTask>
    <sequenceFlow id="f3" sourceRef="check" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>"""

FAILING = TWO_TASKS.replace('id="review"', 'id="failing"').replace(
    'execution.getVariable("words") > 100', "undefinedFunction()"
)


def deploy_review(container) -> str:
    """Deploy the review process; its definition id."""
    result = deployments.deploy(
        container, source="file:review", name="review", bpmn={"review.bpmn20.xml": TWO_TASKS}
    )
    return result.definition_ids[0]


def start(container, definition_id, **variables):
    """Start ``definition_id`` as ``alice`` through the unit of work; the command's result."""
    _, result = instances.run_command(
        container, lambda uow: StartProcess(definition_id, variables=variables, initiator="alice")
    )
    return result
