"""Tasks: user task fields and listeners, script, service, receive, manual/plain tasks."""

from __future__ import annotations

import pytest

from chalicelib.engine.runtime import HistoryKind, NotWaiting, ScriptLog
from chalicelib.errors import ProcessFailure
from tests.support.engine import bpmn, seq, task_names, variables

USER_TASK = bpmn(
    '<startEvent id="start" flowable:initiator="starter"/>'
    + seq("start", "ut")
    + '<userTask id="ut" name="Review ${subject}" flowable:assignee="${starter}" '
    'flowable:owner="boss" flowable:candidateUsers="kermit, ${extraUser}" '
    'flowable:candidateGroups="${groups}" flowable:priority="${prio}" '
    'flowable:dueDate="${due}" flowable:category="cat" flowable:formKey="form1">'
    "<documentation>Please review ${subject}</documentation>"
    "<extensionElements>"
    '<flowable:taskListener event="create" expression="${execution.setVariable(\'created\', task.name)}"/>'
    '<flowable:taskListener event="assignment" expression="${execution.setVariable(\'assigned\', task.assignee)}"/>'
    '<flowable:taskListener event="complete" expression="${execution.setVariable(\'done\', true)}"/>'
    '<flowable:formProperty id="decision" type="enum"><flowable:value id="yes" name="Yes"/></flowable:formProperty>'
    "</extensionElements></userTask>" + seq("ut", "end") + '<endEvent id="end"/>'
)


def test_user_task_fields_resolved_and_listeners_run(world):
    world.deploy(USER_TASK)
    iid = world.start(
        "p",
        {"subject": "doc", "extraUser": "gonzo", "groups": ["a", "b"], "prio": 75, "due": "P2D"},
        initiator="fozzie",
    )
    [task] = world.tasks(iid)
    assert task.name == "Review doc" and task.description == "Please review doc"
    assert task.assignee == "fozzie" and task.owner == "boss"
    assert task.candidate_users == ("kermit", "gonzo") and task.candidate_groups == ("a", "b")
    assert task.priority == 75 and task.due_date == "2026-01-03T00:00:00.000Z"
    assert task.category == "cat" and task.form_key == "form1" and task.task_definition_key == "ut"
    assert task.form_properties[0]["id"] == "decision"
    assert task.id.startswith(iid + ".")
    assert world.state(iid).header.start_user_id == "fozzie"
    vars_ = variables(world, iid)
    assert vars_["starter"] == "fozzie" and vars_["created"] == "Review doc"
    assert vars_["assigned"] == "fozzie"
    world.complete(task.id, {"approved": True}, user_id="fozzie")
    assert world.is_ended(iid)
    [historic] = world.history_of(HistoryKind.TASK_INSTANCE, iid)
    assert historic["taskLocalVariables"] == {"approved": True}
    assert historic["completedBy"] == "fozzie" and historic["deleteReason"] is None


def test_user_task_defaults(world):
    world.deploy(bpmn('<startEvent id="s"/>' + seq("s", "u") + '<userTask id="u"/>'))
    iid = world.start("p")
    [task] = world.tasks(iid)
    assert task.priority == 50 and task.due_date is None and task.assignee is None


def test_due_date_iso_date_time(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "u")
            + '<userTask id="u" flowable:dueDate="2030-05-01T10:00:00Z"/>'
        )
    )
    [task] = world.tasks(world.start("p"))
    assert task.due_date == "2030-05-01T10:00:00.000Z"


def test_complete_variables_go_to_instance_scope(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "u")
            + '<userTask id="u"/>'
            + seq("u", "u2")
            + '<userTask id="u2" name="${answer}"/>'
        )
    )
    iid = world.start("p")
    world.complete(world.tasks(iid)[0].id, {"answer": "42"})
    assert task_names(world, iid) == ["42"]
    assert variables(world, iid)["answer"] == "42"


JS = bpmn(
    '<startEvent id="s"/>'
    + seq("s", "js")
    + '<scriptTask id="js" scriptFormat="javascript" flowable:resultVariable="res">'
    '<script><![CDATA[console.log("hi " + x); execution.setVariable("y", x * 2); x + 1]]>'
    "</script></scriptTask>" + seq("js", "u") + '<userTask id="u"/>'
)


def test_javascript_script_task(world):
    world.deploy(JS)
    iid = world.start("p", {"x": 20})
    assert variables(world, iid) == {"x": 20, "y": 40, "res": 21}
    logs = [e for e in world.effects if isinstance(e, ScriptLog)]
    assert logs[0].lines == ("hi 20",) and logs[0].activity_id == "js"


