"""The engine alone (no storage): run plus persist, time per item and persisted size.

Workloads (``bench.workloads``): (A) a sequential multi-instance of a
no-op task, (B) a parallel fork/join of N no-op branches, (P) a script task building N items,
then a sequential multi-instance sub-process running a small JavaScript script per item (the
shape of SpiffWorkflow's own performance test).

For each workload and N the start command runs to completion in a fresh engine ``Session``
(no store: the definition is parsed once beforehand, as the container's cache would hold it).
"persist" is what the service's unit of work does before its one TransactWriteItems: runtime
items of the changed records (``instance_items.changed_items``), history items of the history
effects (latest per item, activity records as one segment: ``instances.history_items``), each
encoded as stored (``storage.codec.encode``: JSON body, zlib-compressed when larger than
``codec.RAW_BODY_BYTES``). Figures: run and persist time, time per item (must stay flat as N
grows: linear cost), items and stored body bytes.

If SpiffWorkflow is installed (``bench/requirements.txt``; never a runtime dependency), the
same workloads run on it in the same process: A and B from the very same XML (its ``task`` made
automatic, its cheapest no-op), P rewritten in its dialect (Python scripts,
``loopDataInputRef``/``inputDataItem``); ``do_engine_steps()`` to completion, then
``BpmnWorkflowSerializer.serialize_json`` plus zlib compression as "persist" (its one JSON
document is far above ``RAW_BODY_BYTES``: our codec would compress it too). Ratios are
SpiffWorkflow's time over ours, measured alternately in one run. Run with ``make bench``.
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

REPO = Path(__file__).resolve().parents[1]
#: N per workload (P's headline is 500; 100 shows whether its cost per item stays flat)
SIZES = {"A": (50, 200, 500), "B": (10, 50, 200), "P": (100, 500)}
#: SpiffWorkflow time over ours that the issue aims at (largest N, run plus persist)
GOALS = {"A": 10.0, "B": 50.0, "P": 100.0}
#: repetitions per (workload, N): at least MIN_REPEATS, more while under REPEAT_SECONDS
MIN_REPEATS = int(os.environ.get("BENCH_ENGINE_REPEATS", "3"))
REPEAT_SECONDS = float(os.environ.get("BENCH_ENGINE_SECONDS", "1.5"))
ROUND_BUDGET_SECONDS = float(os.environ.get("BENCH_ENGINE_BUDGET", "25"))
HISTORY_LEVEL = "audit"  # the service's default (Settings.history_level)
COMPRESSION_LEVEL = 6  # as storage.codec (for bodies above RAW_BODY_BYTES)


def _rounds(participants: dict[str, Callable[[], dict]], warm: set[str]) -> dict[str, list[dict]]:
    """Samples of each participant, taken in alternation (the machine's noise hits all alike).

    Those in ``warm`` run once unmeasured first. At least MIN_REPEATS rounds, more while under
    REPEAT_SECONDS (15 at most); fewer only when rounds are slow (past ROUND_BUDGET_SECONDS).
    """
    for name in warm:
        participants[name]()
    samples: dict[str, list[dict]] = {name: [] for name in participants}
    began = time.perf_counter()
    rounds = 0
    while True:
        for name, action in participants.items():
            gc.collect()  # start each sample clean of the previous one's garbage
            samples[name].append(action())
        rounds += 1
        elapsed = time.perf_counter() - began
        if rounds >= 15 or elapsed > ROUND_BUDGET_SECONDS:
            break  # a slow machine, or slow rounds: report what we have
        if rounds >= MIN_REPEATS and elapsed >= REPEAT_SECONDS:
            break
    return samples


def _median(samples: list[dict], key: str) -> float:
    return statistics.median(s[key] for s in samples)


# --- our engine --------------------------------------------------------------------------------


class Ours:
    """Our engine: one StartProcess in a fresh Session, then the unit of work's item mapping."""

    def __init__(self) -> None:
        from chalicelib.clock import FixedClock
        from chalicelib.engine.parser import parse_bpmn

        self._parse = parse_bpmn
        self.clock = FixedClock()
        # what history_items needs of a container: the TTL setting and the clock
        self.container = SimpleNamespace(
            settings=SimpleNamespace(history_ttl_days=0), clock=self.clock
        )

    def prepare(self, workload: str, n: int) -> tuple[str, Any]:
        from bench.workloads import build_xml

        [model] = self._parse(build_xml(workload, n)).executable_processes
        return f"{model.key}:1:bench", model

    def run(
        self,
        prepared: tuple[str, Any],
        check: Callable[[dict], None] | None,
        history_level: str = HISTORY_LEVEL,
    ) -> dict:
        from chalicelib.engine.runtime import HistoryRecord, Session, StartProcess
        from chalicelib.service.repositories.history import history_items
        from chalicelib.service.repositories.instances import changed_items
        from chalicelib.storage.codec import encode, record_size
        from chalicelib.storage.ports import Table

        definition_id, model = prepared
        session = Session(
            clock=self.clock,
            resolve_key=lambda key: (definition_id, model),
            load_definition=lambda _id: model,
            load_instance=lambda _id: None,
            history_level=history_level,
        )
        began = time.perf_counter()
        result = session.execute(StartProcess(definition_id, {}, None, None))
        ran = time.perf_counter()
        runtime_items = []
        for state in result.instances.values():
            puts, _deletes = changed_items(state.changes())
            runtime_items.extend(puts)
        history = history_items(self.container, result.effects)
        runtime_records = [r for item in runtime_items for r in encode(Table.RUNTIME, item)]
        history_records = [r for item in history for r in encode(Table.HISTORY, item)]
        persisted = time.perf_counter()
        if check is not None:
            check(
                {
                    record.fields.get("name"): record.fields.get("value")
                    for record in result.effects
                    if isinstance(record, HistoryRecord) and record.kind.value == "variableInstance"
                }
            )
        return {
            "run": ran - began,
            "persist": persisted - ran,
            "runtime_items": len(runtime_records),
            "runtime_bytes": sum(len(r["body"]) for r in runtime_records),
            "history_items": len(history_records),
            "history_bytes": sum(len(r["body"]) for r in history_records),
            "stored_bytes": sum(record_size(r) for r in runtime_records + history_records),
        }


# --- SpiffWorkflow -----------------------------------------------------------------------------

_SPIFF_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<definitions xmlns="http://www.omg.org/'
    'spec/BPMN/20100524/MODEL" targetNamespace="bench">\n'
)


