"""Sub-processes, terminate, multi-instance and call activities."""

from __future__ import annotations

import pytest

from chalicelib.engine.runtime import HistoryKind, InstanceEnded, StartProcess
from tests.support.engine import bpmn, seq, task_named, task_names, variables


def test_sub_process_is_a_scope_with_local_variables(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>' + seq("s", "sub") + '<subProcess id="sub">'
            '<startEvent id="ss"/>'
            + seq("ss", "loc")
            + '<serviceTask id="loc" flowable:expression="${execution.setVariableLocal(\'inner\', 1)}"/>'
            + seq("loc", "ut")
            + '<userTask id="ut" name="in ${inner}"/>'
            + seq("ut", "se")
            + '<endEvent id="se"/></subProcess>'
            + seq("sub", "after")
            + '<userTask id="after" name="after"/>'
        )
    )
    iid = world.start("p")
    state = world.state(iid)
    [scope] = state.executions_at(iid, "sub")
    [token] = state.executions_at(scope.id, "ut")
    assert scope.is_scope and state.local_variables(token.id)["inner"].value == 1
    assert "inner" not in variables(world, iid)
    assert task_names(world, iid) == ["in 1"]
    assert len(state.executions) == 3  # root, sub-process scope, task token
    world.complete(world.tasks(iid)[0].id)
    assert task_names(world, iid) == ["after"]
    assert "inner" not in variables(world, iid)
    assert all(
        "inner" not in s
        for s in (world.state(iid).local_variables(e) for e in world.state(iid).executions)
    )


TERMINATE = bpmn(
    '<startEvent id="s"/>'
    + seq("s", "fork")
    + '<parallelGateway id="fork"/>'
    + seq("fork", "sub")
    + seq("fork", "outer")
    + '<userTask id="outer" name="outer"/>'
    + seq("outer", "e1")
    + '<endEvent id="e1"/>'
    '<subProcess id="sub"><startEvent id="ss"/>'
    + seq("ss", "sfork")
    + '<parallelGateway id="sfork"/>'
    + seq("sfork", "t1")
    + seq("sfork", "t2")
    + '<userTask id="t1" name="t1"/><userTask id="t2" name="t2"/>'
    + seq("t1", "term")
    + '<endEvent id="term"><terminateEventDefinition/></endEvent>'
    + seq("t2", "se")
    + '<endEvent id="se"/></subProcess>'
    + seq("sub", "after")
    + '<userTask id="after" name="after"/>'
)


def test_terminate_in_sub_process_ends_only_that_scope(world):
    world.deploy(TERMINATE)
    iid = world.start("p")
    assert task_names(world, iid) == ["outer", "t1", "t2"]
    world.complete(next(t.id for t in world.tasks(iid) if t.name == "t1"))
    assert task_names(world, iid) == ["after", "outer"]
    deleted = [h for h in world.history_of(HistoryKind.TASK_INSTANCE, iid) if h["deleteReason"]]
    assert [h["name"] for h in deleted] == ["t2"]
    assert deleted[0]["deleteReason"] == "terminate end event (term)"
    acts = {a["activityId"]: a for a in world.history_of(HistoryKind.ACTIVITY_INSTANCE, iid)}
    assert acts["sub"]["deleteReason"] == "terminate end event (term)" and acts["sub"]["endTime"]


def test_terminate_at_process_level_ends_the_instance(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "fork")
            + '<parallelGateway id="fork"/>'
            + seq("fork", "a")
            + seq("fork", "b")
            + '<userTask id="a" name="a"/>'
            '<userTask id="b" name="b"/>'
            + seq("a", "t")
            + '<endEvent id="t"><terminateEventDefinition/></endEvent>'
        )
    )
    iid = world.start("p")
    world.complete(next(t.id for t in world.tasks(iid) if t.name == "a"))
    assert world.is_ended(iid) and world.state(iid).header.end_activity_id == "t"
    assert world.tasks(iid) == []


