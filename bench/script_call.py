"""The cost of one script call (µs): a trivial script and a regex-using one, each in a fresh
QuickJS context and in a command's shared context (:class:`~chalicelib.engine.scripting.ScriptPool`,
as workload P of ``bench/engine.py`` runs its per-item script).

It prints the QuickJS binding in use, so figures from before and after a change of binding
(issue 12: a regex engine that honours the script time limit) can be set side by side
(``docs/benchmarks.md``). Run with ``make bench``, or alone: ``python -m bench.script_call``.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
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


def _per_call_us(source: str, pooled: bool) -> float:
    from chalicelib.engine.scripting import ScriptPool, run_script

    pool = ScriptPool() if pooled else None
    variables = {"count": 0, "item": "item-42"}

    def call() -> None:
        run_script(
            source,
            variables,
            activity_id="work",
            process_instance_id="pi",
            execution_id="ex",
            pool=pool,
            need_result=False,
        )

    for _ in range(20):  # warm-up: preludes read, pooled context and compiled script made
        call()
    samples = []
    for _ in range(SAMPLES):
        began = time.perf_counter()
        for _ in range(CALLS):
            call()
        samples.append((time.perf_counter() - began) / CALLS * 1e6)
    return statistics.median(samples)


def main() -> dict[str, float]:
    sys.path.insert(0, str(REPO))
    print(f"== script call cost (median of {SAMPLES} x {CALLS} calls), {_binding()} ==")
    figures: dict[str, float] = {}
    for name, source in SCRIPTS.items():
        fresh, pooled = _per_call_us(source, False), _per_call_us(source, True)
        figures[f"{name} fresh"], figures[f"{name} pooled"] = fresh, pooled
        print(f"  {name:<8} script: {fresh:8.1f} us per call fresh, {pooled:8.1f} us pooled")
    return figures


if __name__ == "__main__":
    main()