def _spiff_script_mi(n: int) -> str:
    """Workload P in SpiffWorkflow's dialect (Python scripts, standard MI data input).

    Without an output item Spiff merges each child's data back into the multi-instance task,
    so the script deletes ``item`` (else the next child finds it "already exists").
    """
    return (
        _SPIFF_HEAD + '<process id="benchP" isExecutable="true">'
        '<startEvent id="start"/><sequenceFlow id="f1" sourceRef="start" targetRef="make"/>'
        f'<scriptTask id="make"><script>items = ["item" + str(i) for i in range({n})]\n'
        "count = 0</script></scriptTask>"
        '<sequenceFlow id="f2" sourceRef="make" targetRef="each"/>'
        '<subProcess id="each"><multiInstanceLoopCharacteristics isSequential="true">'
        '<loopDataInputRef>items</loopDataInputRef><inputDataItem id="item" name="item"/>'
        "</multiInstanceLoopCharacteristics>"
        '<startEvent id="s"/><sequenceFlow id="g1" sourceRef="s" targetRef="work"/>'
        '<scriptTask id="work"><script>count = count + len(item)\ndel item</script>'
        '</scriptTask><sequenceFlow id="g2" sourceRef="work" targetRef="e"/>'
        '<endEvent id="e"/></subProcess>'
        '<sequenceFlow id="f3" sourceRef="each" targetRef="end"/><endEvent id="end"/>'
        "</process></definitions>"
    )


