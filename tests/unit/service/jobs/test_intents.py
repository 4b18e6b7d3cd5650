"""`service/jobs/intents`: commands larger than one transaction commit through a commit intent;
an apply interrupted after the decide transaction is finished by the intent's job or rolled
forward by the next command.

Memory store and publisher (it enforces DynamoDB's 100-item transaction limit). The intent
items over both stores: ``tests/contract/test_commit_intent.py``.
"""

from __future__ import annotations

from chalicelib.engine.runtime import StartProcess
from chalicelib.service import unit_of_work as instances
from chalicelib.service.definitions import deploy as deployments
from chalicelib.service.jobs import actions as jobs
from chalicelib.service.jobs import intents as commit_intents
from chalicelib.service.repositories import history as activity_history
from chalicelib.storage import intent
from chalicelib.storage.ports import Table

LONG_RUN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:flowable="http://flowable.org/bpmn" targetNamespace="Tests">
  <process id="longRun" isExecutable="true">
    <!-- full: a history detail per variable update (loop counters included), so the run writes
         far more than the 100 items of one transaction -->
    <extensionElements><flowable:historyLevel>full</flowable:historyLevel></extensionElements>
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="step"/>
    <task id="step">
      <multiInstanceLoopCharacteristics isSequential="true">
        <loopCardinality>150</loopCardinality>
      </multiInstanceLoopCharacteristics>
    </task>
    <sequenceFlow id="f2" sourceRef="step" targetRef="wait"/>
    <userTask id="wait"/>
    <sequenceFlow id="f3" sourceRef="wait" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>"""


def start(container):
    definition = deployments.deploy(
        container, source="file:longRun", name="longRun", bpmn={"longRun.bpmn20.xml": LONG_RUN}
    ).definition_ids[0]
    _, result = instances.run_command(container, lambda uow: StartProcess(definition))
    return result


def test_long_automatic_run_commits_and_its_history_arrives(container):
    result = start(container)
    history = container.store.query(Table.HISTORY, result.instance_id).items
    assert sum(1 for i in history if i.sk.startswith("vdet#")) > 150
    activities = activity_history.read(container.store, result.instance_id)
    assert sum(1 for a in activities if a["activityId"] == "step") == 150  # every iteration
    assert any(i.sk == "#process" for i in history)
    runtime = container.store.query(Table.RUNTIME, result.instance_id).items
    assert not [i.sk for i in runtime if i.sk.startswith(("#intent", "job#"))]
    state = instances.load_instance(container, result.instance_id)
    assert [t.task_definition_key for t in state.tasks.values()] == ["wait"]


def interrupt_apply(monkeypatch):
    """The committer dies between the decide transaction and the apply."""

    def fail(store, pending):
        raise RuntimeError("Lambda timed out")

    monkeypatch.setattr(commit_intents.intents, "apply", fail)


def test_interrupted_apply_is_finished_by_the_job(container, monkeypatch):
    with monkeypatch.context() as patch:
        interrupt_apply(patch)
        result = start(container)
    runtime = container.store.query(Table.RUNTIME, result.instance_id).items
    [job] = [i for i in runtime if i.sk.startswith("job#")]
    assert job.data["jobHandlerType"] == commit_intents.HANDLER
    assert [i for i in runtime if i.sk == intent.INTENT_SK]
    assert container.store.query(Table.HISTORY, result.instance_id).items == []
    assert jobs.run_job(container, job.data["_id"]) == "executed"
    assert len(container.store.query(Table.HISTORY, result.instance_id).items) > 150
    assert "absent" in jobs.run_job(container, job.data["_id"])
    left = container.store.query(Table.RUNTIME, result.instance_id).items
    assert not [i.sk for i in left if i.sk.startswith(("#intent", "job#"))]


def test_the_next_command_rolls_an_interrupted_commit_forward(container, monkeypatch):
    with monkeypatch.context() as patch:
        interrupt_apply(patch)
        result = start(container)
    state = instances.load_instance(container, result.instance_id)  # rolls it forward
    assert [t.task_definition_key for t in state.tasks.values()] == ["wait"]
    assert len(container.store.query(Table.HISTORY, result.instance_id).items) > 150
    left = container.store.query(Table.RUNTIME, result.instance_id).items
    assert not [i.sk for i in left if i.sk.startswith(("#intent", "job#"))]  # job removed too
