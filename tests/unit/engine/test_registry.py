"""The element registry: every BPMN kind has one complete row (parser, validator, behaviour)."""

from __future__ import annotations

import inspect

import pytest

from chalicelib.engine import elements as el
from chalicelib.engine.parser import parse_bpmn
from chalicelib.engine.registry import BY_CLASS, BY_TAG, KINDS, ElementKind
from chalicelib.engine.runtime.behaviours.table import BEHAVIOURS, dispatch_table
from chalicelib.engine.runtime.session import HOOKS


def _flow_node_classes() -> set[type]:
    return {
        cls
        for _, cls in inspect.getmembers(el, inspect.isclass)
        if issubclass(cls, el.FlowNode) and cls not in (el.FlowNode, el.Activity)
    }


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.tag)
def test_every_kind_is_complete(kind: ElementKind):
    assert issubclass(kind.element, el.FlowNode)
    assert callable(kind.build), "a parser (node builder)"
    assert callable(kind.check), "a validator check (no_extra_checks when it has none)"
    if kind.behaviour is None:
        assert kind.not_executed, "no behaviour needs a reason"
    else:
        assert kind.not_executed is None, "a behaviour and a reason not to execute"
        assert kind.behaviour in BEHAVIOURS, f"the runtime has no behaviour {kind.behaviour!r}"
        assert HOOKS.behaviours[kind.element] is BEHAVIOURS[kind.behaviour]


def test_one_row_per_tag_and_per_class():
    assert len(BY_TAG) == len(KINDS)
    assert len(BY_CLASS) == len(KINDS)


def test_every_element_class_has_a_row():
    assert _flow_node_classes() == set(BY_CLASS)


def test_every_behaviour_is_used():
    assert {kind.behaviour for kind in KINDS if kind.behaviour} == set(BEHAVIOURS)


def test_the_runtime_dispatches_exactly_the_executable_kinds():
    executable = {kind.element for kind in KINDS if kind.behaviour}
    assert set(HOOKS.behaviours) == executable


def test_an_unknown_behaviour_name_is_refused():
    broken = ElementKind("task", el.Task, KINDS[0].build, KINDS[0].check, "no_such_behaviour")
    with pytest.raises(KeyError, match="no_such_behaviour"):
        dispatch_table([broken])


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.tag)
def test_the_parser_builds_every_kind(kind: ElementKind):
    if kind.element is el.BoundaryEvent:
        body = '<task id="host"/><boundaryEvent id="it" attachedToRef="host"/>'
    else:
        body = f'<{kind.tag} id="it"/>'
    xml = (
        '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'targetNamespace="t"><process id="p">' + body + "</process></definitions>"
    )
    definitions = parse_bpmn(xml)
    assert type(definitions.processes["p"].elements["it"]) is kind.element
