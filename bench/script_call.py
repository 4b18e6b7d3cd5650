"""The cost of one script call (µs): a trivial script and a regex-using one, each in a fresh
QuickJS context and in a command's shared context (:class:`~chalicelib.engine.scripting.ScriptPool`,
as workload P of ``bench/engine.py`` runs its per-item script).

Each is measured twice in the same run, samples alternating: with the time limit on (QuickJS's
interrupt handler installed, as the engine always runs scripts) and with it off
(``time_limit_s=None``: no interrupt handler), and the ratio of the two medians is printed:
the cost of the limit mechanism (issue 12), free of the machine's drift between runs. It also
prints the QuickJS binding in use, so figures from before and after a change of binding can be
set side by side (``docs/benchmarks.md``). Run with ``make bench``, or alone:
``python -m bench.script_call``.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: calls per sample, and samples (the median is printed)
CALLS = int(os.environ.get("BENCH_SCRIPT_CALLS", "400"))
SAMPLES = int(os.environ.get("BENCH_SCRIPT_SAMPLES", "7"))

SCRIPTS = {
    "trivial": 'execution.setVariable("count", execution.getVariable("count") + item.length);',
    "regex": (
        'var m = /^([a-z]+)-([0-9]+)$/.exec(item); execution.setVariable("count", '
        'execution.getVariable("count") + (m ? m[1].replace(/[aeiou]/g, "").length : 0));'
    ),
}


def _binding() -> str:
    for name in ("quickjs-ng", "quickjs"):
        try:
            return f"{name} {metadata.version(name)}"
        except metadata.PackageNotFoundError:
            continue
    return "quickjs (version unknown)"


def _caller(source: str, pooled: bool, limited: bool) -> Callable[[], None]:
    """One ``run_script`` call of ``source``, warmed up (preludes read, pooled context and
    compiled script made)."""
    from chalicelib.engine.scripting import DEFAULT_TIME_LIMIT_S, ScriptPool, run_script

    pool = ScriptPool() if pooled else None
    variables = {"count": 0, "item": "item-42"}
    limit = DEFAULT_TIME_LIMIT_S if limited else None

    def call() -> None:
        run_script(
            source,
            variables,
            activity_id="work",
            process_instance_id="pi",
            execution_id="ex",
            time_limit_s=limit,
            pool=pool,
            need_result=False,
        )

    for _ in range(20):
        call()
    return call


def _per_call_us(source: str, pooled: bool) -> tuple[float, float]:
    """Median µs per call with the time limit on and off, their samples alternating (and which
    goes first too) so that both see the same load."""
    calls = {limited: _caller(source, pooled, limited) for limited in (True, False)}
    samples: dict[bool, list[float]] = {True: [], False: []}
    for sample in range(SAMPLES):
        order = (True, False) if sample % 2 == 0 else (False, True)  # neither always first
        for limited in order:
            call = calls[limited]
            began = time.perf_counter()
            for _ in range(CALLS):
                call()
            samples[limited].append((time.perf_counter() - began) / CALLS * 1e6)
    return statistics.median(samples[True]), statistics.median(samples[False])


def main() -> dict[str, float]:
    sys.path.insert(0, str(REPO))
    print(f"== script call cost (median of {SAMPLES} x {CALLS} calls), {_binding()} ==")
    print("   time limit on (interrupt handler) / off (none), and on/off")
    figures: dict[str, float] = {}
    for name, source in SCRIPTS.items():
        for mode, pooled in (("fresh", False), ("pooled", True)):
            on, off = _per_call_us(source, pooled)
            figures[f"{name} {mode}"], figures[f"{name} {mode} no limit"] = on, off
            print(
                f"  {name:<8} script, {mode:<6}: {on:8.1f} us with the limit, "
                f"{off:8.1f} us without, ratio {on / off:5.2f}"
            )
    return figures


if __name__ == "__main__":
    main()
