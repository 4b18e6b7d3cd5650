"""The input limits at the engine's edges (``engine/runtime/bounds.py``, ``set_variable_local``
and the script task's count): a breach raises ``LimitExceeded`` and the command leaves every
instance exactly as it was (nothing to commit)."""

from __future__ import annotations

import pytest

from chalicelib.clock import FixedClock
from chalicelib.engine.runtime import StartProcess, UpdateTask
from chalicelib.engine.runtime.session import Session
from chalicelib.errors import ProcessFailure
from chalicelib.limits import LimitExceeded, Limits
from tests.support.engine import bpmn, seq, variables


def waiting(task: str = "", work: str = '<task id="work"/>') -> str:
    return bpmn(
        '<startEvent id="s"/>'
        + seq("s", "work")
        + work
        + seq("work", "wait")
        + f'<userTask id="wait" name="Wait" {task}/>'
        + seq("wait", "e")
        + '<endEvent id="e"/>'
    )


def script(text: str) -> str:
    return f'<scriptTask id="work" scriptFormat="javascript"><script>{text}</script></scriptTask>'


def refused(world, key: str, variables=None, **kwargs) -> LimitExceeded:
    with pytest.raises(LimitExceeded) as caught:
        world.start(key, variables, **kwargs)
    assert world.items == {}  # nothing committed
    return caught.value


@pytest.mark.parametrize(
    "task, field",
    [
        ('flowable:assignee="${who}"', "assignee"),
        ('flowable:owner="${who}"', "owner"),
        ('flowable:candidateUsers="a,${who}"', "candidateUsers"),
        ('flowable:candidateGroups="${who}"', "candidateGroups"),
    ],
)
def test_key_strings_evaluated_at_run_time_are_held_to_the_key_length(world, task, field):
    world.deploy(waiting(task))
    error = refused(world, "p", {"who": "w" * 256})
    assert error.detail["field"] == field and error.detail["limit"] == "WORKFLOW_MAX_KEY_LENGTH"
    assert world.start("p", {"who": "w" * 255})


def test_business_key_and_variable_names_are_held_to_the_key_length(world):
    world.deploy(waiting())
    assert refused(world, "p", business_key="b" * 300).detail["field"] == "businessKey"
    assert refused(world, "p", {"n" * 300: 1}).detail["field"] == "variable name"


def test_a_request_s_variables_are_counted_checked_for_depth_and_size(world):
    world.deploy(waiting())
    error = refused(world, "p", {f"v{i}": i for i in range(201)})
    assert error.detail["limit"] == "WORKFLOW_MAX_VARIABLES_PER_REQUEST"
    deep: list = []
    for _ in range(70):
        deep = [deep]
    assert refused(world, "p", {"deep": deep}).detail["field"] == "deep"
    big = refused(world, "p", {"big": "x" * 300_000})
    assert big.detail["limit"] == "WORKFLOW_MAX_VARIABLE_BYTES"
    instance = world.start("p", {f"v{i}": i for i in range(200)})
    assert len(variables(world, instance)) == 200


def deep_script(levels: int) -> str:
    return script(
        f"var v = []; for (var i = 0; i &lt; {levels}; i++) {{ v = [v]; }} "
        "execution.setVariable('deep', v);"
    )


def test_values_a_script_sets_are_held_to_the_depth_limit(world):
    world.deploy(waiting(work=deep_script(80)))
    error = refused(world, "p")
    assert error.detail["field"] == "deep" and error.detail["limit"] == "WORKFLOW_MAX_JSON_DEPTH"


def test_a_value_too_deep_to_hand_back_fails_the_script(world):
    """Thousands of levels overflow QuickJS's own stack while the value is handed back: a
    script failure naming the task (400), nothing committed."""
    world.deploy(waiting(work=deep_script(5000)))
    with pytest.raises((ProcessFailure, LimitExceeded)) as caught:
        world.start("p")
    assert world.items == {}
    assert caught.value.detail.get("activityId", caught.value.detail.get("field")) == "work"


def test_a_script_setting_too_many_variables_is_refused(world):
    world.deploy(
        waiting(
            work=script("for (var i = 0; i &lt; 300; i++) { execution.setVariable('v' + i, i); }")
        )
    )
    error = refused(world, "p")
    assert error.detail["field"] == "work" and error.detail["count"] == 300


def test_a_failed_complete_leaves_the_instance_as_it_was(world):
    world.deploy(waiting())
    instance = world.start("p", {"kept": 1})
    [task] = world.tasks(instance)
    before = dict(world.items[instance])
    with pytest.raises(LimitExceeded):
        world.complete(task.id, {"big": "x" * 300_000})
    with pytest.raises(LimitExceeded):
        world.run(UpdateTask(task.id, {"assignee": "a" * 300}))
    assert world.items[instance] == before
    assert [t.id for t in world.tasks(instance)] == [task.id]


def test_an_instance_s_variables_are_held_to_their_total(world):
    model_id = world.deploy(waiting())[0]
    session = Session(
        clock=FixedClock(),
        load_definition=world.definitions.get,
        limits=Limits(instance_variable_bytes=1000, instance_variables=5),
    )
    with pytest.raises(LimitExceeded) as caught:
        session.execute(StartProcess(model_id, {"a": "x" * 600, "b": "y" * 600}))
    assert caught.value.detail["limit"] == "WORKFLOW_MAX_INSTANCE_VARIABLE_BYTES"
    with pytest.raises(LimitExceeded) as caught:
        session.execute(StartProcess(model_id, {f"v{i}": i for i in range(6)}))
    assert caught.value.detail["limit"] == "WORKFLOW_MAX_INSTANCE_VARIABLES"
    assert session.execute(StartProcess(model_id, {"a": "x" * 400, "b": "y" * 400})).instances
