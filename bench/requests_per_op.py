"""DynamoDB requests per instance operation under moto, against DESIGN.md §6's budget.

A one-user-task process (start -> user task -> end) is deployed; one start and one complete
warm the container (clients, definition cache). Then each round starts an instance (start to
first user task) and completes its task, counting DynamoDB requests with ``aws.counting()``
and timing each operation. Budget: at most 2 requests each (warm container, definition cached,
no ``Idempotency-Key``); a miss prints "OVER BUDGET" and never fails the build.

Measured at the service's unit of work (``instances.run_command``, what the HTTP handlers
call) and, when the HTTP routes answer, through the handler as well. Run with ``make bench``.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.support import ADMIN, ENV, moto_container  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
ROUNDS = int(os.environ.get("BENCH_REQUESTS_ROUNDS", "20"))
BUDGET = {"start to first user task": 2, "complete task": 2}

ONE_TASK = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:flowable="http://flowable.org/bpmn" targetNamespace="bench">
  <process id="benchOneTask" name="One user task" isExecutable="true">
    <startEvent id="start" flowable:initiator="starter"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <userTask id="review" name="Review" flowable:assignee="${starter}"/>
    <sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>"""


def _report(label: str, samples: list[tuple[float, dict[str, int]]], budget: int) -> dict:
    times = [ms for ms, _ in samples]
    totals = [sum(ops.values()) for _, ops in samples]
    worst = max(samples, key=lambda s: sum(s[1].values()))[1]
    requests = statistics.median(totals)
    verdict = "within budget" if max(totals) <= budget else "OVER BUDGET"
    operations = ", ".join(f"{name} {count}" for name, count in sorted(worst.items())) or "none"
    print(
        f"  {label:<34} {statistics.median(times):8.2f} ms   {requests:4.1f} DynamoDB requests "
        f"(max {max(totals)}: {operations})   budget <= {budget}: {verdict}"
    )
    return {
        "ms": statistics.median(times),
        "requests": requests,
        "max": max(totals),
        "operations": worst,
        "over_budget": max(totals) > budget,
    }


def _counted(action: Callable[[], Any]) -> tuple[Any, float, dict[str, int]]:
    from chalicelib import aws

    with aws.counting(current_thread_only=True) as counter:
        began = time.perf_counter()
        value = action()
        elapsed = (time.perf_counter() - began) * 1000
    return value, elapsed, counter.counts.get("dynamodb", {})


def _service_rounds(container: Any, definition_id: str) -> dict:
    from chalicelib.engine.runtime import CompleteTask, StartProcess
    from chalicelib.service import unit_of_work as instances

    def start() -> Any:
        return instances.run_command(
            container, lambda uow: StartProcess(definition_id, {}, None, "openidm-admin")
        )[1]

    def complete(instance_id: str, task_id: str) -> None:
        instances.run_command(
            container,
            lambda uow: (
                uow.load(instance_id),
                CompleteTask(task_id, {"approved": True}, "openidm-admin"),
            )[1],
        )

    first = start()  # warm: clients, definition cache
    complete(first.instance_id, next(iter(first.state.tasks)))
    starts, completes = [], []
    for _ in range(ROUNDS):
        result, ms, ops = _counted(start)
        [task_id] = list(result.state.tasks)
        starts.append((ms, ops))
        _, ms, ops = _counted(lambda: complete(result.instance_id, task_id))
        completes.append((ms, ops))
    return {
        "start": _report("start to first user task", starts, BUDGET["start to first user task"]),
        "complete": _report("complete task", completes, BUDGET["complete task"]),
    }


FAN_OUT_WIDTH = int(os.environ.get("BENCH_FAN_OUT", "500"))

