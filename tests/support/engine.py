"""Build BPMN documents and run them in the in-memory engine world."""

from __future__ import annotations

from tests.support.world import InMemoryWorld


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


def task_names(world: InMemoryWorld, instance_id: str) -> list[str]:
    return sorted(t.name or "" for t in world.tasks(instance_id))


def task_named(world: InMemoryWorld, instance_id: str, name: str):
    matches = [t for t in world.tasks(instance_id) if t.name == name]
    assert len(matches) == 1, (name, task_names(world, instance_id))
    return matches[0]


def variables(world: InMemoryWorld, instance_id: str) -> dict:
    state = world.state(instance_id)
    return {name: rec.value for name, rec in state.local_variables(instance_id).items()}


HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<definitions '
    'xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:flowable="http://flowable.org/bpmn" targetNamespace="test">'
)
