"""Inbound and outbound events of the event registry (issue 14).

1. Under moto, warm container (channels and event definitions cached): DynamoDB requests and
   ms (median of ``BENCH_EVENTS_ROUNDS``, 20) per inbound event that starts an instance and per
   event correlated to a waiting receive task (``workflow/events/``), against the issue's goals
   (start 2, correlate 2 plus the lookup: since subscriptions sit in the partitions of their
   correlation values, the sample's event, correlated by ``userName``, reads 2, its type's and
   its user's, whatever the number waiting); and per outbound send-event job.
2. Through the real local launcher in this process: the latency from SendMessage on the events
   queue to the started instance being readable (p50, p99), the launcher's queue worker
   polling as under ``make run``.
3. Load (issue 14's proof): ``BENCH_EVENTS_LOAD`` (1,000) inbound events, each sent twice, by
   16 concurrent senders to the events queue (embedded moto: SQS and DynamoDB in this
   process), handled by 4 concurrent workers as Lambda's poller would: every event must have
   exactly one effect (one instance per event, none twice). Prints the wall time and the
   verdict; ``BENCH_EVENTS_LOAD=0`` skips it. About 4 minutes of one core at 1,000 (moto
   walks a table for each of its Queries). A moto server in its own process does not hold
   this load (it fails some concurrent TransactWriteItems with a 500 and grew to 9.7 GB at
   1,000 events): the embedded backend does.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.support import ENV, moto_container  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "workflow" / "events"
ROUNDS = int(os.environ.get("BENCH_EVENTS_ROUNDS", "20"))
LOAD = int(os.environ.get("BENCH_EVENTS_LOAD", "1000"))
SENDERS = 16
WORKERS = 4
#: correlate: the instance's load and commit, plus the event type's and its userName's partitions
GOALS = {"inbound start": 2, "inbound correlate": 4}

SEND = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:flowable="http://flowable.org/bpmn" targetNamespace="bench">
  <process id="benchSend" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="send"/>
    <serviceTask id="send" flowable:type="send-event">
      <extensionElements>
        <flowable:eventType>accountApproved</flowable:eventType>
        <flowable:channelKey>benchOut</flowable:channelKey>
        <flowable:eventInParameter source="who" target="approvedBy"/>
        <flowable:eventInParameter source="user" target="userName"/>
      </extensionElements>
    </serviceTask>
    <sequenceFlow id="f2" sourceRef="send" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>"""


def _deploy_sample(container: Any) -> None:
    from chalicelib.service.definitions import deploy as deployments

    deployments.deploy(
        container,
        source="file:events/contractorHired.bpmn20.xml",
        name="contractorHired",
        bpmn={"contractorHired.bpmn20.xml": (SAMPLE / "contractorHired.bpmn20.xml").read_text()},
        resources={
            p.name: p.read_text() for p in SAMPLE.iterdir() if p.suffix in (".event", ".channel")
        },
    )


def _line(label: str, samples: list[tuple[float, dict[str, int]]], goal: int | None) -> None:
    ms = statistics.median(s[0] for s in samples)
    totals = [sum(s[1].values()) for s in samples]
    worst = max(samples, key=lambda s: sum(s[1].values()))[1]
    ops = ", ".join(f"{k} {v}" for k, v in sorted(worst.items()))
    verdict = (
        "" if goal is None else f"   goal {goal}: {'met' if max(totals) <= goal else 'MISSED'}"
    )
    print(
        f"  {label:<22} {ms:8.2f} ms   {statistics.median(totals):4.1f} requests ({ops}){verdict}"
    )


