"""``job`` and ``job/deadletter``'s ``_totalPagedResultsPolicy=EXACT`` from maintained counts
(``repositories.jobs.counted``): after every kind of job write the count equals the jobs the
listing holds, on the memory store and on moto; EXACT costs one counter Query at any size.

The counts change only in the transaction of the job write they count, by what its conditions
prove (created: ``MustNotExist``; removed: ``VersionIs``/``MustExist``), so a job deleted by
two writers at once is counted once: the races below lose on the job's version.
"""

from __future__ import annotations

import threading

import pytest

from chalicelib import aws
from chalicelib.engine.runtime import CompleteTask
from chalicelib.errors import ConcurrencyError, NotFound
from chalicelib.service import unit_of_work as instances
from chalicelib.service.definitions import deploy as deployments
from chalicelib.service.instances import lifecycle
from chalicelib.service.instances.migrate import migrate
from chalicelib.service.jobs import actions as jobs
from chalicelib.service.jobs import intents, queries
from chalicelib.service.jobs.backfill import recount_jobs
from chalicelib.service.repositories.jobs import (
    count_of,
    counted,
    delete_write,
    instance_jobs,
    job_listing,
    read_job,
)
from chalicelib.storage.ports import Table
from tests.support.instances import counted_query
from tests.support.jobs import ASYNC, BPMN_HEAD, FLAKY, TIMER, deploy_and_start
from tests.support.rest import WF

TICKER = (
    BPMN_HEAD
    + """
  <process id="ticker" name="{name}" isExecutable="true">
    <startEvent id="tick">
      <timerEventDefinition><timeCycle>R3/PT10M</timeCycle></timerEventDefinition>
    </startEvent>
    <sequenceFlow id="f1" sourceRef="tick" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>"""
)

#: 40 parallel reviews, each with its own boundary timer: a commit through a commit intent
WIDE = (
    BPMN_HEAD
    + """
  <process id="wide" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="each"/>
    <subProcess id="each">
      <multiInstanceLoopCharacteristics isSequential="false">
        <loopCardinality>40</loopCardinality>
      </multiInstanceLoopCharacteristics>
      <startEvent id="s2"/>
      <sequenceFlow id="g1" sourceRef="s2" targetRef="review"/>
      <userTask id="review" name="Review"/>
      <boundaryEvent id="late" attachedToRef="review" cancelActivity="true">
        <timerEventDefinition><timeDuration>PT1H</timeDuration></timerEventDefinition>
      </boundaryEvent>
      <sequenceFlow id="g2" sourceRef="review" targetRef="e2"/>
      <sequenceFlow id="g3" sourceRef="late" targetRef="e2"/>
      <endEvent id="e2"/>
    </subProcess>
    <sequenceFlow id="f2" sourceRef="each" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>"""
)


@pytest.fixture(params=["memory", "moto"])
def box(request):
    """The container on the memory store, then on moto (pynamodb)."""
    return request.getfixturevalue("memory_container" if request.param == "memory" else "container")


def listed(container, *, dead: bool = False) -> int:
    """The jobs the listing holds (every page)."""
    found, token = 0, None
    while True:
        page = job_listing(container.store, dead=dead, limit=100, start=token)
        found += len(page.items)
        token = page.next_token
        if token is None:
            return found


def assert_counts(container, runtime: int, dead: int = 0) -> None:
    assert (listed(container), listed(container, dead=True)) == (runtime, dead)
    assert count_of(container.store) == runtime
    assert count_of(container.store, dead=True) == dead


def jobs_of(container, instance_id: str) -> list[str]:
    return [item.data["_id"] for item in instance_jobs(container.store, instance_id).items]


def only_task(container, instance_id: str) -> str:
    state = instances.load_instance(container, instance_id)
    assert state is not None
    [task_id] = list(state.tasks)
    return task_id


def test_timer_created_by_a_start_and_run(box):
    assert_counts(box, 0)
    instance = deploy_and_start(box, TIMER, "escalate")
    assert_counts(box, 1)
    [job_id] = jobs_of(box, instance)
    assert jobs.execute(box, job_id)["status"] == "executed"
    assert_counts(box, 0)


def test_boundary_timer_cancelled_by_the_task_completion(box):
    instance = deploy_and_start(box, TIMER, "escalate")
    deploy_and_start(box, TIMER, "escalate")
    assert_counts(box, 2)
    task_id = only_task(box, instance)
    instances.run_command(box, lambda uow: CompleteTask(task_id))
    assert jobs_of(box, instance) == []
    assert_counts(box, 1)


def test_async_job_run(box):
    instance = deploy_and_start(box, ASYNC, "background")
    assert_counts(box, 1)
    [job_id] = jobs_of(box, instance)
    jobs.execute(box, job_id)
    assert_counts(box, 0)


