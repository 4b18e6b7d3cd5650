"""Fixtures for the executor tests: an in-memory world whose instances live as JSON items.

Every command in these tests starts from records decoded from JSON text and commits only its
change set back (``InMemoryWorld(verify=True)`` checks the stored items equal the state).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.clock import FixedClock
from chalicelib.engine.runtime.memory import InMemoryWorld

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "bpmn-corpus"

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<definitions '
    'xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:flowable="http://flowable.org/bpmn" targetNamespace="test">'
)


def bpmn(body: str, process_id: str = "p", extra: str = "") -> str:
    """A one-process document around ``body``; ``extra`` goes before the process."""
    return f'{HEAD}{extra}<process id="{process_id}" isExecutable="true">{body}</process></definitions>'


def seq(source: str, target: str, flow_id: str | None = None, condition: str | None = None) -> str:
    """A sequence flow (optionally conditional)."""
    flow_id = flow_id or f"{source}_{target}"
    if condition is None:
        return f'<sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}"/>'
    return (
        f'<sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">'
        f"<conditionExpression><![CDATA[{condition}]]></conditionExpression></sequenceFlow>"
    )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def world(clock) -> InMemoryWorld:
    return InMemoryWorld(clock, verify=True)


@pytest.fixture
def flowable_corpus() -> Path:
    folder = CORPUS / "flowable"
    if not folder.is_dir():
        pytest.skip(f"BPMN corpus not found at {folder} (it lives in ../shared beside the repo)")
    return folder


def task_names(world: InMemoryWorld, instance_id: str) -> list[str]:
    return sorted(t.name or "" for t in world.tasks(instance_id))


def task_named(world: InMemoryWorld, instance_id: str, name: str):
    matches = [t for t in world.tasks(instance_id) if t.name == name]
    assert len(matches) == 1, (name, task_names(world, instance_id))
    return matches[0]


def variables(world: InMemoryWorld, instance_id: str) -> dict:
    state = world.state(instance_id)
    return {name: rec.value for name, rec in state.local_variables(instance_id).items()}