def test_terminate_in_multi_instance_body_ends_that_instance_only(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>' + seq("s", "sub") + '<subProcess id="sub">'
            '<multiInstanceLoopCharacteristics isSequential="false"><loopCardinality>2'
            '</loopCardinality></multiInstanceLoopCharacteristics><startEvent id="ss"/>'
            + seq("ss", "fork")
            + '<parallelGateway id="fork"/>'
            + seq("fork", "a")
            + seq("fork", "b")
            + '<userTask id="a" name="a${loopCounter}"/><userTask id="b" name="b${loopCounter}"/>'
            + seq("a", "term")
            + '<endEvent id="term"><terminateEventDefinition/></endEvent>'
            + seq("b", "se")
            + '<endEvent id="se"/></subProcess>'
            + seq("sub", "after")
            + '<userTask id="after" name="after"/>'
        )
    )
    iid = world.start("p")
    assert task_names(world, iid) == ["a0", "a1", "b0", "b1"]
    world.complete(next(t.id for t in world.tasks(iid) if t.name == "a0"))
    assert task_names(world, iid) == ["a1", "b1"]
    world.complete(next(t.id for t in world.tasks(iid) if t.name == "b1"))
    world.complete(next(t.id for t in world.tasks(iid) if t.name == "a1"))
    assert task_names(world, iid) == ["after"]


def _mi_terminate(attributes: str, sequential: bool = False) -> str:
    return bpmn(
        '<startEvent id="s"/>' + seq("s", "sub") + '<subProcess id="sub">'
        f'<multiInstanceLoopCharacteristics isSequential="{str(sequential).lower()}">'
        "<loopCardinality>3</loopCardinality></multiInstanceLoopCharacteristics>"
        '<startEvent id="ss"/>'
        + seq("ss", "fork")
        + '<parallelGateway id="fork"/>'
        + seq("fork", "a")
        + seq("fork", "b")
        + '<userTask id="a" name="a${loopCounter}"/><userTask id="b" name="b${loopCounter}"/>'
        + seq("a", "term")
        + f'<endEvent id="term"><terminateEventDefinition {attributes}/></endEvent>'
        + seq("b", "se")
        + '<endEvent id="se"/></subProcess>'
        + seq("sub", "after")
        + '<userTask id="after" name="after"/>'
    )


@pytest.mark.parametrize("sequential", [False, True])
def test_terminate_multi_instance_ends_the_whole_activity(world, sequential):
    world.deploy(_mi_terminate('flowable:terminateMultiInstance="true"', sequential))
    iid = world.start("p")
    first = sorted(task_names(world, iid))
    assert first == (["a0", "b0"] if sequential else ["a0", "a1", "a2", "b0", "b1", "b2"])
    world.complete(next(t.id for t in world.tasks(iid) if t.name == "a0"))
    assert task_names(world, iid) == ["after"]
    state = world.state(iid)
    assert [e.activity_id for e in state.executions.values() if e.id != iid] == ["after"]
    assert not any(v.name.startswith("nrOf") for v in state.variables.values())
    deleted = {
        h["name"]: h["deleteReason"]
        for h in world.history_of(HistoryKind.TASK_INSTANCE, iid)
        if h["deleteReason"]
    }
    cut = ["b0"] if sequential else ["a1", "a2", "b0", "b1", "b2"]
    assert deleted == dict.fromkeys(cut, "terminate end event (sub)")


def test_terminate_multi_instance_ends_the_innermost_multi_instance(world):
    """Flowable's findFirstMultiInstanceRoot: nested multi-instance sub-processes, the
    terminate ends the inner one of its own outer instance only."""
    mi = (
        '<multiInstanceLoopCharacteristics isSequential="false"><loopCardinality>2'
        "</loopCardinality></multiInstanceLoopCharacteristics>"
    )
    world.deploy(
        bpmn(
            '<startEvent id="s"/>' + seq("s", "outer") + f'<subProcess id="outer">{mi}'
            '<startEvent id="os"/>' + seq("os", "inner") + f'<subProcess id="inner">{mi}'
            '<startEvent id="is"/>'
            + seq("is", "fork")
            + '<parallelGateway id="fork"/>'
            + seq("fork", "a")
            + seq("fork", "b")
            + '<userTask id="a" name="a"/><userTask id="b" name="b"/>'
            + seq("a", "term")
            + '<endEvent id="term"><terminateEventDefinition '
            'flowable:terminateMultiInstance="true"/></endEvent>'
            + seq("b", "ie")
            + '<endEvent id="ie"/></subProcess>'
            + seq("inner", "c")
            + '<userTask id="c" name="c"/>'
            + seq("c", "oe")
            + '<endEvent id="oe"/></subProcess>'
            + seq("outer", "after")
            + '<userTask id="after" name="after"/>'
        )
    )
    iid = world.start("p")
    assert task_names(world, iid) == ["a"] * 4 + ["b"] * 4
    world.complete(world.tasks(iid)[0].id)
    assert sorted(task_names(world, iid)) == ["a", "a", "b", "b", "c"]
    world.complete(task_named(world, iid, "c").id)
    for task in [t for t in world.tasks(iid) if t.name == "b"]:
        world.complete(task.id)
    assert task_names(world, iid) == ["a", "a"]  # the other outer instance's inner instances
    world.complete(world.tasks(iid)[0].id)  # its terminate ends its inner multi-instance
    assert task_names(world, iid) == ["c"]
    world.complete(task_named(world, iid, "c").id)
    assert task_names(world, iid) == ["after"]