class Spiff:
    """SpiffWorkflow: parse once, then BpmnWorkflow + do_engine_steps + serialize_json."""

    def __init__(self) -> None:
        from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
        from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
        from SpiffWorkflow.bpmn.specs.defaults import NoneTask
        from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

        self._parser_class, self._workflow_class = BpmnParser, BpmnWorkflow
        self._none_task = NoneTask
        self.serializer = BpmnWorkflowSerializer()

    def prepare(self, workload: str, n: int) -> tuple[Any, Any]:
        from bench.workloads import WORKLOADS, build_xml

        key = WORKLOADS[workload][0]
        xml = _spiff_script_mi(n) if workload == "P" else build_xml(workload, n)
        parser = self._parser_class()
        parser.add_bpmn_str(xml.encode("utf-8"))
        spec, subprocesses = parser.get_spec(key), parser.get_subprocess_specs(key)
        for each in (spec, *subprocesses.values()):
            for task_spec in each.task_specs.values():
                if isinstance(task_spec, self._none_task):
                    task_spec.manual = False  # a no-op <task> runs by itself, as in Flowable
        return spec, subprocesses

    def run(self, prepared: tuple[Any, Any], check: Callable[[dict], None] | None) -> dict:
        spec, subprocesses = prepared
        began = time.perf_counter()
        workflow = self._workflow_class(spec, subprocesses)
        workflow.do_engine_steps()
        ran = time.perf_counter()
        text = self.serializer.serialize_json(workflow)
        body = zlib.compress(text.encode("utf-8"), COMPRESSION_LEVEL)
        persisted = time.perf_counter()
        if not workflow.is_completed():
            raise AssertionError("SpiffWorkflow did not run the workload to completion")
        if check is not None:
            check(dict(workflow.data))
        return {
            "run": ran - began,
            "persist": persisted - ran,
            "json_bytes": len(text),
            "bytes": len(body),
        }


def _spiff_or_none() -> tuple[Spiff | None, str]:
    try:
        from importlib.metadata import version

        import SpiffWorkflow  # noqa: F401
    except ImportError:
        return None, ""
    try:
        return Spiff(), version("SpiffWorkflow")
    except Exception as exc:  # an API we do not know: report, do not fail the build
        print(f"  SpiffWorkflow present but unusable here ({type(exc).__name__}: {exc})")
        return None, ""


def _count_check(n: int) -> Callable[[dict], None]:
    """P's result: the sum of len("item<i>") over the items."""
    expected = sum(len(f"item{i}") for i in range(n))

    def check(variables: dict) -> None:
        if variables.get("count") != expected:
            raise AssertionError(
                f"P computed count={variables.get('count')!r}, expected {expected}"
            )

    return check


def _measure(ours: Ours, spiff: Spiff | None, workload: str, n: int, largest: bool) -> dict:
    """Ours (audit history), ours at the lighter levels (largest N only: ``instance``, what a
    process's own ``historyLevel`` can ask for, and ``none``) and SpiffWorkflow, alternated."""
    check = _count_check(n) if workload == "P" else None
    mine = ours.prepare(workload, n)
    participants: dict[str, Callable[[], dict]] = {"ours": lambda: ours.run(mine, check)}
    if largest:
        participants["brief"] = lambda: ours.run(mine, None, history_level="instance")
        participants["bare"] = lambda: ours.run(mine, None, history_level="none")
    warm = set(participants)
    figure: dict[str, Any] = {}
    if spiff is not None:
        try:
            theirs = spiff.prepare(workload, n)
            spiff.run(theirs, check)  # warm-up, and fails early if it cannot run the workload
            participants["spiff"] = lambda: spiff.run(theirs, check)
        except Exception as exc:  # report, never fail the build
            figure["spiff_error"] = f"{type(exc).__name__}: {exc}"
    for name, samples in _rounds(participants, warm).items():
        run_s, persist_s = _median(samples, "run"), _median(samples, "persist")
        figure[name] = {
            **samples[-1],
            "run": run_s,
            "persist": persist_s,
            "total": run_s + persist_s,
            "samples": len(samples),
        }
    return figure


