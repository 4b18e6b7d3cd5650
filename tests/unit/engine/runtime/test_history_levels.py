"""History levels per process definition (``<flowable:historyLevel>``) and per element
(``<flowable:includeInHistory>``), as Flowable's ``DefaultHistoryConfigurationSettings``.

The service's level (``InMemoryWorld(history_level=...)``) applies to definitions without
their own; a definition's own level wins, for its instances only.
"""

from __future__ import annotations

import pytest

from chalicelib.clock import FixedClock
from chalicelib.engine.model import HISTORY_LEVELS
from chalicelib.engine.parser import parse_bpmn
from chalicelib.engine.problems import ProblemCode
from chalicelib.engine.runtime import HistoryKind
from chalicelib.engine.runtime.effects import HistoryLevel
from tests.support.engine import bpmn, seq
from tests.support.world import InMemoryWorld


def _own_level(level: str) -> str:
    return (
        f"<extensionElements><flowable:historyLevel>{level}</flowable:historyLevel>"
        "</extensionElements>"
    )


def _include() -> str:
    return (
        "<extensionElements><flowable:includeInHistory>true</flowable:includeInHistory>"
        "</extensionElements>"
    )


def _user_task_process(own_level: str = "", marked: bool = False, key: str = "p") -> str:
    """start -> u (user task) -> end; ``marked`` puts includeInHistory on ``u`` and on the
    flow into it."""
    include = _include() if marked else ""
    return bpmn(
        own_level + '<startEvent id="s"/>'
        f'<sequenceFlow id="into" sourceRef="s" targetRef="u">{include}</sequenceFlow>'
        f'<userTask id="u">{include}</userTask>' + seq("u", "e") + '<endEvent id="e"/>',
        process_id=key,
    )


def _kinds(world: InMemoryWorld) -> set[str]:
    return {kind for kind, _ in world.history}


def _run(world: InMemoryWorld, key: str = "p") -> str:
    iid = world.start(key, {"a": 1})
    world.complete(world.tasks(iid)[0].id)
    assert world.is_ended(iid)
    return iid


def test_level_names_are_the_engine_levels():
    assert HISTORY_LEVELS == tuple(level.name.lower() for level in HistoryLevel)


@pytest.mark.parametrize(
    "service,own,kinds",
    [
        ("audit", "instance", {"processInstance"}),
        ("audit", "none", set()),
        ("audit", "task", {"processInstance", "taskInstance"}),
        (
            "none",
            "full",
            {
                "processInstance",
                "activityInstance",
                "variableInstance",
                "taskInstance",
                "variableDetail",
            },
        ),
        (
            "instance",
            "AUDIT",
            {"processInstance", "activityInstance", "variableInstance", "taskInstance"},
        ),
    ],
)
def test_a_definitions_own_level_wins_over_the_service_level(service, own, kinds):
    world = InMemoryWorld(FixedClock(), history_level=service, verify=True)
    world.deploy(_user_task_process(_own_level(own)))
    _run(world)
    assert _kinds(world) == kinds


def test_include_in_history_keeps_those_activities_below_the_activity_level():
    clock = FixedClock()
    world = InMemoryWorld(clock, history_level="audit", verify=True)
    world.deploy(_user_task_process(_own_level("instance"), marked=True))
    iid = world.start("p")
    clock.advance(seconds=2)
    world.complete(world.tasks(iid)[0].id)
    acts = world.history_of(HistoryKind.ACTIVITY_INSTANCE, iid)
    # only the marked flow and task; unmarked start, end and the other flow are not kept
    assert [(a["activityId"], a["activityType"]) for a in acts] == [
        ("into", "sequenceFlow"),
        ("u", "userTask"),
    ]
    task = acts[1]
    assert task["endTime"] is not None and task["durationInMillis"] == 2000  # closed later
    assert _kinds(world) == {"processInstance", "activityInstance"}  # no task, no variables


