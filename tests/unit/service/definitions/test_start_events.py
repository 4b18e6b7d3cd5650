"""`service/definitions/start_events`: the message/signal registry and timer-start jobs
(created at deploy, replaced by a new version, restored when it is deleted, fired by the
worker's entry point).

Memory store and publisher, installed for the worker. The corpus's start events through the
REST API over moto: ``tests/functional/test_conformance_rest_events.py``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from chalicelib.api.errors import status_of
from chalicelib.messaging.job_message import encode
from chalicelib.service.definitions import deploy as deployments
from chalicelib.service.definitions import start_events
from chalicelib.service.definitions.errors import InvalidDeployment
from chalicelib.service.jobs import actions as jobs
from chalicelib.service.jobs.items import new_job
from chalicelib.service.repositories.definitions import registry_pk
from chalicelib.service.repositories.jobs import job_key
from chalicelib.service.repositories.layout import LIST_SHARDS
from chalicelib.storage.ports import Index, Put, Table
from chalicelib.storage.sharding import query_shards
from chalicelib.workers import entry

FIXED_DATE = "StartTimerEventTest.testFixedDateStartTimerEvent.bpmn20.xml"
DURATION = "StartTimerEventTest.testDurationStartTimerEvent.bpmn20.xml"
CRON = "StartTimerEventTest.testCycleDateStartTimerEvent.bpmn20.xml"
LIMITED = "StartTimerEventTest.testCycleWithLimitStartTimerEvent.bpmn20.xml"
WITH_END = "StartTimerEventTest.testCycleWithRepeatStartTimePeriodAndEnd.bpmn20.xml"
MESSAGE = "MessageStartEventTest.testSingleMessageStartEvent.bpmn20.xml"
SIGNAL = "SignalEventTest.testSignalStartEvent.bpmn20.xml"


def corpus_text(corpus, name: str, *replacements: tuple[str, str]) -> str:
    text = (corpus / "flowable" / name).read_text()
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    return text


def deploy(container, xml: str, source: str = "file:test") -> list[str]:
    return list(
        deployments.deploy(
            container, source=source, name=source, bpmn={"test.bpmn20.xml": xml}
        ).definition_ids
    )


def timer_jobs(container) -> list:
    """Every ``timer-start`` job (the sharded ``job`` listing)."""
    found, token = [], None
    while True:
        page = query_shards(
            container.store,
            Table.RUNTIME,
            Index.KIND_SHARD_SORT,
            "job",
            LIST_SHARDS,
            start=token,
        )
        found += [i for i in page.items if i.data["jobHandlerType"] == start_events.TIMER_START]
        token = page.next_token
        if token is None:
            return found


def the_timer_job(container):
    found = timer_jobs(container)
    assert len(found) == 1, [j.data for j in found]
    return found[0]


def registry(container, key: str) -> dict[str, dict]:
    items = container.store.query(Table.REPOSITORY, registry_pk(key)).items
    return {item.sk: item.data for item in items}


def started(container, definition_id: str) -> int:
    return deployments.running_instances(container, definition_id)


def wake(job_id: str, message_id: str = "m1") -> dict:
    record = {"messageId": message_id, "body": json.dumps(encode(job_id))}
    return entry.on_job_message({"Records": [record]})


# --- timer jobs at deploy --------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, due",
    [
        (FIXED_DATE, "2036-11-14T11:12:22.000Z"),
        (DURATION, "2026-01-01T00:05:00.000Z"),  # FixedClock + PT5M
        (CRON, "2026-01-01T00:05:00.000Z"),  # next 0 0/5 * * * ? after midnight
        (LIMITED, "2026-01-01T00:05:00.000Z"),  # R2/PT5M: first after one period
    ],
)
def test_deploy_creates_one_timer_job_due_at_the_first_fire(container, corpus, name, due):
    [definition_id] = deploy(container, corpus_text(corpus, name))
    job = the_timer_job(container)
    assert job.data["dueDate"] == due
    assert job.data["jobType"] == "timer" and job.data["processInstanceId"] is None
    assert job.data["processDefinitionId"] == definition_id
    assert job.data["elementId"] == "theStart"
    assert (job.pk, job.sk) == job_key(job.data["_id"])
    key = definition_id.split(":")[0]
    assert registry(container, key)["timer#theStart"]["jobId"] == job.data["_id"]


def test_a_cycle_whose_end_date_has_passed_creates_no_job(container, corpus):
    xml = corpus_text(corpus, WITH_END, ('scriptFormat="groovy"', 'scriptFormat="javascript"'))
    deploy(container, xml)  # the clock is in 2026, the cycle ended in 2021
    assert timer_jobs(container) == []
    assert registry(container, "process") == {}


def test_a_cycle_with_an_end_date_fires_until_the_end(container, corpus):
    container.clock.set(datetime(2021, 7, 1, tzinfo=UTC))
    xml = corpus_text(corpus, WITH_END, ('scriptFormat="groovy"', 'scriptFormat="javascript"'))
    [definition_id] = deploy(container, xml)
    first = the_timer_job(container)
    assert first.data["dueDate"] == "2021-07-01T19:22:00.000Z"
    assert jobs.execute(container, first.data["_id"])["status"] == "executed"
    second = the_timer_job(container)
    assert second.data["dueDate"] == "2021-07-02T19:22:00.000Z"  # == endDate: still fires
    assert jobs.execute(container, second.data["_id"])["status"] == "executed"
    assert timer_jobs(container) == []
    assert started(container, definition_id) == 2


def test_timer_start_expressions_are_refused_naming_the_element(container, corpus):
    xml = corpus_text(corpus, DURATION, ("<timeDuration>PT5M", "<timeDuration>${wait}"))
    with pytest.raises(InvalidDeployment) as raised:
        deploy(container, xml)
    assert "theStart" in str(raised.value) and "expression" in str(raised.value)
    assert raised.value.detail["errors"][0]["activityId"] == "theStart"
    assert deployments.list_deployments(container, "file:test") == []
    assert timer_jobs(container) == []


# --- running timer-start jobs ----------------------------------------------------------------


def test_r2_cycle_starts_exactly_two_instances_then_leaves_no_job(container, corpus):
    xml = corpus_text(corpus, LIMITED, ("R2/PT5M", "R2/PT1H"))
    [definition_id] = deploy(container, xml)
    first = the_timer_job(container)
    assert first.data["dueDate"] == "2026-01-01T01:00:00.000Z"
    container.clock.advance(hours=1)
    assert wake(first.data["_id"]) == {"batchItemFailures": []}
    assert started(container, definition_id) == 1
    second = the_timer_job(container)
    assert second.data["_id"] != first.data["_id"]
    assert second.data["dueDate"] == "2026-01-01T02:00:00.000Z"  # previous due + PT1H
    assert (
        registry(container, "startTimerEventExampleCycle")["timer#theStart"]["jobId"]
        == second.data["_id"]
    )
    container.clock.advance(hours=1)
    assert jobs.execute(container, second.data["_id"]) == {
        "_id": second.data["_id"],
        "status": "executed",
    }
    assert started(container, definition_id) == 2
    assert timer_jobs(container) == []
    assert registry(container, "startTimerEventExampleCycle") == {}


def test_cron_start_keeps_exactly_one_job_and_starts_one_instance_per_tick(container, corpus):
    [definition_id] = deploy(container, corpus_text(corpus, CRON))
    for tick in range(1, 4):
        job = the_timer_job(container)
        assert job.data["dueDate"] == f"2026-01-01T00:{5 * tick:02d}:00.000Z"
        container.clock.advance(minutes=5)
        assert wake(job.data["_id"]) == {"batchItemFailures": []}
        assert started(container, definition_id) == tick
    assert the_timer_job(container).data["dueDate"] == "2026-01-01T00:20:00.000Z"


def test_a_duplicate_wake_up_does_nothing(container, corpus):
    [definition_id] = deploy(container, corpus_text(corpus, DURATION))
    job_id = the_timer_job(container).data["_id"]
    container.clock.advance(minutes=5)
    assert wake(job_id, "m1") == {"batchItemFailures": []}
    assert wake(job_id, "m2") == {"batchItemFailures": []}
    assert "absent" in jobs.run_job(container, job_id)
    assert started(container, definition_id) == 1
    assert timer_jobs(container) == []  # a duration fires once


def test_a_job_the_registry_does_not_point_at_is_stale_and_deleted(container, corpus):
    [definition_id] = deploy(container, corpus_text(corpus, DURATION))
    real = the_timer_job(container)
    stray = new_job(
        job_id="0" * 26,
        handler_type=start_events.TIMER_START,
        created=container.clock.now(),
        definition_id=definition_id,
        configuration=real.data["jobHandlerConfiguration"],
        timer=True,
    )
    container.store.transact([Put(Table.RUNTIME, stray)])
    assert jobs.execute(container, "0" * 26)["status"] == "executed"
    assert started(container, definition_id) == 0
    assert [j.data["_id"] for j in timer_jobs(container)] == [real.data["_id"]]


# --- new versions replace, deletes restore ---------------------------------------------------


def test_redeploy_replaces_the_timer_job_and_delete_restores_it(container, corpus):
    [v1] = deploy(container, corpus_text(corpus, DURATION))
    old_job = the_timer_job(container).data["_id"]
    container.clock.advance(minutes=1)
    [v2] = deploy(container, corpus_text(corpus, DURATION, ("PT5M", "PT10M")))
    job = the_timer_job(container)
    assert job.data["_id"] != old_job and job.data["processDefinitionId"] == v2
    assert job.data["dueDate"] == "2026-01-01T00:11:00.000Z"
    container.clock.advance(minutes=1)
    deployments.delete_deployment(container, v2)
    restored = the_timer_job(container)
    assert restored.data["processDefinitionId"] == v1
    assert restored.data["dueDate"] == "2026-01-01T00:07:00.000Z"  # recomputed from now
    assert registry(container, "startTimerEventExample")["timer#theStart"]["definitionId"] == v1
    deployments.delete_deployment(container, v1)
    assert timer_jobs(container) == []
    assert registry(container, "startTimerEventExample") == {}


def test_deleting_an_older_version_leaves_the_latest_registered(container, corpus):
    [v1] = deploy(container, corpus_text(corpus, DURATION))
    [v2] = deploy(container, corpus_text(corpus, DURATION, ("PT5M", "PT10M")))
    job_id = the_timer_job(container).data["_id"]
    deployments.delete_deployment(container, v1)
    assert the_timer_job(container).data["_id"] == job_id
    assert registry(container, "startTimerEventExample")["timer#theStart"]["definitionId"] == v2


def test_message_registry_follows_the_latest_version(container, corpus):
    xml = corpus_text(corpus, MESSAGE)
    [v1] = deploy(container, xml)
    assert start_events.find_start_events(container, "message", "newInvoiceMessage") == [
        (v1, "theStart")
    ]
    [v2] = deploy(container, xml.replace('name="Task"', 'name="Task 2"'))
    assert start_events.find_start_events(container, "message", "newInvoiceMessage") == [
        (v2, "theStart")
    ]
    deployments.delete_deployment(container, v2)
    assert start_events.find_start_events(container, "message", "newInvoiceMessage") == [
        (v1, "theStart")
    ]
    deployments.delete_deployment(container, v1)
    assert start_events.find_start_events(container, "message", "newInvoiceMessage") == []


def test_signal_start_events_of_every_process_are_registered(container, corpus):
    ids = deploy(container, corpus_text(corpus, SIGNAL))
    found = start_events.find_start_events(container, "signal", "The Signal")
    by_key = {definition.split(":")[0]: (definition, activity) for definition, activity in found}
    assert sorted(by_key) == [
        "processWithSignalStart1",
        "processWithSignalStart2",
        "processWithSignalStart3",
    ]
    assert by_key["processWithSignalStart2"][1] == "theStart2"
    assert {definition for definition, _ in found} <= set(ids)
    assert start_events.find_start_events(container, "signal", "The") == []
    assert start_events.find_start_events(container, "message", "The Signal") == []


def test_a_message_start_name_used_by_another_key_is_refused(container, corpus):
    xml = corpus_text(corpus, MESSAGE)
    [owner] = deploy(container, xml, source="file:a")
    other = xml.replace('id="singleMessageStartEvent"', 'id="otherProcess"')
    with pytest.raises(InvalidDeployment) as raised:
        deploy(container, other, source="file:b")
    assert status_of(raised.value) == 400
    assert "newInvoiceMessage" in str(raised.value) and owner in str(raised.value)
    assert deployments.list_deployments(container, "file:b") == []  # nothing was written
    assert start_events.find_start_events(container, "message", "newInvoiceMessage") == [
        (owner, "theStart")
    ]
    # once the owner's latest version no longer uses the name, another key may take it
    deploy(
        container, xml.replace('name="newInvoiceMessage"', 'name="renamedMessage"'), source="file:a"
    )
    [taken] = deploy(container, other, source="file:b")
    assert start_events.find_start_events(container, "message", "newInvoiceMessage") == [
        (taken, "theStart")
    ]


def test_restoring_leaves_out_a_message_name_another_key_took(container, corpus):
    xml = corpus_text(corpus, MESSAGE)
    deploy(container, xml, source="file:a")
    [renamed] = deploy(
        container, xml.replace('name="newInvoiceMessage"', 'name="renamedMessage"'), source="file:a"
    )
    [taker] = deploy(
        container, xml.replace('id="singleMessageStartEvent"', 'id="taker"'), source="file:b"
    )
    deployments.delete_deployment(container, renamed)  # v1 comes back, but not its message
    assert start_events.find_start_events(container, "message", "newInvoiceMessage") == [
        (taker, "theStart")
    ]
    assert start_events.find_start_events(container, "message", "renamedMessage") == []
    assert registry(container, "singleMessageStartEvent") == {}
