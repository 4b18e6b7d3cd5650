"""Linear cost: multi-instance state does not grow quadratically; workloads run."""

from __future__ import annotations

from bench import workloads
from tests.support.engine import bpmn, seq


def test_sequential_mi_of_500_keeps_a_constant_state_size(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>' + seq("s", "mi") + '<userTask id="mi">'
            '<multiInstanceLoopCharacteristics isSequential="true" '
            'flowable:collection="${items}" flowable:elementVariable="item"/>'
            "</userTask>" + seq("mi", "e") + '<endEvent id="e"/>'
        )
    )
    world.verify = False
    iid = world.start("p", {"items": list(range(500))})
    sizes = set()
    for step in range(500):
        [task] = world.tasks(iid)
        if step % 100 == 0:
            sizes.add(len(world.state(iid).to_records()))
        result = world.complete(task.id)
        assert len(result.state.changes().puts) == 0  # committed by the world
    assert len(sizes) == 1 and world.is_ended(iid)


def test_parallel_mi_records_grow_linearly(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>' + seq("s", "mi") + '<userTask id="mi">'
            '<multiInstanceLoopCharacteristics isSequential="false">'
            "<loopCardinality>${n}</loopCardinality>"
            "</multiInstanceLoopCharacteristics></userTask>"
        )
    )
    small = world.state(world.start("p", {"n": 100})).to_records()
    large = world.state(world.start("p", {"n": 200})).to_records()
    # fixed: header, root, variable n, MI root and its 3 counters; per instance: execution,
    # loopCounter, task
    assert len(small) == 7 + 3 * 100 and len(large) == 7 + 3 * 200


def test_workloads_run_to_completion():
    for name in ("A", "B", "P"):
        report = workloads.run(name, 20)
        assert report.records == 1 and report.history_records > 20
    assert workloads.run("A", 200).history_records < 10 * workloads.run("A", 50).history_records
