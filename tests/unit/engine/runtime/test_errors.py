"""BPMN errors and escalations, atomic failure, history levels."""

from __future__ import annotations

import pytest

from chalicelib.clock import FixedClock
from chalicelib.engine.runtime import EscalationUncaught, HistoryKind
from chalicelib.engine.runtime.state import dumps
from chalicelib.errors import ProcessFailure
from tests.support.engine import bpmn, seq, task_names
from tests.support.world import InMemoryWorld

ERRORS = '<error id="err1" errorCode="E1"/><error id="err2" errorCode="E2"/>'


def _sub_with_error(code_ref: str, boundary: str) -> str:
    return bpmn(
        '<startEvent id="s"/>'
        + seq("s", "sub")
        + '<subProcess id="sub"><startEvent id="ss"/>'
        + seq("ss", "ut")
        + '<userTask id="ut" name="inner"/>'
        + seq("ut", "ee")
        + f'<endEvent id="ee"><errorEventDefinition errorRef="{code_ref}"/></endEvent>'
        "</subProcess>"
        + seq("sub", "normal")
        + '<userTask id="normal" name="normal"/>'
        + boundary
        + seq("b", "handled")
        + '<userTask id="handled" name="handled"/>',
        extra=ERRORS,
    )


def test_error_end_event_caught_by_boundary_on_sub_process(world):
    world.deploy(
        _sub_with_error(
            "err1",
            '<boundaryEvent id="b" attachedToRef="sub">'
            '<errorEventDefinition errorRef="err1"/></boundaryEvent>',
        )
    )
    iid = world.start("p")
    assert len(world.state(iid).executions) == 4  # root, sub scope, boundary, task token
    world.complete(world.tasks(iid)[0].id)
    assert task_names(world, iid) == ["handled"]
    assert len(world.state(iid).executions) == 2


def test_catch_all_boundary_catches_any_code(world):
    world.deploy(
        _sub_with_error(
            "err2",
            '<boundaryEvent id="b" attachedToRef="sub"><errorEventDefinition/></boundaryEvent>',
        )
    )
    iid = world.start("p")
    world.complete(world.tasks(iid)[0].id)
    assert task_names(world, iid) == ["handled"]


def test_uncaught_error_fails_and_leaves_stored_state_untouched(world):
    world.deploy(
        _sub_with_error(
            "err2",
            '<boundaryEvent id="b" attachedToRef="sub">'
            '<errorEventDefinition errorRef="err1"/></boundaryEvent>',
        )
    )
    iid = world.start("p")
    before = dict(world.items[iid])
    with pytest.raises(ProcessFailure) as failure:
        world.complete(world.tasks(iid)[0].id)
    assert failure.value.kind == "bpmn-error" and failure.value.error_code == "E2"
    assert failure.value.detail == {"type": "bpmn-error", "activityId": "ee", "errorCode": "E2"}
    assert "No catching boundary event found for error with errorCode 'E2'" in str(failure.value)
    assert world.items[iid] == before


def test_failed_command_rolls_back_the_loaded_state_in_place(world):
    from chalicelib.engine.runtime import CompleteTask, Session

    world.deploy(_sub_with_error("err2", ""))
    iid = world.start("p")
    state = world.state(iid)
    text = dumps(state)
    session = Session(clock=world.clock, load_definition=world.definitions.get)
    session.add(state)
    with pytest.raises(ProcessFailure):
        session.execute(CompleteTask(next(iter(state.tasks))))
    assert dumps(state) == text and state.changes().is_empty


def test_error_event_sub_process_in_scope_catches(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "ut")
            + '<userTask id="ut" name="work"/>'
            + seq("ut", "ee")
            + '<endEvent id="ee"><errorEventDefinition errorRef="err1"/></endEvent>'
            '<subProcess id="esp" triggeredByEvent="true"><startEvent id="es">'
            '<errorEventDefinition errorRef="err1"/></startEvent>'
            + seq("es", "fix")
            + '<userTask id="fix" name="fix"/>'
            + seq("fix", "ese")
            + '<endEvent id="ese"/></subProcess>',
            extra=ERRORS,
        )
    )
    iid = world.start("p")
    world.complete(world.tasks(iid)[0].id)
    assert task_names(world, iid) == ["fix"]
    world.complete(world.tasks(iid)[0].id)
    assert world.is_ended(iid)


CHILD_ERROR = bpmn(
    '<startEvent id="cs"/>'
    + seq("cs", "ct")
    + '<userTask id="ct" name="child"/>'
    + seq("ct", "ce")
    + '<endEvent id="ce"><errorEventDefinition errorRef="err1"/>'
    "</endEvent>",
    process_id="child",
    extra=ERRORS,
)