def requests_per_event() -> None:
    from chalicelib import aws
    from chalicelib.service.events import inbound
    from chalicelib.service.jobs import actions as jobs

    print(f"== Event registry: DynamoDB requests per event (moto, warm, median of {ROUNDS}) ==")
    with moto_container() as container:
        _deploy_sample(container)
        queue = container.settings.events_queue
        hired = {"eventType": "contractorHired", "mail": "x@example.com", "startDate": "d"}
        # warm the worker's cache of both event definitions: a start, then its correlation
        inbound.receive(container, queue, "warm", json.dumps({**hired, "userName": "warm"}))
        approved = {"eventType": "accountApproved", "userName": "warm"}
        inbound.receive(container, queue, "warm-c", json.dumps(approved))
        starts, correlations = [], []
        for n in range(ROUNDS):
            body = json.dumps({**hired, "userName": f"user{n}"})
            with aws.counting() as counter:
                begin = time.perf_counter()
                inbound.receive(container, queue, f"s{n}", body)
                starts.append((1000 * (time.perf_counter() - begin), counter.counts["dynamodb"]))
        for n in range(ROUNDS):
            body = json.dumps({"eventType": "accountApproved", "userName": f"user{n}"})
            with aws.counting() as counter:
                begin = time.perf_counter()
                inbound.receive(container, queue, f"c{n}", body)
                correlations.append(
                    (1000 * (time.perf_counter() - begin), counter.counts["dynamodb"])
                )
        _line("inbound start", starts, GOALS["inbound start"])
        _line("inbound correlate", correlations, GOALS["inbound correlate"])

        from chalicelib.engine.runtime import StartProcess
        from chalicelib.service.definitions import deploy as deployments
        from chalicelib.service.repositories.jobs import instance_jobs
        from chalicelib.service.unit_of_work import run_command

        aws.client("sqs").create_queue(QueueName="bench-out")
        channel = {
            "key": "benchOut",
            "channelType": "outbound",
            "type": "sqs",
            "destination": "bench-out",
        }
        definition = deployments.deploy(
            container,
            source="model:bench-send",
            name="send",
            bpmn={"s.bpmn20.xml": SEND},
            resources={"out.channel": json.dumps(channel)},
        ).definition_ids[0]
        sends = []
        for n in range(ROUNDS + 1):
            _, result = run_command(
                container, lambda uow: StartProcess(definition, {"who": "a", "user": f"u{n}"})
            )
            [job] = instance_jobs(container.store, str(result.instance_id)).items
            with aws.counting() as counter:
                begin = time.perf_counter()
                jobs.run_job(container, job.data["_id"])
                sample = (1000 * (time.perf_counter() - begin), counter.counts["dynamodb"])
            if n:
                sends.append(sample)
        _line("outbound send job", sends, None)


def latency() -> None:
    from chalicelib import aws, bootstrap, settings
    from chalicelib.local.launcher import Launcher
    from chalicelib.service.repositories.instance_reads import instance_lookup

    print("== Event registry: SendMessage to a started instance, local launcher ==")
    aws.reset_clients()
    launcher = Launcher("127.0.0.1", 0, deploy_workflows=False, project_dir=REPO)
    try:
        launcher.start()
        container = bootstrap.get_container()
        _deploy_sample(container)
        from chalicelib.service.definitions.cache import latest_definition

        definition = latest_definition(container, "contractorHired").id
        sqs = aws.client("sqs")
        url = sqs.get_queue_url(QueueName=container.settings.events_queue)["QueueUrl"]
        samples = []
        for n in range(ROUNDS):
            before = len(instance_lookup(container.store, "pdi", definition).items)
            body = {
                "eventType": "contractorHired",
                "userName": f"l{n}",
                "mail": "m",
                "startDate": "d",
            }
            begin = time.perf_counter()
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))
            while len(instance_lookup(container.store, "pdi", definition).items) == before:
                if time.perf_counter() - begin > 10:
                    break
                time.sleep(0.005)
            samples.append(1000 * (time.perf_counter() - begin))
        samples.sort()
        p99 = samples[min(len(samples) - 1, int(0.99 * len(samples)))]
        print(
            f"  SendMessage -> instance  p50 {statistics.median(samples):7.1f} ms   p99 {p99:7.1f} ms"
        )
    finally:
        launcher.stop()
        settings.reset_settings()
        bootstrap.reset_container()
        aws.reset_clients()