def test_retry_dead_letter_revive_and_deletes(box):
    flaky = FLAKY.format(retry="")
    first = deploy_and_start(box, flaky, "flaky")
    second = deploy_and_start(box, flaky, "flaky")
    assert_counts(box, 2)
    [job_id] = jobs_of(box, first)
    outcomes = [jobs.execute(box, job_id)["status"] for _ in range(3)]
    assert outcomes == ["failed", "failed", "deadletter"]
    assert_counts(box, 1, dead=1)
    assert jobs.move_to_executable(box, job_id)["status"] == "moved"  # revived
    assert_counts(box, 2)
    queries.delete_job(box, job_id)  # REST delete of a runtime job
    assert_counts(box, 1)
    [other] = jobs_of(box, second)
    for _ in range(3):
        jobs.execute(box, other)
    assert_counts(box, 0, dead=1)
    queries.delete_job(box, other, dead=True)  # REST delete of a dead-letter job
    assert_counts(box, 0)


def test_instance_delete_deletes_its_timers(box):
    doomed = deploy_and_start(box, TIMER, "escalate")
    deploy_and_start(box, TIMER, "escalate")
    assert_counts(box, 2)
    lifecycle.delete_instance(box, "admin", doomed)
    assert_counts(box, 1)


def test_definition_timer_start_jobs_on_deploy_redeploy_and_delete(box):
    def deploy(name: str) -> str:
        return deployments.deploy(
            box,
            source="file:ticker",
            name="ticker",
            bpmn={"ticker.bpmn20.xml": TICKER.format(name=name)},
        ).definition_ids[0]

    first = deploy("one")
    assert_counts(box, 1)
    second = deploy("two")  # the new version's timer replaces the old one's
    assert second != first
    assert_counts(box, 1)
    deployments.delete_deployment(box, second)  # the previous version's timer is back
    assert_counts(box, 1)
    deployments.delete_deployment(box, first)
    assert_counts(box, 0)


def test_migration_rewrites_the_job_and_keeps_the_count(box):
    instance = deploy_and_start(box, TIMER, "escalate")
    target = deployments.deploy(
        box,
        source="file:escalate",
        name="escalate",
        bpmn={"escalate.bpmn20.xml": TIMER.replace('id="escalate"', 'id="escalate" name="v2"')},
    ).definition_ids[0]
    migrate(box, instance, {"processDefinitionId": target})
    [job_id] = jobs_of(box, instance)
    job = read_job(box.store, job_id)
    assert job is not None and job.data["processDefinitionId"] == target
    assert_counts(box, 1)


def test_a_commit_through_an_intent_counts_its_jobs_and_cancellations(box, monkeypatch):
    decided: list[int] = []
    real_decide = intents.decide

    def spy(*args, **kwargs):
        decision = real_decide(*args, **kwargs)
        decided.append(len(decision.cancelled))
        return decision

    monkeypatch.setattr(intents, "decide", spy)
    wide = deploy_and_start(box, WIDE, "wide")
    deploy_and_start(box, TIMER, "escalate")
    assert decided == [0]  # 40 timers and their reviews: more than one transaction
    assert_counts(box, 41)  # the recovery job came and went
    lifecycle.delete_instance(box, "admin", wide)
    assert decided == [0, 40]  # the 40 cancelled timers were deleted after the commit
    assert_counts(box, 1)


def test_a_rest_delete_racing_an_instance_delete_is_counted_once(box, monkeypatch):
    doomed = deploy_and_start(box, TIMER, "escalate")
    deploy_and_start(box, TIMER, "escalate")
    [job_id] = jobs_of(box, doomed)
    attempts: list[str] = []
    real_commit = instances.UnitOfWork.commit

    def racing(self, result, extra=(), **kwargs):
        attempts.append(result.instance_id)
        if len(attempts) == 1:  # the instance was loaded with its timer: a REST delete now
            queries.delete_job(box, job_id)
        return real_commit(self, result, extra, **kwargs)

    monkeypatch.setattr(instances.UnitOfWork, "commit", racing)
    lifecycle.delete_instance(box, "admin", doomed)
    assert attempts == [doomed, doomed]  # the first commit lost on the job's version
    assert_counts(box, 1)


def test_a_rest_delete_after_the_instance_delete_loses_on_the_version(box):
    doomed = deploy_and_start(box, TIMER, "escalate")
    [job_id] = jobs_of(box, doomed)
    stale = read_job(box.store, job_id)
    assert stale is not None
    lifecycle.delete_instance(box, "admin", doomed)
    assert_counts(box, 0)
    with pytest.raises(ConcurrencyError):
        box.store.transact(counted([delete_write(stale)]))
    assert_counts(box, 0)


def test_recount_rewrites_the_counters_exactly(box):
    deploy_and_start(box, TIMER, "escalate")
    flaky = deploy_and_start(box, FLAKY.format(retry=""), "flaky")
    [job_id] = jobs_of(box, flaky)
    for _ in range(3):
        jobs.execute(box, job_id)
    assert_counts(box, 1, dead=1)
    # counts skewed as by writes made before counters: the recount sets them right
    box.store.transact(_skew())
    assert count_of(box.store) != 1
    assert recount_jobs(box.store, dry_run=True) == 16
    assert count_of(box.store) != 1
    assert recount_jobs(box.store) == 16
    assert_counts(box, 1, dead=1)
    assert recount_jobs(box.store) == 16  # idempotent
    assert_counts(box, 1, dead=1)