def test_include_in_history_does_nothing_at_level_none():
    world = InMemoryWorld(FixedClock(), history_level="audit", verify=True)
    world.deploy(_user_task_process(_own_level("none"), marked=True))
    _run(world)
    assert world.history == {}


def test_include_in_history_also_applies_under_the_service_level():
    world = InMemoryWorld(FixedClock(), history_level="instance", verify=True)
    world.deploy(_user_task_process(marked=True))
    iid = _run(world)
    assert [a["activityId"] for a in world.history_of(HistoryKind.ACTIVITY_INSTANCE, iid)] == [
        "into",
        "u",
    ]


def test_levels_are_per_instance_within_one_command():
    """A call activity starts a child of a definition that keeps nothing: the parent keeps its
    audit history in the same command, the child none."""
    world = InMemoryWorld(FixedClock(), history_level="audit", verify=True)
    world.deploy(
        bpmn(
            _own_level("none") + '<startEvent id="cs"/>' + seq("cs", "ce") + '<endEvent id="ce"/>',
            process_id="child",
        )
    )
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "call")
            + '<callActivity id="call" calledElement="child"/>'
            + seq("call", "e")
            + '<endEvent id="e"/>',
            process_id="parent",
        )
    )
    iid = world.start("parent")
    assert world.is_ended(iid)
    processes = world.history_of(HistoryKind.PROCESS_INSTANCE)
    assert [p["processInstanceId"] for p in processes] == [iid]
    acts = world.history_of(HistoryKind.ACTIVITY_INSTANCE)
    assert {a["processInstanceId"] for a in acts} == {iid}
    assert "callActivity" in {a["activityType"] for a in acts}


def test_an_unknown_level_is_a_warning_and_the_service_level_applies():
    source = _user_task_process(_own_level("verbose"))
    definitions = parse_bpmn(source)
    [problem] = [p for p in definitions.problems if p.code is ProblemCode.INVALID_VALUE]
    assert problem.is_warning and "verbose" in problem.description
    [model] = definitions.executable_processes
    assert model.history_level is None
    world = InMemoryWorld(FixedClock(), history_level="instance", verify=True)
    world.deploy(source)
    _run(world)
    assert _kinds(world) == {"processInstance"}


def test_parsed_flags():
    [model] = parse_bpmn(
        _user_task_process(_own_level(" Activity "), marked=True)
    ).executable_processes
    assert model.history_level == "activity"
    assert model.elements["u"].include_in_history and not model.elements["s"].include_in_history
    assert model.flows["into"].include_in_history and not model.flows["u_e"].include_in_history


def test_a_migrated_instance_takes_its_new_definitions_level():
    """Migrated (in that very command) to a definition that keeps only instances: the task
    the mapping moves to gets no activity or task history, the process record follows."""
    from chalicelib.engine.runtime import ActivityMigration, MigrateInstance

    world = InMemoryWorld(FixedClock(), history_level="audit", verify=True)
    world.deploy(_user_task_process())
    iid = world.start("p")
    activities = len(world.history_of(HistoryKind.ACTIVITY_INSTANCE, iid))
    [quiet] = world.deploy(
        bpmn(
            _own_level("instance")
            + '<startEvent id="s"/>'
            + seq("s", "u")
            + '<userTask id="u"/>'
            + seq("u", "v")
            + '<userTask id="v"/>'
            + seq("v", "e")
            + '<endEvent id="e"/>'
        )
    )
    world.run(MigrateInstance(iid, quiet, {}, {"u": ActivityMigration("v")}))
    assert [t.task_definition_key for t in world.tasks(iid)] == ["v"]
    acts = world.history_of(HistoryKind.ACTIVITY_INSTANCE, iid)
    assert len(acts) == activities and "v" not in {a["activityId"] for a in acts}
    assert "v" not in {
        t["taskDefinitionKey"] for t in world.history_of(HistoryKind.TASK_INSTANCE, iid)
    }
    [process] = world.history_of(HistoryKind.PROCESS_INSTANCE, iid)
    assert process["processDefinitionId"] == quiet
