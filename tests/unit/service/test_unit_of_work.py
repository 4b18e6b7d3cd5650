"""`service/unit_of_work`: load, run the engine, commit with history; a failing command writes
nothing; an unknown instance is 404.

Memory store and publisher. Over moto (``tests/functional/test_instances_service.py``): the
DynamoDB requests a start and a complete cost, and ten threads completing one task at once.
"""

from __future__ import annotations

import pytest

from chalicelib.engine.runtime import CompleteTask
from chalicelib.errors import NotFound, ProcessFailure
from chalicelib.service import unit_of_work as instances
from chalicelib.service.definitions import deploy as deployments
from chalicelib.storage.ports import Table
from tests.support.review import FAILING, deploy_review, start


@pytest.fixture
def definition_id(container):
    return deploy_review(container)


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
