"""``make bench``: run every benchmark and print its figures."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import (  # noqa: E402
    deploy,
    engine,
    events,
    import_time,
    requests_per_op,
    scale,
    script_call,
    timers,
)

BENCHMARKS = [import_time, deploy, requests_per_op, engine, script_call, timers, events, scale]

if __name__ == "__main__":
    for benchmark in BENCHMARKS:
        benchmark.main()
        print()
