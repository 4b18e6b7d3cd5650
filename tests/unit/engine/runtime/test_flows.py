"""Gateways and sequence flows: exclusive, parallel, inclusive, conditions and defaults."""

from __future__ import annotations

import pytest

from chalicelib.errors import ProcessFailure
from tests.support.engine import bpmn, seq, task_names


def _exclusive(default: bool) -> str:
    attribute = 'default="fd"' if default else ""
    return bpmn(
        '<startEvent id="s"/>'
        + seq("s", "gw")
        + f'<exclusiveGateway id="gw" {attribute}/>'
        + seq("gw", "a", "fa", "${x > 10}")
        + seq("gw", "b", "fb", "${x > 5}")
        + seq("gw", "c", "fd")
        + '<userTask id="a" name="A"/><userTask id="b" name="B"/><userTask id="c" name="C"/>'
    )


@pytest.mark.parametrize("x,expected", [(20, ["A"]), (7, ["B"]), (1, ["C"])])
def test_exclusive_first_true_in_document_order_else_default(world, x, expected):
    world.deploy(_exclusive(default=True))
    assert task_names(world, world.start("p", {"x": x})) == expected


def test_exclusive_without_default_takes_unconditional_flow(world):
    world.deploy(_exclusive(default=False))
    assert task_names(world, world.start("p", {"x": 1})) == ["C"]


def test_exclusive_with_no_flow_to_take_fails_with_no_outgoing_flow(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "gw")
            + '<exclusiveGateway id="gw"/>'
            + seq("gw", "a", "fa", "${x == 1}")
            + '<userTask id="a"/>'
        )
    )
    with pytest.raises(ProcessFailure) as failure:
        world.start("p", {"x": 2})
    assert failure.value.kind == "no-outgoing-flow" and failure.value.activity_id == "gw"
    assert world.items == {}


def test_non_boolean_condition_is_an_expression_failure(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "gw")
            + '<exclusiveGateway id="gw"/>'
            + seq("gw", "a", "fa", "${x}")
            + '<userTask id="a"/>'
        )
    )
    with pytest.raises(ProcessFailure) as failure:
        world.start("p", {"x": "yes"})
    assert failure.value.kind == "expression"


def test_parallel_fork_join_waits_for_every_branch(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "fork")
            + '<parallelGateway id="fork"/>'
            + seq("fork", "a")
            + seq("fork", "b")
            + seq("fork", "c", condition="${false}")
            + '<userTask id="a" name="A"/><userTask id="b" name="B"/><task id="c"/>'
            + seq("a", "join")
            + seq("b", "join")
            + seq("c", "join")
            + '<parallelGateway id="join"/>'
            + seq("join", "z")
            + '<userTask id="z" name="Z"/>'
        )
    )
    iid = world.start("p")
    assert task_names(world, iid) == ["A", "B"]  # conditions ignored: c ran through
    state = world.state(iid)
    assert state.count_at(iid, "join") == 1
    world.complete(next(t.id for t in world.tasks(iid) if t.name == "A"))
    assert task_names(world, iid) == ["B"]
    world.complete(world.tasks(iid)[0].id)
    assert task_names(world, iid) == ["Z"]
    assert len(world.state(iid).executions) == 2  # root + the joined token


INCLUSIVE = bpmn(
    '<startEvent id="s"/>'
    + seq("s", "split")
    + '<inclusiveGateway id="split" default="fd"/>'
    + seq("split", "a", "fa", "${x >= 1}")
    + seq("split", "b", "fb", "${x >= 2}")
    + seq("split", "c", "fd")
    + '<userTask id="a" name="A"/><userTask id="b" name="B"/><userTask id="c" name="C"/>'
    + seq("a", "join")
    + seq("b", "join")
    + seq("c", "join")
    + '<inclusiveGateway id="join"/>'
    + seq("join", "z")
    + '<userTask id="z" name="Z"/>'
)


@pytest.mark.parametrize("x,expected", [(2, ["A", "B"]), (1, ["A"]), (0, ["C"])])
def test_inclusive_split_all_true_conditions_else_default(world, x, expected):
    world.deploy(INCLUSIVE)
    assert task_names(world, world.start("p", {"x": x})) == expected


def test_inclusive_join_waits_only_for_tokens_that_can_reach_it(world):
    world.deploy(INCLUSIVE)
    iid = world.start("p", {"x": 2})
    world.complete(next(t.id for t in world.tasks(iid) if t.name == "B"))
    assert task_names(world, iid) == ["A"]
    world.complete(world.tasks(iid)[0].id)
    assert task_names(world, iid) == ["Z"]
    iid = world.start("p", {"x": 1})
    world.complete(world.tasks(iid)[0].id)
    assert task_names(world, iid) == ["Z"]


def test_inclusive_join_fires_when_the_other_token_ends_elsewhere(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "fork")
            + '<parallelGateway id="fork"/>'
            + seq("fork", "a")
            + seq("fork", "b")
            + '<userTask id="a" name="A"/>'
            '<userTask id="b" name="B"/>'
            + seq("a", "join")
            + seq("b", "x")
            + '<exclusiveGateway id="x"/>'
            + seq("x", "join", "toJoin", "${go}")
            + seq("x", "end", "toEnd", "${!go}")
            + '<endEvent id="end"/>'
            '<inclusiveGateway id="join"/>' + seq("join", "z") + '<userTask id="z" name="Z"/>'
        )
    )
    iid = world.start("p", {"go": False})
    world.complete(next(t.id for t in world.tasks(iid) if t.name == "A"))
    assert task_names(world, iid) == ["B"]
    world.complete(world.tasks(iid)[0].id)
    assert task_names(world, iid) == ["Z"]


def test_conditional_and_default_flows_on_activities(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "m")
            + '<manualTask id="m" default="fd"/>'
            + seq("m", "a", "fa", "${x == 1}")
            + seq("m", "b", "fb")
            + seq("m", "c", "fd")
            + '<userTask id="a" name="A"/><userTask id="b" name="B"/>'
            '<userTask id="c" name="C"/>'
        )
    )
    assert task_names(world, world.start("p", {"x": 1})) == ["A", "B"]
    assert task_names(world, world.start("p", {"x": 2})) == ["B"]


def test_default_flow_on_activity_when_no_condition_holds(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "m")
            + '<task id="m" default="fd"/>'
            + seq("m", "a", "fa", "${x == 1}")
            + seq("m", "c", "fd")
            + '<userTask id="a" name="A"/><userTask id="c" name="C"/>'
        )
    )
    assert task_names(world, world.start("p", {"x": 2})) == ["C"]


def test_loop_without_wait_state_is_stopped(world):
    from chalicelib.engine.runtime import Session, StartProcess, StepLimitExceeded

    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "t")
            + '<task id="t"/>'
            + seq("t", "t2")
            + '<task id="t2"/>'
            + seq("t2", "t")
        )
    )
    session = Session(clock=world.clock, load_definition=world.definitions.get, max_steps=500)
    with pytest.raises(StepLimitExceeded):
        session.execute(StartProcess(world.latest["p"]))