def load() -> None:
    """Part 3 (see the module doc)."""
    from concurrent.futures import ThreadPoolExecutor

    from chalicelib import aws
    from chalicelib.observability import configure_logging
    from chalicelib.service.repositories.instance_reads import instance_lookup
    from chalicelib.workers import entry

    configure_logging("WARNING")  # the launcher of part 2 logged every commit
    print(f"== Event registry: {LOAD} events x2, {SENDERS} senders, {WORKERS} workers ==")
    with moto_container() as container:
        current = container.settings
        _deploy_sample(container)
        from chalicelib.service.definitions.cache import latest_definition

        definition = latest_definition(container, "contractorHired").id
        sqs = aws.client("sqs")
        url = sqs.get_queue_url(QueueName=current.events_queue)["QueueUrl"]
        arn = f"arn:aws:sqs:{current.region}:123456789012:{current.events_queue}"
        begin = time.perf_counter()

        def sender(first: int) -> None:
            for n in range(first, LOAD, SENDERS):
                body = json.dumps(
                    {
                        "eventType": "contractorHired",
                        "idempotencyKey": f"load-{n}",
                        "userName": f"u{n}",
                        "mail": "m",
                        "startDate": "d",
                    }
                )
                sqs.send_message(QueueUrl=url, MessageBody=body)
                sqs.send_message(QueueUrl=url, MessageBody=body)

        with ThreadPoolExecutor(SENDERS) as pool:
            list(pool.map(sender, range(SENDERS)))
        sent = time.perf_counter() - begin

        def in_flight() -> int:
            attributes = sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )["Attributes"]
            return sum(int(v) for v in attributes.values())

        handled_ids: set[str] = set()

        def worker(_: int) -> int:
            # a failed record is not deleted: it comes back after the visibility timeout (30 s
            # here), as Lambda's poller retries it; a worker stops once nothing is left
            handled, idle = 0, 0
            while idle < 3:
                messages = sqs.receive_message(
                    QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30
                ).get("Messages", [])
                if not messages:
                    idle = idle + 1 if in_flight() == 0 else 0
                    time.sleep(0.2)
                    continue
                idle = 0
                records = [
                    {"messageId": m["MessageId"], "body": m["Body"], "eventSourceARN": arn}
                    for m in messages
                ]
                failed = {
                    f["itemIdentifier"]
                    for f in entry.on_event_message({"Records": records})["batchItemFailures"]
                }
                for m in messages:
                    if m["MessageId"] not in failed:
                        handled_ids.add(m["MessageId"])
                        with contextlib.suppress(sqs.exceptions.ReceiptHandleIsInvalid):
                            # received again meanwhile: that worker deletes it (at least once)
                            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
                        handled += 1
            return handled

        with ThreadPoolExecutor(WORKERS) as pool:
            handled = sum(pool.map(worker, range(WORKERS)))
        elapsed = time.perf_counter() - begin
        names: list[str] = []
        token = None
        while True:
            page = instance_lookup(container.store, "pdi", definition, start=token)
            names.extend(
                str(item.data.get("businessKey") or item.data.get("_id")) for item in page.items
            )
            token = page.next_token
            if token is None:
                break
        started = len(names)
        dead = int(
            sqs.get_queue_attributes(
                QueueUrl=sqs.get_queue_url(QueueName=current.events_dead_letter_queue)["QueueUrl"],
                AttributeNames=["ApproximateNumberOfMessages"],
            )["Attributes"]["ApproximateNumberOfMessages"]
        )
        # one instance per event, and no event started twice (each has its own userName)
        verdict = "exactly once" if started == LOAD else "FAILED"
        print(
            f"  sent {2 * LOAD} messages in {sent:5.1f} s; handled {len(handled_ids)} "
            f"({handled - len(handled_ids)} more than once, {dead} in the DLQ after 5 "
            "receives); "
            f"instances {started} of {LOAD} ({verdict}); {elapsed:5.1f} s in all, "
            f"{LOAD / elapsed:5.1f} events/s"
        )


def main() -> None:
    saved = dict(os.environ)
    os.environ.update(ENV)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    from chalicelib.observability import configure_logging

    configure_logging("WARNING")
    try:
        requests_per_event()
        print()
        latency()
        if LOAD > 0:
            print()
            load()
    finally:
        os.environ.clear()
        os.environ.update(saved)


if __name__ == "__main__":
    main()