def test_error_propagates_from_called_instance_to_boundary_on_call_activity(world):
    world.deploy(CHILD_ERROR)
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "call")
            + '<callActivity id="call" calledElement="child"/>'
            + seq("call", "e")
            + '<endEvent id="e"/><boundaryEvent id="b" attachedToRef="call">'
            '<errorEventDefinition errorRef="err1"/></boundaryEvent>'
            + seq("b", "h")
            + '<userTask id="h" name="handled"/>',
            extra=ERRORS,
        )
    )
    pid = world.start("p")
    child_id = next(i for i in world.items if i != pid)
    result = world.complete(world.tasks(child_id)[0].id)
    assert set(result.instances) == {pid, child_id}
    assert task_names(world, pid) == ["handled"]
    assert world.state(child_id).header.delete_reason == "boundary event (b)"


def test_error_uncaught_in_child_and_parent_fails(world):
    world.deploy(CHILD_ERROR)
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "call")
            + '<callActivity id="call" calledElement="child"/>'
            + seq("call", "e")
            + '<endEvent id="e"/>'
        )
    )
    pid = world.start("p")
    child_id = next(i for i in world.items if i != pid)
    snapshot = {k: dict(v) for k, v in world.items.items()}
    with pytest.raises(ProcessFailure) as failure:
        world.complete(world.tasks(child_id)[0].id)
    assert failure.value.kind == "bpmn-error" and failure.value.error_code == "E1"
    assert world.items == snapshot


def test_escalation_non_interrupting_boundary_and_uncaught_escalation(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "sub")
            + '<subProcess id="sub"><startEvent id="ss"/>'
            + seq("ss", "th")
            + '<intermediateThrowEvent id="th"><escalationEventDefinition '
            'escalationRef="esc"/></intermediateThrowEvent>'
            + seq("th", "ut")
            + '<userTask id="ut" name="inner"/>'
            + seq("ut", "se")
            + '<endEvent id="se"/></subProcess>'
            '<boundaryEvent id="b" attachedToRef="sub" cancelActivity="false">'
            '<escalationEventDefinition escalationRef="esc"/></boundaryEvent>'
            + seq("b", "h")
            + '<userTask id="h" name="escalated"/>'
            + seq("sub", "th2")
            + '<intermediateThrowEvent id="th2"><escalationEventDefinition escalationRef="other"/>'
            "</intermediateThrowEvent>" + seq("th2", "e") + '<endEvent id="e"/>',
            extra='<escalation id="esc" escalationCode="ESC"/><escalation id="other" '
            'escalationCode="NOBODY"/>',
        )
    )
    iid = world.start("p")
    assert task_names(world, iid) == ["escalated", "inner"]
    world.complete(next(t.id for t in world.tasks(iid) if t.name == "inner"))
    uncaught = [e for e in world.effects if isinstance(e, EscalationUncaught)]
    assert [(u.activity_id, u.escalation_code) for u in uncaught] == [("th2", "NOBODY")]
    assert task_names(world, iid) == ["escalated"]
    world.complete(world.tasks(iid)[0].id)
    assert world.is_ended(iid)


@pytest.mark.parametrize(
    "level,kinds",
    [
        ("none", set()),
        ("instance", {"processInstance"}),
        ("activity", {"processInstance", "activityInstance", "variableInstance"}),
        ("audit", {"processInstance", "activityInstance", "variableInstance", "taskInstance"}),
        (
            "full",
            {
                "processInstance",
                "activityInstance",
                "variableInstance",
                "taskInstance",
                "variableDetail",
            },
        ),
    ],
)
def test_history_levels(level, kinds):
    world = InMemoryWorld(FixedClock(), history_level=level)
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "u")
            + '<userTask id="u"/>'
            + seq("u", "e")
            + '<endEvent id="e"/>'
        )
    )
    iid = world.start("p", {"a": 1})
    world.complete(world.tasks(iid)[0].id)
    assert {kind for kind, _ in world.history} == kinds


def test_activity_history_records_flows_and_durations(world, clock):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "u", "flow1")
            + '<userTask id="u"/>'
            + seq("u", "e")
            + '<endEvent id="e"/>'
        )
    )
    iid = world.start("p")
    clock.advance(seconds=3)
    world.complete(world.tasks(iid)[0].id)
    acts = world.history_of(HistoryKind.ACTIVITY_INSTANCE, iid)
    assert [a["activityId"] for a in acts] == ["s", "flow1", "u", "u_e", "e"]
    user = next(a for a in acts if a["activityId"] == "u")
    assert user["durationInMillis"] == 3000 and user["activityType"] == "userTask"
    [proc] = world.history_of(HistoryKind.PROCESS_INSTANCE, iid)
    assert proc["endActivityId"] == "e" and proc["durationInMillis"] == 3000


def test_set_variables_command(world):
    world.deploy(bpmn('<startEvent id="s"/>' + seq("s", "u") + '<userTask id="u"/>'))
    iid = world.start("p")
    result = world.set_variables(iid, {"k": [1, 2]})
    assert [p["kind"] for p in result.state.changes().puts] == []  # committed
    assert world.state(iid).local_variables(iid)["k"].value == [1, 2]