def test_terminate_multi_instance_outside_a_multi_instance_ends_its_scope(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "fork")
            + '<parallelGateway id="fork"/>'
            + seq("fork", "a")
            + seq("fork", "b")
            + '<userTask id="a" name="a"/><userTask id="b" name="b"/>'
            + seq("a", "t")
            + '<endEvent id="t"><terminateEventDefinition '
            'flowable:terminateMultiInstance="true"/></endEvent>'
        )
    )
    iid = world.start("p")
    world.complete(next(t.id for t in world.tasks(iid) if t.name == "a"))
    assert world.is_ended(iid) and world.tasks(iid) == []


def test_terminate_records_flowable_delete_reasons(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "fork")
            + '<parallelGateway id="fork"/>'
            + seq("fork", "a")
            + seq("fork", "b")
            + '<userTask id="a" name="a"/><userTask id="b" name="b"/>'
            + seq("a", "t")
            + '<endEvent id="t"><terminateEventDefinition/></endEvent>'
        )
    )
    iid = world.start("p")
    world.complete(next(t.id for t in world.tasks(iid) if t.name == "a"))
    reason = "terminate end event (t)"
    header = world.state(iid).header
    assert (header.delete_reason, header.end_activity_id) == (reason, "t")
    assert header.status.value == "completed"
    [historic] = world.history_of(HistoryKind.PROCESS_INSTANCE, iid)
    assert historic["deleteReason"] == reason and historic["endActivityId"] == "t"
    acts = {h["activityId"]: h for h in world.history_of(HistoryKind.ACTIVITY_INSTANCE, iid)}
    assert acts["t"]["deleteReason"] == reason and acts["t"]["endTime"]
    assert acts["b"]["deleteReason"] == reason and acts["a"]["deleteReason"] is None
    [task_b] = [h for h in world.history_of(HistoryKind.TASK_INSTANCE, iid) if h["name"] == "b"]
    assert task_b["deleteReason"] == reason
    ended = [e for e in world.effects if isinstance(e, InstanceEnded)]
    assert ended[-1].delete_reason == reason


TERMINATED_CHILD = bpmn(
    '<startEvent id="cs"/>'
    + seq("cs", "cfork")
    + '<parallelGateway id="cfork"/>'
    + seq("cfork", "ct")
    + seq("cfork", "cw")
    + '<userTask id="ct" name="child"/><userTask id="cw" name="waiting"/>'
    + seq("ct", "cterm")
    + '<endEvent id="cterm"><terminateEventDefinition {attributes}/></endEvent>',
    process_id="child",
)


@pytest.mark.parametrize("terminate_all", [False, True])
def test_terminate_in_a_called_instance(world, terminate_all):
    attributes = 'flowable:terminateAll="true"' if terminate_all else ""
    world.deploy(TERMINATED_CHILD.replace("{attributes}", attributes))
    world.deploy(PARENT)
    pid = world.start("p", {"x": 1})
    child_id = next(i for i in world.items if i != pid)
    world.complete(task_named(world, child_id, "child").id, {"answer": "done"})
    assert world.is_ended(child_id) and world.tasks(child_id) == []
    child = world.state(child_id).header
    if terminate_all:  # the root instance ends too
        assert world.is_ended(pid) and world.tasks(pid) == []
        assert world.state(pid).header.delete_reason == "terminate end event (cterm)"
    else:  # the caller goes on, with the out mappings
        assert child.delete_reason == "terminate end event"
        assert task_names(world, pid) == ["after done 3"]


