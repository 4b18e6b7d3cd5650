"""Process instance migration (``engine.runtime.migration``): validation and the command."""

from __future__ import annotations

import pytest

from chalicelib.api.errors import status_of
from chalicelib.engine.runtime import (
    ActivityMigration,
    HistoryKind,
    MigrateInstance,
    MigrationInvalid,
    validate_migration,
)
from tests.support.engine import bpmn, seq, task_names, variables

V1 = bpmn(
    '<startEvent id="s"/>'
    + seq("s", "review")
    + '<userTask id="review" name="Review"/>'
    + seq("review", "end")
    + '<endEvent id="end"/>'
)
#: ``review`` kept, a second task after it, and another task ``check`` beside it
V2 = bpmn(
    '<startEvent id="s"/>'
    + seq("s", "review")
    + '<userTask id="review" name="Review v2"/>'
    + seq("review", "approve")
    + '<userTask id="approve" name="Approve"/>'
    + seq("approve", "end")
    + '<userTask id="check" name="Check ${reason}"/>'
    + seq("check", "end")
    + '<endEvent id="end"/>'
)
#: no ``review`` at all
V3 = bpmn(
    '<startEvent id="s"/>'
    + seq("s", "other")
    + '<userTask id="other"/>'
    + seq("other", "end")
    + '<endEvent id="end"/>'
)


def _timer_process(duration: str) -> str:
    return bpmn(
        '<startEvent id="s"/>'
        + seq("s", "review")
        + '<userTask id="review"/>'
        + '<boundaryEvent id="late" attachedToRef="review"><timerEventDefinition>'
        f"<timeDuration>{duration}</timeDuration></timerEventDefinition></boundaryEvent>"
        + seq("late", "end")
        + seq("review", "end")
        + '<endEvent id="end"/>'
    )


def _start_then_deploy(world, first: str, second: str) -> tuple[str, str, str]:
    """Deploy ``first``, start it, deploy ``second``: (instance id, first id, second id)."""
    [one] = world.deploy(first)
    iid = world.start("p")
    [two] = world.deploy(second)
    return iid, one, two


def _migrate(world, iid, definition_id, mappings=None, variables=None):
    return world.run(
        MigrateInstance(iid, definition_id, dict(variables or {}), dict(mappings or {}))
    )


def test_auto_mapped_task_is_kept_and_follows_the_target_definition(world):
    iid, v1, v2 = _start_then_deploy(world, V1, V2)
    [task] = world.tasks(iid)
    assert task.definition_id == v1
    _migrate(world, iid, v2, variables={"migrated": True})
    state = world.state(iid)
    assert state.header.definition_id == v2
    [kept] = world.tasks(iid)
    assert kept.id == task.id and kept.execution_id == task.execution_id
    assert kept.definition_id == v2 and kept.revision == task.revision + 1
    assert kept.name == "Review"  # the task is kept as it was created
    assert variables(world, iid)["migrated"] is True
    [process] = world.history_of(HistoryKind.PROCESS_INSTANCE, iid)
    assert process["processDefinitionId"] == v2 and process["endTime"] is None
    [historic] = world.history_of(HistoryKind.TASK_INSTANCE, iid)
    assert historic["processDefinitionId"] == v2 and historic["endTime"] is None
    world.complete(kept.id)  # v1 would end here; v2 goes on to "approve"
    assert task_names(world, iid) == ["Approve"]
    assert world.tasks(iid)[0].definition_id == v2


def test_explicit_mapping_moves_to_another_user_task_with_local_variables(world):
    iid, v1, v2 = _start_then_deploy(world, V1, V2)
    [old] = world.tasks(iid)
    mapping = ActivityMigration("check", {"note": "moved"})
    _migrate(world, iid, v2, {"review": mapping}, {"reason": "audit"})
    [new] = world.tasks(iid)
    assert new.id != old.id and new.task_definition_key == "check"
    assert new.name == "Check audit"  # process variables are set before the task is made
    assert new.definition_id == v2 and new.execution_id == old.execution_id
    state = world.state(iid)
    assert state.local_variables(new.execution_id)["note"].value == "moved"
    by_id = {t["id"]: t for t in world.history_of(HistoryKind.TASK_INSTANCE, iid)}
    assert by_id[old.id]["deleteReason"] == "Change activity to check"
    assert by_id[old.id]["endTime"] is not None
    assert by_id[new.id]["endTime"] is None and by_id[new.id]["processDefinitionId"] == v2
    activities = world.history_of(HistoryKind.ACTIVITY_INSTANCE, iid)
    [review] = [a for a in activities if a["activityId"] == "review"]
    assert review["deleteReason"] == "Change activity to check" and review["endTime"]
    assert any(a["activityId"] == "check" and a["endTime"] is None for a in activities)
    world.complete(new.id)
    assert world.is_ended(iid)


