"""The engine benchmark workloads, built in memory (``bench/`` calls :func:`run`).

- ``A``: a sequential multi-instance of a no-op task, N times.
- ``B``: a parallel fork of N no-op branches and their join.
- ``P``: a script task builds a list of N items, then a sequential multi-instance
  sub-process runs a small JavaScript script per item (SpiffWorkflow's performance test shape).

Each runs to completion in one start command through
:class:`~tests.support.world.InMemoryWorld` (JSON round trip included). ``run``
returns sizes and timings; ``python -m bench.workloads`` prints a table. Benchmark code: it
lives here, not in ``chalicelib/``, so that it does not ship in the Lambda package.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from chalicelib.clock import FixedClock
from chalicelib.engine.runtime.effects import HistoryRecord

__all__ = ["WORKLOADS", "build_xml", "run", "RunReport"]

_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<definitions xmlns="http://www.omg.org/spec/'
    'BPMN/20100524/MODEL" xmlns:flowable="http://flowable.org/bpmn" '
    'targetNamespace="bench">\n'
)


def _sequential_mi(n: int) -> str:
    return (
        _HEAD + '<process id="benchA" isExecutable="true">'
        '<startEvent id="start"/><sequenceFlow id="f1" sourceRef="start" targetRef="t"/>'
        '<task id="t"><multiInstanceLoopCharacteristics isSequential="true">'
        f"<loopCardinality>{n}</loopCardinality></multiInstanceLoopCharacteristics></task>"
        '<sequenceFlow id="f2" sourceRef="t" targetRef="end"/><endEvent id="end"/>'
        "</process></definitions>"
    )


def _fork_join(n: int) -> str:
    parts = [
        _HEAD,
        '<process id="benchB" isExecutable="true"><startEvent id="start"/>'
        '<sequenceFlow id="f0" sourceRef="start" targetRef="fork"/>'
        '<parallelGateway id="fork"/><parallelGateway id="join"/>',
    ]
    for i in range(n):
        parts.append(
            f'<sequenceFlow id="a{i}" sourceRef="fork" targetRef="t{i}"/>'
            f'<task id="t{i}"/><sequenceFlow id="b{i}" sourceRef="t{i}" '
            f'targetRef="join"/>'
        )
    parts.append(
        '<sequenceFlow id="fz" sourceRef="join" targetRef="end"/><endEvent id="end"/>'
        "</process></definitions>"
    )
    return "".join(parts)


def _script_mi(n: int) -> str:
    return (
        _HEAD + '<process id="benchP" isExecutable="true">'
        '<startEvent id="start"/><sequenceFlow id="f1" sourceRef="start" targetRef="make"/>'
        '<scriptTask id="make" scriptFormat="javascript"><script><![CDATA['
        f'var items = []; for (var i = 0; i < {n}; i++) {{ items.push("item" + i); }}'
        'execution.setVariable("items", items); execution.setVariable("count", 0);'
        "]]></script></scriptTask>"
        '<sequenceFlow id="f2" sourceRef="make" targetRef="each"/>'
        '<subProcess id="each"><multiInstanceLoopCharacteristics isSequential="true" '
        'flowable:collection="${items}" flowable:elementVariable="item"/>'
        '<startEvent id="s"/><sequenceFlow id="g1" sourceRef="s" targetRef="work"/>'
        '<scriptTask id="work" scriptFormat="javascript"><script><![CDATA['
        'execution.setVariable("count", execution.getVariable("count") + item.length);'
        "]]></script></scriptTask>"
        '<sequenceFlow id="g2" sourceRef="work" targetRef="e"/><endEvent id="e"/>'
        '</subProcess><sequenceFlow id="f3" sourceRef="each" targetRef="end"/>'
        '<endEvent id="end"/></process></definitions>'
    )


WORKLOADS = {
    "A": ("benchA", _sequential_mi),
    "B": ("benchB", _fork_join),
    "P": ("benchP", _script_mi),
}


def build_xml(workload: str, n: int) -> str:
    """The BPMN XML of a workload for ``n`` items."""
    return WORKLOADS[workload][1](n)


@dataclass(frozen=True, slots=True)
class RunReport:
    """One run: the final state's size, the history written, and the time taken."""

    workload: str
    n: int
    records: int
    bytes: int
    history_records: int
    effects: int
    seconds: float


def run(workload: str, n: int, *, history_level: str = "audit") -> RunReport:
    """Deploy and run a workload to completion; returns its :class:`RunReport`."""
    from tests.support.world import InMemoryWorld

    world = InMemoryWorld(FixedClock(), history_level=history_level, verify=False)
    key, _ = WORKLOADS[workload]
    world.deploy(build_xml(workload, n))
    began = time.perf_counter()
    instance_id = world.start(key)
    seconds = time.perf_counter() - began
    records, size = world.state(instance_id).size()
    history = sum(1 for e in world.effects if isinstance(e, HistoryRecord))
    return RunReport(workload, n, records, size, history, len(world.effects), seconds)


if __name__ == "__main__":  # pragma: no cover - manual benchmark
    for name, sizes in (("A", (50, 200, 500)), ("B", (50, 200, 500)), ("P", (50, 200, 500))):
        for size in sizes:
            print(run(name, size))
