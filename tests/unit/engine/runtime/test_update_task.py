"""``UpdateTask``: replace an open task's fields, bump its revision, history and listeners."""

from __future__ import annotations

import pytest

from chalicelib.engine.runtime import HistoryKind, UnknownTarget, UpdateTask
from tests.support.engine import bpmn, seq, variables

ASSIGNABLE = bpmn(
    '<startEvent id="s"/>'
    + seq("s", "u")
    + '<userTask id="u" name="Review" flowable:candidateUsers="kermit">'
    "<extensionElements>"
    '<flowable:taskListener event="assignment" '
    "expression=\"${execution.setVariable('assignedTo', task.assignee)}\"/>"
    "</extensionElements></userTask>" + seq("u", "e") + '<endEvent id="e"/>'
)


@pytest.fixture
def task(world):
    world.deploy(ASSIGNABLE)
    iid = world.start("p")
    [task] = world.tasks(iid)
    return task


def test_update_replaces_fields_and_bumps_revision(world, task):
    assert task.revision == 1
    world.run(
        UpdateTask(
            task.id,
            {
                "name": "Renamed",
                "priority": 80,
                "owner": "boss",
                "due_date": "2030-01-01T00:00:00.000Z",
            },
            "admin",
        )
    )
    [updated] = world.tasks(task.instance_id)
    assert (updated.name, updated.priority, updated.owner) == ("Renamed", 80, "boss")
    assert updated.due_date == "2030-01-01T00:00:00.000Z"
    assert updated.revision == 2 and updated.candidate_users == ("kermit",)
    world.run(UpdateTask(task.id, {"description": "d"}))
    assert world.tasks(task.instance_id)[0].revision == 3


def test_claim_sets_assignee_and_claim_time_history_and_listener(world, task, clock):
    world.run(
        UpdateTask(
            task.id, {"assignee": "kermit", "claim_time": "2026-01-01T00:00:00.000Z"}, "kermit"
        )
    )
    [updated] = world.tasks(task.instance_id)
    assert updated.assignee == "kermit" and updated.claim_time == "2026-01-01T00:00:00.000Z"
    [historic] = world.history_of(HistoryKind.TASK_INSTANCE, task.instance_id)
    assert historic["assignee"] == "kermit" and historic["claimTime"] is not None
    assert historic["endTime"] is None
    assert variables(world, task.instance_id)["assignedTo"] == "kermit"


def test_clearing_the_assignee_runs_no_listener(world, task):
    world.run(UpdateTask(task.id, {"assignee": None}))
    assert "assignedTo" not in variables(world, task.instance_id)
    assert world.tasks(task.instance_id)[0].assignee is None


def test_unknown_field_is_refused_and_nothing_changes(world, task):
    with pytest.raises(ValueError, match="candidate_users"):
        world.run(UpdateTask(task.id, {"candidate_users": ("x",)}))
    assert world.tasks(task.instance_id)[0].revision == 1


def test_unknown_or_completed_task_is_unknown_target(world, task):
    world.complete(task.id)
    with pytest.raises(UnknownTarget):
        world.run(UpdateTask(task.id, {"name": "late"}))
    with pytest.raises(UnknownTarget):
        world.run(UpdateTask(task.instance_id + ".01aaaaaaaaaaaaaaaaaaaaaaaa", {"name": "x"}))