def _skew():
    from chalicelib.service.repositories import counters
    from chalicelib.storage.ports import Index

    return [
        counters.add(Table.RUNTIME, Index.KIND_SHARD_SORT, "job", "someone", 5),
        counters.add(Table.DEADLETTER, Index.KIND_SHARD_SORT, "dlq", "someone", -3),
    ]


# --- over HTTP, on moto: what EXACT answers and costs ------------------------------------------


def test_exact_answers_the_count_with_one_more_query_at_any_size(client, container):
    costs = []
    for total in (2, 9):
        while listed(container) < total:
            deploy_and_start(container, TIMER, "escalate")
        params = "_queryId=query-all-ids&_pageSize=2"
        page, plain = counted_query(client, f"{WF}/job", params)
        exact, counts = counted_query(
            client, f"{WF}/job", params + "&_totalPagedResultsPolicy=EXACT"
        )
        assert exact["result"] == page["result"]
        assert exact["totalPagedResults"] == total
        assert counts["Query"] == plain["Query"] + 1, counts
        assert sum(counts.values()) <= 5 + sum(plain.values())
        costs.append(counts)
    assert costs[0] == costs[1]
    dead, counts = counted_query(
        client, f"{WF}/job/deadletter", "_queryFilter=true&_totalPagedResultsPolicy=EXACT"
    )
    assert dead["totalPagedResults"] == 0
    with aws.counting() as counter:
        count_of(container.store)
    assert counter.total("dynamodb") == 1


def test_exact_with_a_filter_counts_what_matches(client, container):
    deploy_and_start(container, TIMER, "escalate")
    deploy_and_start(container, ASYNC, "background")
    data, _ = counted_query(
        client,
        f"{WF}/job",
        "_queryId=filtered-query&timersOnly=true&_totalPagedResultsPolicy=EXACT",
    )
    assert data["totalPagedResults"] == 1


def test_threads_deleting_jobs_and_their_instances_at_once_leave_the_count_right(box):
    """Each of 6 instances' timer is deleted by REST while the instance is deleted, all at
    once from 12 threads: whichever wins, each job is counted out once."""
    started = [deploy_and_start(box, TIMER, "escalate") for _ in range(6)]
    job_ids = [job_id for instance in started for job_id in jobs_of(box, instance)]
    assert_counts(box, 6)
    barrier = threading.Barrier(12)
    failures: list[BaseException] = []

    def run(action) -> None:
        barrier.wait()
        try:
            action()
        except (ConcurrencyError, NotFound):
            pass  # lost its race (409) or found the job gone (404): the winner counted it
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    actions = [lambda i=i: lifecycle.delete_instance(box, "admin", i) for i in started]
    actions += [lambda j=j: queries.delete_job(box, j) for j in job_ids]
    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert all(_ended(box, i) for i in started)  # one racer each: within its 4 attempts
    assert_counts(box, 0)


def _ended(container, instance_id: str) -> bool:
    state = instances.load_instance(container, instance_id)
    return state is None or state.header.status.is_ended


@pytest.mark.parametrize("meanwhile", ["deleted", "retried"])
def test_a_recovery_job_changed_before_its_intent_is_applied_is_counted_once(
    box, monkeypatch, meanwhile
):
    """The committer dies before applying (its apply raises once); the recovery job is deleted
    by REST (or fails and is retried) before the next load rolls the intent forward: the
    cleanup's conditioned delete loses, the intent is applied without it."""
    from chalicelib.service.jobs.retry import record_failure
    from chalicelib.storage import intent as storage_intent

    real_apply = storage_intent.apply
    calls: list[str] = []

    def crashing(store, intent):
        calls.append(intent.pk)
        if len(calls) == 1:
            raise RuntimeError("the committer dies")
        return real_apply(store, intent)

    monkeypatch.setattr(storage_intent, "apply", crashing)
    wide = deploy_and_start(box, WIDE, "wide")
    [recovery] = [
        item
        for item in instance_jobs(box.store, wide).items
        if item.data["jobHandlerType"] == intents.HANDLER
    ]
    assert listed(box) == 1  # the recovery job; the timers wait in the intent
    if meanwhile == "deleted":
        queries.delete_job(box, recovery.data["_id"])
    else:
        assert record_failure(box, recovery, RuntimeError("boom"))["status"] == "failed"
    assert instances.load_instance(box, wide) is not None  # rolls the intent forward
    assert calls == [wide, wide]
    if meanwhile == "deleted":
        assert_counts(box, 40)
    else:  # still there, one version on: its run finds the intent applied and deletes it
        assert_counts(box, 41)
        assert jobs.execute(box, recovery.data["_id"])["status"] == "executed"
        assert_counts(box, 40)