def test_parallel_multi_instance_over_collection(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "mi")
            + '<userTask id="mi" name="${who}-${loopCounter}" '
            'flowable:assignee="${who}"><multiInstanceLoopCharacteristics isSequential="false" '
            'flowable:collection="people" flowable:elementVariable="who"/></userTask>'
            + seq("mi", "after")
            + '<userTask id="after" name="after"/>'
        )
    )
    iid = world.start("p", {"people": ["kermit", "gonzo", "fozzie"]})
    assert task_names(world, iid) == ["fozzie-2", "gonzo-1", "kermit-0"]
    state = world.state(iid)
    [root] = state.executions_at(iid, "mi")
    assert root.is_mi_root and state.local_variables(root.id)["nrOfActiveInstances"].value == 3
    assert len(state.children(root.id)) == 3
    for task in world.tasks(iid)[:2]:
        world.complete(task.id)
    state = world.state(iid)
    assert state.local_variables(root.id)["nrOfCompletedInstances"].value == 2
    world.complete(world.tasks(iid)[0].id)
    [task] = world.tasks(iid)
    assert task.name.startswith("after")  # MI variables are gone with the MI root
    assert "nrOfInstances" not in variables(world, iid)


def test_sequential_multi_instance_reuses_one_execution(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>' + seq("s", "mi") + '<userTask id="mi" name="n${loopCounter}">'
            '<multiInstanceLoopCharacteristics isSequential="true" flowable:collection="${items}" '
            'flowable:elementVariable="item" flowable:elementIndexVariable="idx"/></userTask>'
            + seq("mi", "e")
            + '<endEvent id="e"/>'
        )
    )
    iid = world.start("p", {"items": ["a", "b", "c"]})
    seen = []
    sizes = set()
    while world.tasks(iid):
        [task] = world.tasks(iid)
        state = world.state(iid)
        sizes.add(len(state.to_records()))
        local = state.local_variables(task.execution_id)
        seen.append((task.name, local["item"].value, local["idx"].value))
        world.complete(task.id)
    assert seen == [("n0", "a", 0), ("n1", "b", 1), ("n2", "c", 2)]
    assert len(sizes) == 1 and world.is_ended(iid)


def test_multi_instance_completion_condition_cancels_the_rest(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>' + seq("s", "mi") + '<userTask id="mi" name="t${loopCounter}">'
            '<multiInstanceLoopCharacteristics isSequential="false"><loopCardinality>${n}'
            "</loopCardinality><completionCondition>${nrOfCompletedInstances/nrOfInstances &gt;= 0.5}"
            "</completionCondition></multiInstanceLoopCharacteristics></userTask>"
            + seq("mi", "e")
            + '<endEvent id="e"/>'
        )
    )
    iid = world.start("p", {"n": 4})
    world.complete(world.tasks(iid)[0].id)
    assert len(world.tasks(iid)) == 3
    world.complete(world.tasks(iid)[0].id)
    assert world.is_ended(iid)
    deleted = [h for h in world.history_of(HistoryKind.TASK_INSTANCE, iid) if h["deleteReason"]]
    assert len(deleted) == 2


def test_empty_multi_instance_is_skipped(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>' + seq("s", "mi") + '<userTask id="mi">'
            '<multiInstanceLoopCharacteristics flowable:collection="${items}"/>'
            "</userTask>" + seq("mi", "e") + '<endEvent id="e"/>'
        )
    )
    assert world.is_ended(world.start("p", {"items": []}))


CHILD = bpmn(
    '<startEvent id="cs"/>'
    + seq("cs", "ct")
    + '<userTask id="ct" name="child ${input}"/>'
    + seq("ct", "ce")
    + '<endEvent id="ce"/>',
    process_id="child",
)
PARENT = bpmn(
    '<startEvent id="s"/>'
    + seq("s", "call")
    + '<callActivity id="call" calledElement="child" flowable:inheritBusinessKey="true">'
    '<extensionElements><flowable:in source="x" target="input"/>'
    '<flowable:in sourceExpression="${x * 2}" target="doubled"/>'
    '<flowable:out source="answer" target="result"/>'
    '<flowable:out sourceExpression="${doubled + 1}" target="plusOne"/>'
    "</extensionElements></callActivity>"
    + seq("call", "after")
    + '<userTask id="after" name="after ${result} ${plusOne}"/>'
)


def test_call_activity_runs_child_in_same_command_with_mappings(world):
    world.deploy(CHILD)
    world.deploy(PARENT)
    result = world.run(StartProcess(world.latest["p"], {"x": 5}, "bk-1"))
    pid = result.instance_id
    assert set(result.created) == set(result.instances) and len(result.instances) == 2
    child_id = next(i for i in result.instances if i != pid)
    child = world.state(child_id)
    assert child.header.super_instance_id == pid and child.header.business_key == "bk-1"
    assert child.header.root_instance_id == pid
    [call] = world.state(pid).executions_at(pid, "call")
    assert call.sub_instance_id == child_id and child.header.super_execution_id == call.id
    assert task_names(world, child_id) == ["child 5"]
    assert variables(world, child_id) == {"input": 5, "doubled": 10}
    done = world.complete(world.tasks(child_id)[0].id, {"answer": "yes"})
    assert set(done.instances) == {pid, child_id}
    assert world.is_ended(child_id)
    assert task_names(world, pid) == ["after yes 11"]