def test_unmapped_activity_makes_the_migration_invalid_and_changes_nothing(world):
    iid, v1, v3 = _start_then_deploy(world, V1, V3)
    before = world.items[iid].copy()
    message = (
        f"Process instance (id:'{iid}') has a running Activity (id:'review') that is "
        f"not mapped for migration"
    )
    state = world.state(iid)
    assert validate_migration(state, world.definitions[v1], world.definitions[v3], v3, {}) == [
        message
    ]
    with pytest.raises(MigrationInvalid) as raised:
        _migrate(world, iid, v3)
    assert status_of(raised.value) == 400
    assert raised.value.detail == {"validationMessages": [message]}
    assert world.items[iid] == before and world.state(iid).header.definition_id == v1
    # mapped explicitly, it is valid
    assert (
        validate_migration(
            state,
            world.definitions[v1],
            world.definitions[v3],
            v3,
            {"review": ActivityMigration("other")},
        )
        == []
    )


def test_mapping_to_an_unknown_activity_is_reported(world):
    iid, v1, v2 = _start_then_deploy(world, V1, V2)
    with pytest.raises(MigrationInvalid) as raised:
        _migrate(world, iid, v2, {"review": ActivityMigration("nowhere")})
    assert raised.value.messages == [
        f"Invalid mapping for 'review' to 'nowhere', cannot be found in the process "
        f"definition with id '{v2}'"
    ]
    assert world.tasks(iid)[0].definition_id == v1


def test_scope_change_and_multi_instance_are_refused(world):
    nested = bpmn(
        '<startEvent id="s"/>'
        + seq("s", "sub")
        + '<subProcess id="sub"><startEvent id="ss"/>'
        + seq("ss", "inner")
        + '<userTask id="inner"/>'
        + seq("inner", "se")
        + '<endEvent id="se"/>'
        "</subProcess>" + seq("sub", "end") + '<endEvent id="end"/>'
    )
    multi = V1.replace(
        'name="Review"/>',
        'name="Review"><multiInstanceLoopCharacteristics '
        'isSequential="false"><loopCardinality>2</loopCardinality>'
        "</multiInstanceLoopCharacteristics></userTask>",
    )
    iid, v1, v_nested = _start_then_deploy(world, V1, nested)
    with pytest.raises(MigrationInvalid) as raised:
        _migrate(world, iid, v_nested, {"review": ActivityMigration("inner")})
    assert "not in the same scope" in raised.value.messages[0]
    [v_multi] = world.deploy(multi)
    with pytest.raises(MigrationInvalid) as raised:
        _migrate(world, iid, v_multi)
    assert "multi-instance" in raised.value.messages[0]


def test_boundary_timer_is_recreated_per_target_and_kept_when_identical(world, clock):
    iid, v1, v2 = _start_then_deploy(world, _timer_process("PT1H"), _timer_process("PT2H"))
    [job] = world.jobs_of(iid, "timer")
    assert job.due == "2026-01-01T01:00:00.000Z"
    [task] = world.tasks(iid)
    _migrate(world, iid, v2)
    [renewed] = world.jobs_of(iid, "timer")
    assert renewed.job_id != job.job_id and renewed.due == "2026-01-01T02:00:00.000Z"
    assert world.tasks(iid)[0].id == task.id
    [listener] = [e for e in world.state(iid).executions.values() if e.is_event_scope]
    assert listener.parent_id == task.execution_id and listener.activity_id == "late"
    # the same boundary events in the target: the timer job is left alone
    [v2_again] = world.deploy(_timer_process("PT2H"))
    _migrate(world, iid, v2_again)
    assert world.jobs_of(iid, "timer") == [renewed]
    world.run_job(renewed.job_id)  # fires in the target definition: the task is cancelled
    assert world.is_ended(iid)


def test_catch_event_whose_message_changed_subscribes_again(world):
    def catching(name: str) -> str:
        return bpmn(
            '<startEvent id="s"/>'
            + seq("s", "wait")
            + f'<intermediateCatchEvent id="wait"><messageEventDefinition '
            f'messageRef="{name}"/></intermediateCatchEvent>'
            + seq("wait", "end")
            + '<endEvent id="end"/>',
            extra=f'<message id="{name}" name="{name}"/>',
        )

    iid, v1, v2 = _start_then_deploy(world, catching("ping"), catching("pong"))
    _migrate(world, iid, v2)
    [subscription] = world.state(iid).subscriptions.values()
    assert subscription.event_name == "pong"
    world.deliver_message(iid, "pong")
    assert world.is_ended(iid)