FAN_OUT = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:flowable="http://flowable.org/bpmn" targetNamespace="bench">
  <process id="benchFanOut" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <userTask id="review" name="Review">
      <multiInstanceLoopCharacteristics isSequential="false">
        <loopCardinality>${width}</loopCardinality>
        <completionCondition>${nrOfCompletedInstances >= 1}</completionCondition>
      </multiInstanceLoopCharacteristics>
    </userTask>
    <sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>"""


def _fan_out(container: Any) -> dict:
    """A parallel multi-instance of ``FAN_OUT_WIDTH`` user tasks: its start, and the complete
    that meets the completion condition and cancels every other branch (commit intents)."""
    from chalicelib.engine.runtime import CompleteTask, StartProcess
    from chalicelib.service import unit_of_work as instances
    from chalicelib.service.definitions import deploy as deployments

    definition_id = deployments.deploy(
        container,
        source="bench:fan-out",
        name="benchFanOut.bpmn20.xml",
        bpmn={"benchFanOut.bpmn20.xml": FAN_OUT},
    ).definition_ids[0]
    result, start_ms, start_ops = _counted(
        lambda: instances.run_command(
            container,
            lambda uow: StartProcess(
                definition_id, {"width": FAN_OUT_WIDTH}, None, "openidm-admin"
            ),
        )[1]
    )
    task_id = next(iter(result.state.tasks))
    _, done_ms, done_ops = _counted(
        lambda: instances.run_command(
            container,
            lambda uow: (uow.load(result.instance_id), CompleteTask(task_id, {}, "openidm-admin"))[
                1
            ],
        )
    )
    figures = {}
    for label, ms, ops in (("start", start_ms, start_ops), ("complete", done_ms, done_ops)):
        operations = ", ".join(f"{name} {count}" for name, count in sorted(ops.items()))
        print(
            f"  {FAN_OUT_WIDTH}-way fan-out {label:<18} {ms:8.0f} ms   {sum(ops.values()):4d} "
            f"DynamoDB requests ({operations})"
        )
        figures[label] = {"ms": ms, "operations": ops}
    return figures


def _http_rounds(container: Any, definition_id: str) -> dict | None:
    """The same two operations through the HTTP handler, if its routes answer yet."""
    from chalice.test import Client

    import app as application
    from chalicelib.service import unit_of_work as instances

    with Client(application.app, stage_name="local") as client:

        def start() -> Any:
            return client.http.post(
                "/openidm/workflow/processinstance?_action=create",
                headers=ADMIN,
                body=json.dumps({"_processDefinitionId": definition_id}),
            )

        def complete(task_id: str) -> Any:
            return client.http.post(
                f"/openidm/workflow/taskinstance/{task_id}?_action=complete",
                headers=ADMIN,
                body=json.dumps({"approved": True}),
            )

        def started_task(response: Any) -> tuple[str, str] | None:
            if not 200 <= response.status_code < 300:
                return None
            body = json.loads(response.body or b"{}")
            instance_id = body.get("_id") or body.get("id")
            state = instances.load_instance(container, instance_id) if instance_id else None
            if state is None or not state.tasks:
                return None
            return instance_id, next(iter(state.tasks))

        warm = started_task(start())
        if warm is None or not 200 <= complete(warm[1]).status_code < 300:
            print("  HTTP: processinstance create / taskinstance complete not served yet: skipped")
            return None
        starts, completes = [], []
        for _ in range(ROUNDS):
            response, ms, ops = _counted(start)
            found = started_task(response)
            if found is None:
                print(f"  HTTP start answered {response.status_code}: skipped")
                return None
            starts.append((ms, ops))
            response, ms, ops = _counted(lambda: complete(found[1]))
            if not 200 <= response.status_code < 300:
                print(f"  HTTP complete answered {response.status_code}: skipped")
                return None
            completes.append((ms, ops))
        return {
            "start": _report(
                "HTTP start to first user task", starts, BUDGET["start to first user task"]
            ),
            "complete": _report("HTTP complete task", completes, BUDGET["complete task"]),
        }


def main() -> dict:
    os.environ.update(ENV)
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        os.environ.pop(name, None)
    sys.path.insert(0, str(REPO))

    from chalicelib.service.definitions import deploy as deployments

    figures: dict[str, Any] = {}
    with moto_container() as container:
        definition_id = deployments.deploy(
            container,
            source="bench:one-task",
            name="benchOneTask.bpmn20.xml",
            bpmn={"benchOneTask.bpmn20.xml": ONE_TASK},
        ).definition_ids[0]
        print(
            f"== DynamoDB requests per operation under moto (warm, definition cached), "
            f"median of {ROUNDS} =="
        )
        figures["service"] = _service_rounds(container, definition_id)
        try:
            figures["http"] = _http_rounds(container, definition_id)
        except Exception as exc:  # the API is work in progress: report, never fail
            print(f"  HTTP: not measured ({type(exc).__name__}: {exc})")
        print("== A command larger than one transaction (commit intent) ==")
        figures["fan_out"] = _fan_out(container)
    return figures


if __name__ == "__main__":
    main()
