"""Cold-start proxy: time to import the HTTP handler module in a fresh process, beside boto3.

Both are measured in the same run, alternating, so the machine's noise hits them alike; the
figure that matters is the ratio. Run with ``make bench``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUNS = int(os.environ.get("BENCH_IMPORT_RUNS", "7"))

CASES = {
    "python (baseline)": "pass",
    "import app (HTTP handler module)": "import app",
    "import boto3": "import boto3",
}


def time_import(statement: str) -> float:
    env = dict(os.environ, WORKFLOW_JOBS_QUEUE="bench-jobs")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], cwd=REPO, env=env, check=True)
    return (time.perf_counter() - started) * 1000


def main() -> dict[str, float]:
    for statement in CASES.values():  # warm the page cache and write .pyc files once
        time_import(statement)
    samples: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(RUNS):
        for name, statement in CASES.items():
            samples[name].append(time_import(statement))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    print(f"== import time, median of {RUNS} fresh processes ==")
    for name, value in medians.items():
        print(f"  {name:<36} {value:8.1f} ms")
    base = medians["python (baseline)"]
    ratio = (medians["import app (HTTP handler module)"] - base) / max(
        medians["import boto3"] - base, 1e-6
    )
    print(f"  app import cost / boto3 import cost (baseline removed): {ratio:.2f}")
    return medians


if __name__ == "__main__":
    main()