def test_javascript_auto_store_variables(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "js")
            + '<scriptTask id="js" scriptFormat="js" flowable:autoStoreVariables="true">'
            "<script>x = x + 5;</script></scriptTask>" + seq("js", "u") + '<userTask id="u"/>'
        )
    )
    iid = world.start("p", {"x": 1})
    assert variables(world, iid)["x"] == 6


def test_script_error_fails_the_start_and_nothing_is_stored(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "js")
            + '<scriptTask id="js" scriptFormat="javascript"><script>'
            'throw new Error("boom")</script></scriptTask>' + seq("js", "e") + '<endEvent id="e"/>'
        )
    )
    with pytest.raises(ProcessFailure) as failure:
        world.start("p")
    assert failure.value.kind == "script" and failure.value.activity_id == "js"
    assert world.items == {}


def test_juel_script_task_result_variable(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "j")
            + '<scriptTask id="j" scriptFormat="juel" flowable:resultVariable="r">'
            "<script>${a + b}</script></scriptTask>" + seq("j", "u") + '<userTask id="u"/>'
        )
    )
    iid = world.start("p", {"a": 1, "b": 2})
    assert variables(world, iid)["r"] == 3


def test_service_task_expression_result_variable_and_delegate_expression(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "svc")
            + '<serviceTask id="svc" flowable:expression="${name.toUpperCase()}" '
            'flowable:resultVariableName="upper"/>'
            + seq("svc", "d")
            + '<serviceTask id="d" flowable:delegateExpression='
            "\"${execution.setVariable('executed', true)}\"/>"
            + seq("d", "u")
            + '<userTask id="u"/>'
        )
    )
    iid = world.start("p", {"name": "kermit"})
    assert variables(world, iid)["upper"] == "KERMIT"
    assert variables(world, iid)["executed"] is True


def test_undefined_variable_in_expression_is_an_expression_failure(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "svc")
            + '<serviceTask id="svc" flowable:expression="${nope}"/>'
        )
    )
    with pytest.raises(ProcessFailure) as failure:
        world.start("p")
    assert failure.value.kind == "expression" and failure.value.activity_id == "svc"


@pytest.mark.parametrize(
    "element",
    [
        '<receiveTask id="w"/>',
        '<serviceTask id="w" flowable:expression="${1}" flowable:triggerable="true"/>',
    ],
)
def test_trigger_releases_receive_and_triggerable_service_tasks(world, element):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "w")
            + element
            + seq("w", "u")
            + '<userTask id="u" name="after ${v}"/>'
        )
    )
    iid = world.start("p")
    state = world.state(iid)
    [waiting] = state.executions_at(iid, "w")
    assert [s.type.value for s in state.subscriptions_of(waiting.id)] == ["trigger"]
    assert world.tasks(iid) == []
    world.trigger(iid, waiting.id, {"v": "x"})
    assert task_names(world, iid) == ["after x"]
    assert world.state(iid).subscriptions == {}


def test_trigger_on_non_waiting_execution_is_refused(world):
    world.deploy(bpmn('<startEvent id="s"/>' + seq("s", "u") + '<userTask id="u"/>'))
    iid = world.start("p")
    [execution] = world.state(iid).executions_at(iid, "u")
    with pytest.raises(NotWaiting):
        world.trigger(iid, execution.id)


def test_manual_and_plain_tasks_pass_through(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "m")
            + '<manualTask id="m"/>'
            + seq("m", "t")
            + '<task id="t"/>'
            + seq("t", "e")
            + '<endEvent id="e"/>'
        )
    )
    assert world.is_ended(world.start("p"))


def test_execution_listeners_start_end_take(world):
    listener = (
        '<extensionElements><flowable:executionListener event="{0}" '
        "expression=\"${{execution.setVariable('{1}', true)}}\"/></extensionElements>"
    )
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            '<sequenceFlow id="f" sourceRef="s" targetRef="t">'
            + listener.format("take", "took")
            + '</sequenceFlow><task id="t">'
            + listener.format("start", "started")
            + listener.format("end", "ended")
            + "</task>"
            + seq("t", "u")
            + '<userTask id="u"/>'
        )
    )
    iid = world.start("p")
    assert {k: v for k, v in variables(world, iid).items()} == {
        "took": True,
        "started": True,
        "ended": True,
    }
