"""The instance unit of work over moto: load, run the engine, commit with history."""

from __future__ import annotations

import threading

import pytest

from chalicelib import aws
from chalicelib.engine.runtime import CompleteTask, StartProcess
from chalicelib.errors import ConcurrencyError, NotFound, ProcessFailure
from chalicelib.service import unit_of_work as instances
from chalicelib.service.definitions import deploy as deployments
from chalicelib.storage.ports import Table

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


@pytest.fixture
def definition_id(container):
    result = deployments.deploy(
        container, source="file:review", name="review", bpmn={"review.bpmn20.xml": TWO_TASKS}
    )
    return result.definition_ids[0]


def start(container, definition_id, **variables):
    _, result = instances.run_command(
        container, lambda uow: StartProcess(definition_id, variables=variables, initiator="alice")
    )
    return result


def test_start_commits_instance_and_history(container, definition_id):
    result = start(container, definition_id, words=5)
    state = instances.load_instance(container, result.instance_id)
    [task] = state.tasks.values()
    assert task.assignee == "alice" and task.task_definition_key == "write"
    process = container.store.get(Table.HISTORY, result.instance_id, "#process")
    assert process.data["startUserId"] == "alice" and process.data["endTime"] is None
    assert container.store.get(Table.HISTORY, result.instance_id, f"task#{task.id}") is not None


def test_complete_runs_to_the_end_and_closes_history(container, definition_id):
    started = start(container, definition_id, words=500)
    task_id = next(iter(started.state.tasks))
    instances.run_command(
        container,
        lambda uow: (uow.load(started.instance_id), CompleteTask(task_id, {"x": 1}, "alice"))[1],
    )
    state = instances.load_instance(container, started.instance_id)
    assert state is None or state.header.status.is_ended
    process = container.store.get(Table.HISTORY, started.instance_id, "#process")
    assert process.data["endTime"] is not None and process.data["endActivityId"] == "end"
    task = container.store.get(Table.HISTORY, started.instance_id, f"task#{task_id}")
    assert task.data["endTime"] is not None and task.data["taskLocalVariables"] == {"x": 1}


def test_start_costs_one_write_and_complete_two_requests(container, definition_id):
    definitions_warm = start(container, definition_id)  # warms the definition cache
    task_id = next(iter(definitions_warm.state.tasks))
    with aws.counting() as counter:
        start(container, definition_id)
    assert counter.total("dynamodb") <= 2, counter.counts
    with aws.counting() as counter:
        instances.run_command(
            container,
            lambda uow: (
                uow.load(definitions_warm.instance_id),
                CompleteTask(task_id, {}, "alice"),
            )[1],
        )
    assert counter.counts["dynamodb"] == {"Query": 1, "TransactWriteItems": 1}


def test_process_failure_writes_nothing(container):
    failing = deployments.deploy(
        container, source="file:failing", name="failing", bpmn={"failing.bpmn20.xml": FAILING}
    ).definition_ids[0]
    started = start(container, failing)
    task_id = next(iter(started.state.tasks))
    before = container.store.query(Table.RUNTIME, started.instance_id).items
    with pytest.raises(ProcessFailure) as caught:
        instances.run_command(
            container,
            lambda uow: (uow.load(started.instance_id), CompleteTask(task_id, {}, "alice"))[1],
        )
    assert caught.value.kind == "script" and caught.value.activity_id == "check"
    after = container.store.query(Table.RUNTIME, started.instance_id).items
    assert [(i.sk, i.data) for i in after] == [(i.sk, i.data) for i in before]


def test_unknown_instance_is_404(container):
    with pytest.raises(NotFound):
        instances.run_command(container, lambda uow: uow.load("nosuchinstance"))


def test_concurrent_completes_succeed_once(container, definition_id):
    started = start(container, definition_id)
    task_id = next(iter(started.state.tasks))
    outcomes: list[str] = []
    lock = threading.Lock()

    def complete() -> None:
        try:
            instances.run_command(
                container,
                lambda uow: (uow.load(started.instance_id), CompleteTask(task_id, {}, "alice"))[1],
                attempts=1,
            )
            outcome = "ok"
        except ConcurrencyError:
            outcome = "conflict"
        except Exception as exc:  # the task is gone once the winner committed
            outcome = type(exc).__name__
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=complete) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") == 1, outcomes