def test_call_activity_inherit_variables(world):
    world.deploy(CHILD)
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "call")
            + '<callActivity id="call" calledElement="child" '
            'flowable:inheritVariables="true"/>'
        )
    )
    pid = world.start("p", {"input": "inherited"})
    child_id = next(i for i in world.items if i != pid)
    assert task_names(world, child_id) == ["child inherited"]


def test_delete_instance_cascades_to_called_instance(world):
    world.deploy(CHILD)
    world.deploy(PARENT)
    pid = world.start("p", {"x": 1})
    child_id = next(i for i in world.items if i != pid)
    world.delete(pid, "no longer needed")
    assert world.state(pid).header.delete_reason == "no longer needed"
    assert world.is_ended(child_id)
    ended = [e for e in world.effects if isinstance(e, InstanceEnded)]
    assert {e.instance_id for e in ended} == {pid, child_id}
    [historic] = [h for h in world.history_of(HistoryKind.PROCESS_INSTANCE) if h["id"] == pid]
    assert historic["deleteReason"] == "no longer needed" and historic["endTime"]
    tasks = world.history_of(HistoryKind.TASK_INSTANCE, child_id)
    assert tasks[0]["deleteReason"] == "no longer needed"


def test_missing_called_definition_fails_cleanly(world):
    from chalicelib.engine.runtime import DefinitionNotFound

    world.deploy(PARENT)
    with pytest.raises(DefinitionNotFound):
        world.start("p", {"x": 1})
    assert world.items == {}


def _data(name: str, ref: str, value: str) -> str:
    return (
        f'<dataObject id="do_{name}" name="{name}" itemSubjectRef="{ref}"><extensionElements>'
        f"<flowable:value>{value}</flowable:value></extensionElements></dataObject>"
    )


def test_data_objects_become_variables_of_their_scope(world):
    """Flowable's processDataObjects: process-level data objects are instance variables
    (start variables of the same name win), a sub-process's are its scope's locals."""
    world.deploy(
        bpmn(
            _data("title", "xsd:string", "Hello")
            + _data("limit", "xsd:int", "3")
            + _data("flag", "xsd:boolean", "true")
            + _data("when", "xsd:datetime", "2013-09-16T11:23:00")
            + '<startEvent id="s"/>'
            + seq("s", "sub")
            + '<subProcess id="sub">'
            + _data("inner", "xsd:double", "2.5")
            + '<startEvent id="ss"/>'
            + seq("ss", "ut")
            + '<userTask id="ut" name="${title} ${limit} ${inner}"/>'
            + seq("ut", "se")
            + '<endEvent id="se"/></subProcess>'
            + seq("sub", "after")
            + '<userTask id="after" name="after"/>'
        )
    )
    iid = world.start("p", {"limit": 10})
    assert variables(world, iid) == {
        "title": "Hello",
        "limit": 10,
        "flag": True,
        "when": "2013-09-16T11:23:00.000Z",
    }
    state = world.state(iid)
    [scope] = state.executions_at(iid, "sub")
    assert state.local_variables(scope.id)["inner"].value == 2.5
    assert task_names(world, iid) == ["Hello 10 2.5"]
    world.complete(world.tasks(iid)[0].id)
    assert "inner" not in variables(world, iid) and task_names(world, iid) == ["after"]
    names = {h["name"] for h in world.history_of(HistoryKind.VARIABLE_INSTANCE, iid)}
    assert {"title", "limit", "flag", "when", "inner"} <= names


def test_data_objects_of_a_called_process(world):
    world.deploy(
        bpmn(
            _data("greeting", "xsd:string", "from child")
            + '<startEvent id="cs"/>'
            + seq("cs", "ct")
            + '<userTask id="ct" name="${greeting}"/>',
            process_id="child",
        )
    )
    world.deploy(PARENT)
    pid = world.start("p", {"x": 1})
    child_id = next(i for i in world.items if i != pid)
    assert variables(world, child_id)["greeting"] == "from child"
    assert task_names(world, child_id) == ["from child"] and "greeting" not in variables(world, pid)