def main() -> dict:
    sys.path.insert(0, str(REPO))
    from chalicelib.service.unit_of_work import MAX_WRITES  # writes one request may commit

    ours = Ours()
    spiff, spiff_version = _spiff_or_none()
    print(
        f"== engine alone (no storage), history level {HISTORY_LEVEL!r}, median of >= "
        f"{MIN_REPEATS} runs"
        + (f", alternating with SpiffWorkflow {spiff_version}" if spiff else "")
        + " =="
    )
    figures: dict[tuple[str, int], dict] = {}
    for workload, sizes in SIZES.items():
        for n in sizes:
            figures[(workload, n)] = _measure(ours, spiff, workload, n, n == sizes[-1])

    print(
        "  run = start command to completion; persist = runtime + history items encoded as "
        "stored (JSON, zlib above "
        "the codec's RAW_BODY_BYTES)"
    )
    print(
        f"  {'load':<6}{'N':>5}  {'run ms':>9} {'persist ms':>10} {'us/item':>9}  "
        f"{'runtime items/B':>16} {'history items/B':>17}  {'writes':>6}"
    )
    for workload, sizes in SIZES.items():
        for n in sizes:
            mine = figures[(workload, n)]["ours"]
            writes = mine["runtime_items"] + mine["history_items"]
            print(
                f"  {workload:<6}{n:>5}  {mine['run'] * 1000:9.2f} "
                f"{mine['persist'] * 1000:10.2f} {mine['total'] / n * 1e6:9.1f}  "
                f"{mine['runtime_items']:>5} /{mine['runtime_bytes']:>8}  "
                f"{mine['history_items']:>5} /{mine['history_bytes']:>9}  {writes:>6}"
                + (f"  (> {MAX_WRITES}: more than one transaction)" if writes > MAX_WRITES else "")
            )
        if len(sizes) > 1:
            first, last = (
                figures[(workload, n)]["ours"]["total"] / n for n in (sizes[0], sizes[-1])
            )
            growth = last / first
            verdict = "flat (linear)" if growth < 1.5 else "GROWS (worse than linear)"
            print(
                f"  {workload}: us/item at N={sizes[-1]} over N={sizes[0]}: {growth:.2f}x "
                f"-> {verdict}"
            )
    print(
        "  the largest N at history levels 'instance' (a process's own historyLevel can ask "
        "for it) and 'none' (what history costs):"
    )
    for workload, sizes in SIZES.items():
        n = sizes[-1]
        figure = figures[(workload, n)]
        mine = figure["ours"]["total"]
        for name, level in (("brief", "instance"), ("bare", "none")):
            light = figure[name]["total"]
            print(
                f"  {workload:<6}{n:>5}  {level:<9}{light * 1000:9.2f} ms run + persist "
                f"{light / n * 1e6:9.1f} us/item  ({1 - light / mine:.0%} less than "
                f"{HISTORY_LEVEL!r})"
            )
    if spiff is None:
        print(
            "  SpiffWorkflow not installed: ratios skipped (pip install -r bench/requirements.txt)"
        )
        return figures

    print()
    print(f"== SpiffWorkflow {spiff_version} on the same workloads, same run ==")
    print("  run = BpmnWorkflow + do_engine_steps(); persist = serialize_json + zlib")
    print(
        f"  {'load':<6}{'N':>5}  {'run ms':>9} {'persist ms':>10} {'us/item':>9}  "
        f"{'JSON B':>9} {'zlib B':>8}   {'time ratio':>10} {'size ratio':>10}"
    )
    for workload, sizes in SIZES.items():
        per_item = []
        for n in sizes:
            figure = figures[(workload, n)]
            if "spiff" not in figure:
                print(f"  {workload:<6}{n:>5}  failed: {figure.get('spiff_error')}")
                continue
            theirs, mine = figure["spiff"], figure["ours"]
            per_item.append(theirs["total"] / n * 1e6)
            figure["ratio"] = theirs["total"] / mine["total"]
            size_ratio = theirs["bytes"] / max(mine["runtime_bytes"] + mine["history_bytes"], 1)
            print(
                f"  {workload:<6}{n:>5}  {theirs['run'] * 1000:9.2f} "
                f"{theirs['persist'] * 1000:10.2f} {theirs['total'] / n * 1e6:9.1f}  "
                f"{theirs['json_bytes']:>9} {theirs['bytes']:>8}   {figure['ratio']:9.1f}x "
                f"{size_ratio:9.1f}x"
            )
        if len(per_item) > 1:
            print(
                f"  {workload}: SpiffWorkflow us/item at N={sizes[-1]} over N={sizes[0]}: "
                f"{per_item[-1] / per_item[0]:.2f}x"
            )
    print("  size ratio = SpiffWorkflow zlib bytes / our runtime + history body bytes")
    print("  goals (SpiffWorkflow time / ours, run plus persist, at the largest N):")
    for workload, goal in GOALS.items():
        figure = figures[(workload, SIZES[workload][-1])]
        if "ratio" not in figure:
            print(f"    {workload}: no ratio (SpiffWorkflow run failed)")
            continue
        verdict = "met" if figure["ratio"] >= goal else "BELOW GOAL"
        brief, bare = (
            figure["spiff"]["total"] / figure[name]["total"] for name in ("brief", "bare")
        )
        print(
            f"    {workload} N={SIZES[workload][-1]}: {figure['ratio']:6.1f}x  "
            f"(goal >= {goal:g}x) {verdict}   [at our history level 'instance' {brief:.1f}x, "
            f"'none' {bare:.1f}x]"
        )
    return figures


if __name__ == "__main__":
    main()
