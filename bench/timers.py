"""Timers and jobs in local mode: timer lateness, requests per job, a 200-instance broadcast.

1. Requests per async job (moto in-process, warm container): AWS requests of one worker run of
   one job (``entry.on_job_message``, counted with ``aws.counting()``), for an async
   continuation that stops at a user task and for a timer that ends its instance. The SQS
   receive/delete calls of the event source mapping are Lambda's, not ours, and not counted.
2. Timer lateness (the real local launcher, in this process, its 1 s tick): ``BENCH_TIMERS``
   (50) instances wait at an intermediate timer whose ``timeDuration`` is the variable
   ``${wait}``, spread over 2-20 s. Lateness = the timer activity's end time in history minus
   the job's due time. Goal (DESIGN.md §4): p99 <= 1 s.
3. A signal broadcast to ``BENCH_BROADCAST`` (200) waiting instances through the launcher's
   worker: time from ``execution?_action=signal`` until every instance has moved on, and the
   AWS requests of the whole fan-out (the bench's own polling requests are subtracted).

Moto is slow, so the absolute times are pessimistic; the lateness is what the goal is about.
Moto's TransactWriteItems deep-copies every table it touches (to roll back), so each commit
costs time in proportion to the table's size: starting and signalling hundreds of instances
gets slower as they accumulate. The request counts are the figures that carry over to AWS.
Run with ``make bench`` or ``python -m bench.timers``.
"""

from __future__ import annotations

import json
import os
import random
import socket
import statistics
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.support import ADMIN, ENV, moto_container  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TIMERS = int(os.environ.get("BENCH_TIMERS", "50"))
BROADCAST = int(os.environ.get("BENCH_BROADCAST", "200"))
BROADCAST_DEADLINE = int(os.environ.get("BENCH_BROADCAST_SECONDS", "100"))
GOAL_P99_SECONDS = 1.0
_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:flowable="http://flowable.org/bpmn" targetNamespace="bench">
  <signal id="sig" name="benchAlert"/>"""
TIMER = (
    _HEAD
    + """
  <process id="benchTimer" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="sleep"/>
    <intermediateCatchEvent id="sleep">
      <timerEventDefinition><timeDuration>${wait}</timeDuration></timerEventDefinition>
    </intermediateCatchEvent>
    <sequenceFlow id="f2" sourceRef="sleep" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>"""
)
ASYNC = (
    _HEAD
    + """
  <process id="benchAsync" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <scriptTask id="work" scriptFormat="javascript" flowable:async="true">
      <script>execution.setVariable("done", true);</script>
    </scriptTask>
    <sequenceFlow id="f2" sourceRef="work" targetRef="wait"/>
    <userTask id="wait"/>
    <sequenceFlow id="f3" sourceRef="wait" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>"""
)
SIGNAL = (
    _HEAD
    + """
  <process id="benchSignal" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="hold"/>
    <intermediateCatchEvent id="hold"><signalEventDefinition signalRef="sig"/>
    </intermediateCatchEvent>
    <sequenceFlow id="f2" sourceRef="hold" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>"""
)


# --- helpers ---------------------------------------------------------------------------------


def _deploy(container: Any, key: str, xml: str) -> str:
    from chalicelib.service.definitions import deploy as deployments

    return deployments.deploy(
        container, source=f"bench:{key}", name=f"{key}.bpmn20.xml", bpmn={f"{key}.bpmn20.xml": xml}
    ).definition_ids[0]


def _start(container: Any, definition_id: str, variables: dict | None = None) -> str:
    from chalicelib.engine.runtime import StartProcess
    from chalicelib.service import unit_of_work as instances

    _, result = instances.run_command(
        container, lambda uow: StartProcess(definition_id, variables=variables or {})
    )
    return result.instance_id


def _job(container: Any, instance_id: str) -> Any:
    from chalicelib.storage.ports import Table

    [job] = container.store.query(Table.RUNTIME, instance_id, sk_prefix="job#").items
    return job


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def _ops(counts: dict[str, dict[str, int]]) -> str:
    return (
        ", ".join(
            f"{service} {op} {n}"
            for service, ops in sorted(counts.items())
            for op, n in sorted(ops.items())
        )
        or "none"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- 1. requests per job ---------------------------------------------------------------------


def requests_per_job() -> dict:

    from chalicelib import aws
    from chalicelib.messaging.job_message import encode
    from chalicelib.workers import entry

    print("== AWS requests per async job (one worker run, warm container, moto) ==")
    figures = {}
    with moto_container() as container:
        cases = {
            "async continuation -> user task": (ASYNC, "benchAsync", {}),
            "timer fires -> instance ends": (TIMER, "benchTimer", {"wait": "PT0S"}),
        }
        for label, (xml, key, variables) in cases.items():
            definition_id = _deploy(container, key, xml)
            samples = []
            for round_ in range(4):  # the first run warms the worker's path
                job_id = _job(container, _start(container, definition_id, variables)).data["_id"]
                record = {"messageId": "bench", "body": json.dumps(encode(job_id))}
                with aws.counting(current_thread_only=True) as counter:
                    began = time.perf_counter()
                    response = entry.on_job_message({"Records": [record]})
                    elapsed = (time.perf_counter() - began) * 1000
                assert response == {"batchItemFailures": []}, response
                if round_:
                    samples.append((elapsed, counter.counts))
            ms = statistics.median(s[0] for s in samples)
            counts = samples[-1][1]
            dynamo = sum(counts.get("dynamodb", {}).values())
            sqs = sum(counts.get("sqs", {}).values())
            print(
                f"  {label:<36} {dynamo} DynamoDB + {sqs} SQS requests   "
                f"{ms:7.1f} ms   ({_ops(counts)})"
            )
            figures[label] = {"dynamodb": dynamo, "sqs": sqs, "ms": ms}
    return figures


# --- 2. and 3. through the launcher ----------------------------------------------------------


def timer_lateness(container: Any) -> dict:
    from chalicelib.clock import parse_iso
    from chalicelib.service.repositories import history as activity_history

    print(
        f"== Timer lateness, local launcher (tick {container.settings.sweep_period_seconds:g}"
        f" s), {TIMERS} timers due in 2-20 s =="
    )
    definition_id = _deploy(container, "benchTimer", TIMER)
    rng = random.Random(7)
    due: dict[str, Any] = {}
    for n in range(TIMERS):
        wait = 2 + 18 * n / max(1, TIMERS - 1) + rng.uniform(0, 0.5)
        instance_id = _start(container, definition_id, {"wait": f"PT{wait:.3f}S"})
        due[instance_id] = parse_iso(_job(container, instance_id).data["dueDate"])
    fired: dict[str, Any] = {}
    deadline = time.monotonic() + 45
    while len(fired) < len(due) and time.monotonic() < deadline:
        time.sleep(0.5)
        for instance_id in [i for i in due if i not in fired]:
            acts = activity_history.read(container.store, instance_id)
            ends = [a["endTime"] for a in acts if a["activityId"] == "sleep" and a["endTime"]]
            if ends:
                fired[instance_id] = parse_iso(ends[0])
    lateness = [(fired[i] - due[i]).total_seconds() for i in fired]
    missing = len(due) - len(fired)
    if not lateness:
        print("  no timer fired within 45 s: FAILED")
        return {"fired": 0, "missing": missing}
    p50, p99 = _percentile(lateness, 0.5), _percentile(lateness, 0.99)
    verdict = "meets the goal" if p99 <= GOAL_P99_SECONDS and not missing else "MISSES THE GOAL"
    print(
        f"  fired {len(fired)}/{len(due)}   lateness p50 {p50 * 1000:6.0f} ms   "
        f"p99 {p99 * 1000:6.0f} ms   max {max(lateness) * 1000:6.0f} ms   "
        f"min {min(lateness) * 1000:6.0f} ms"
    )
    print(f"  goal p99 <= {GOAL_P99_SECONDS:g} s: {verdict}")
    return {
        "fired": len(fired),
        "missing": missing,
        "p50": p50,
        "p99": p99,
        "early": sum(1 for x in lateness if x < 0),
    }


def broadcast(container: Any, url: str) -> dict:
    from chalicelib import aws
    from chalicelib.storage.ports import Table

    print(f"== Signal broadcast to {BROADCAST} waiting instances, local launcher ==")
    definition_id = _deploy(container, "benchSignal", SIGNAL)
    began = time.perf_counter()
    waiting = [_start(container, definition_id) for _ in range(BROADCAST)]
    print(f"  {BROADCAST} instances started in {time.perf_counter() - began:5.1f} s")
    request = urllib.request.Request(
        f"{url}/openidm/workflow/execution?_action=signal",
        method="POST",
        headers=ADMIN,
        data=json.dumps({"signalName": "benchAlert"}).encode(),
    )
    with aws.counting() as everything, aws.counting(current_thread_only=True) as own:
        began = time.perf_counter()
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
        accepted = time.perf_counter() - began
        # poll by partition key (cheap); index queries scan the whole table under moto
        pending = list(waiting)
        deadline = time.monotonic() + BROADCAST_DEADLINE
        while pending and time.monotonic() < deadline:
            time.sleep(1)
            pending = [
                i
                for i in pending
                if container.store.query(Table.RUNTIME, i, sk_prefix="sub#").items
            ]
        elapsed = time.perf_counter() - began
    moved = BROADCAST - len(pending)
    total, mine = everything.counts, own.counts
    spent = {
        service: {op: n - mine.get(service, {}).get(op, 0) for op, n in ops.items()}
        for service, ops in total.items()
    }
    spent = {s: {o: n for o, n in ops.items() if n} for s, ops in spent.items()}
    dynamo = sum(spent.get("dynamodb", {}).values())
    sqs = sum(spent.get("sqs", {}).values())
    done = (
        "every instance moved on"
        if moved == BROADCAST
        else f"ONLY {moved}/{BROADCAST} moved on (deadline {BROADCAST_DEADLINE} s)"
    )
    print(
        f"  answer {answer.get('status')!r} in {accepted * 1000:.0f} ms; {done} after "
        f"{elapsed:5.1f} s ({moved / elapsed:.1f} instances/s)"
    )
    print(
        f"  requests: {dynamo} DynamoDB + {sqs} SQS ({dynamo / BROADCAST:.1f} + "
        f"{sqs / BROADCAST:.1f} per instance; includes the worker's receive/delete)"
    )
    print(f"  by operation: {_ops(spent)}")
    return {"seconds": elapsed, "moved": moved, "dynamodb": dynamo, "sqs": sqs}


def main() -> dict:
    saved = dict(os.environ)
    os.environ.update(ENV)
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "WORKFLOW_SWEEP_PERIOD_SECONDS"):
        os.environ.pop(name, None)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(REPO))
    from chalicelib import aws, bootstrap, settings
    from chalicelib.observability import configure_logging

    configure_logging("WARNING")
    figures: dict[str, Any] = {"jobs": requests_per_job()}
    print()
    from chalicelib.local.launcher import Launcher

    aws.reset_clients()
    os.environ["WORKFLOW_LOCAL_TICK_SECONDS"] = os.environ.get("BENCH_TICK_SECONDS", "1")
    launcher = Launcher("127.0.0.1", _free_port(), deploy_workflows=False, project_dir=REPO)
    try:
        launcher.start()
        container = bootstrap.get_container()
        figures["timers"] = timer_lateness(container)
        print()
        figures["broadcast"] = broadcast(container, launcher.url)
    finally:
        launcher.stop()
        os.environ.clear()
        os.environ.update(saved)
        settings.reset_settings()
        bootstrap.reset_container()
        aws.reset_clients()
    return figures


if __name__ == "__main__":
    main()
