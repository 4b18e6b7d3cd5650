"""``failedJobRetryTimeCycle`` on job items and from BPMN (an async activity's attribute, a
timer event's extension element, down to the dead-letter table), and the sweep's lookahead
from its period.

Memory store and publisher, installed for the worker's entry point. Jobs under duplicate
deliveries, lost wake-ups, injected store failures and racing threads over moto:
``tests/functional/test_job_reliability.py``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import ids
from chalicelib.clock import format_iso
from chalicelib.messaging.job_message import encode
from chalicelib.service.jobs import actions as jobs
from chalicelib.service.jobs.items import new_job
from chalicelib.service.jobs.retry import DEFAULT_RETRIES, RETRY_CYCLE_KEY, retry_policy
from chalicelib.service.jobs.runners import RUNNERS
from chalicelib.service.jobs.sweep import sweep, sweep_lookahead
from chalicelib.service.repositories.jobs import job_done_write, job_key
from chalicelib.settings import Settings, SettingsError
from chalicelib.storage.ports import Put, Table
from chalicelib.workers import entry
from tests.support.jobs import FLAKY, RETRY_TIMER, dead_letters, deploy_and_start
from tests.support.memory import memory_container

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
REQUIRED = {
    "WORKFLOW_REPOSITORY_TABLE": "r",
    "WORKFLOW_RUNTIME_TABLE": "rt",
    "WORKFLOW_HISTORY_TABLE": "h",
    "WORKFLOW_DEADLETTER_TABLE": "d",
    "WORKFLOW_JOBS_QUEUE": "q",
}


def make_container(period: float | None = None):
    """The memory container (``tests/support/memory.py``) at ``NOW``, its queue named ``jobs``."""
    if period is not None:
        return memory_container(now=NOW, jobs_queue="jobs", sweep_period_seconds=period)
    return memory_container(now=NOW, jobs_queue="jobs")


def add_job(
    container, *, handler: str = "boom", due: datetime | None = None, cycle: str | None = None
) -> str:
    instance = ids.new_id()
    job_id = ids.child_id(instance)
    item = new_job(
        job_id=job_id,
        handler_type=handler,
        created=NOW,
        due=due,
        instance_id=instance,
        retry_cycle=cycle,
    )
    container.store.transact([Put(Table.RUNTIME, item)])
    return job_id


def stored(container, job_id):
    return container.store.get(Table.RUNTIME, *job_key(job_id))


@pytest.fixture
def boom(monkeypatch):
    def fail(container, item):
        raise RuntimeError("the script failed")

    monkeypatch.setitem(RUNNERS, "boom", fail)


# --- failedJobRetryTimeCycle ----------------------------------------------------------------


@pytest.mark.parametrize(
    "cycle, expected",
    [
        ("R5/PT7M", (5, timedelta(minutes=7))),
        ("R1/PT30S", (1, timedelta(seconds=30))),
        ("R/PT2M", (DEFAULT_RETRIES, timedelta(minutes=2))),
        (None, None),
        ("", None),
        ("${retryCycle}", None),
        ("not a cycle", None),
        ("0 0/5 * * * ?", None),
    ],
)
def test_retry_policy(cycle, expected):
    assert retry_policy(cycle) == expected


def test_default_job_has_three_retries_and_no_cycle():
    item = new_job(job_id="j", handler_type="boom", created=NOW)
    assert item.data["retries"] == 3
    assert RETRY_CYCLE_KEY not in item.data["jobHandlerConfiguration"]


def test_cycle_sets_the_retries_at_creation_and_is_kept_in_the_configuration():
    item = new_job(
        job_id="j",
        handler_type="boom",
        created=NOW,
        retry_cycle="R5/PT7M",
        configuration={"kind": "async-continuation"},
    )
    assert item.data["retries"] == 5
    assert item.data["jobHandlerConfiguration"] == {
        "kind": "async-continuation",
        "failedJobRetryTimeCycle": "R5/PT7M",
    }
    # an expression is not evaluated here: the defaults apply, nothing is stored
    item = new_job(job_id="j", handler_type="boom", created=NOW, retry_cycle="${c}")
    assert item.data["retries"] == 3 and item.data["jobHandlerConfiguration"] == {}


def test_failure_waits_the_cycle_period_and_counts_down_from_its_repetitions(boom):
    container = make_container()
    job_id = add_job(container, cycle="R5/PT7M")
    for left in (4, 3, 2, 1):
        outcome = jobs.execute(container, job_id)
        assert outcome["status"] == "failed" and outcome["retries"] == left
        data = stored(container, job_id).data
        assert data["retries"] == left
        assert data["dueDate"] == format_iso(container.clock.now() + timedelta(minutes=7))
        container.clock.advance(minutes=7)
    assert jobs.execute(container, job_id)["status"] == "deadletter"
    assert stored(container, job_id) is None
    # back from the dead-letter table: the cycle's repetitions again (unless retries is given)
    assert jobs.move_to_executable(container, job_id)["status"] == "moved"
    assert stored(container, job_id).data["retries"] == 5


def test_failure_without_a_cycle_waits_ten_seconds(boom):
    container = make_container()
    job_id = add_job(container)
    assert jobs.execute(container, job_id)["retries"] == 2
    assert stored(container, job_id).data["dueDate"] == format_iso(NOW + timedelta(seconds=10))


def test_a_one_retry_cycle_dead_letters_at_the_first_failure(boom):
    container = make_container()
    job_id = add_job(container, cycle="R1/PT1M")
    assert jobs.execute(container, job_id)["status"] == "deadletter"


# --- the sweep's lookahead ------------------------------------------------------------------


@pytest.mark.parametrize(
    "period, seconds",
    [
        (None, 90),
        (60, 90),
        (1, 1.5),
        (0.2, 1),
        (0.5, 1),
        (10, 15),
    ],
)
def test_sweep_lookahead_is_one_and_a_half_periods_at_least_a_second(period, seconds):
    assert sweep_lookahead(period) == timedelta(seconds=seconds)


def test_one_second_sweep_does_not_queue_a_timer_due_in_a_minute():
    container = make_container(period=1)
    soon = add_job(container, handler="noop", due=NOW + timedelta(milliseconds=1200))
    later = add_job(container, handler="noop", due=NOW + timedelta(seconds=60))
    assert sweep(container) == {"sent": 1}
    assert {m.body["jobId"]: m.delay_seconds for m in container.publisher.drain("jobs")} == {
        soon: 1
    }
    # ticking every second until it is due, the minute's timer is sent once or twice before
    # it runs (a 90 s lookahead would send it ~60 times)
    sends = 0
    for _ in range(60):
        container.clock.advance(seconds=1)
        sweep(container)
        sends += sum(1 for m in container.publisher.drain("jobs") if m.body["jobId"] == later)
    assert 1 <= sends <= 2


def test_one_second_sweep_resends_an_overdue_backlog_once_a_minute_not_every_tick():
    container = make_container(period=1)
    backlog = {add_job(container, handler="noop", due=NOW) for _ in range(30)}
    sends = {job_id: 0 for job_id in backlog}
    for _ in range(125):  # two minutes of ticks; nothing runs the jobs
        sweep(container)
        for message in container.publisher.drain("jobs"):
            sends[message.body["jobId"]] += 1
        container.clock.advance(seconds=1)
    # sent as they came due, again once 5 s late (a wake-up lost in a crash recovers at once),
    # then a minute later, not every tick
    assert set(sends.values()) == {3}


def test_one_second_sweep_resends_a_crash_backlog_at_once():
    """Jobs overdue since a crash are re-sent by the next sweep, whatever their age's phase in
    the minute, once each."""
    container = make_container(period=1)
    backlog = {
        add_job(container, handler="noop", due=NOW - timedelta(minutes=3, seconds=s))
        for s in range(60)
    }
    assert sweep(container) == {"sent": 60}
    assert {m.body["jobId"] for m in container.publisher.drain("jobs")} == backlog
    for _ in range(50):
        container.clock.advance(seconds=1)
        assert sweep(container) == {"sent": 0}


def test_overdue_resends_are_bounded_per_sweep(monkeypatch):
    monkeypatch.setattr("chalicelib.service.jobs.sweep.MAX_OVERDUE_RESENDS", 7)
    container = make_container(period=1)
    soon = add_job(container, handler="noop", due=NOW + timedelta(milliseconds=500))
    backlog = {
        add_job(container, handler="noop", due=NOW - timedelta(minutes=2)) for _ in range(10)
    }
    assert sweep(container) == {"sent": 8}  # the coming-due job is never held back
    first = {m.body["jobId"] for m in container.publisher.drain("jobs")}
    assert soon in first and len(first & backlog) == 7
    container.clock.advance(seconds=1)
    sweep(container)
    second = {m.body["jobId"] for m in container.publisher.drain("jobs")}
    assert (second & backlog) == backlog - first


def test_an_overdue_backlog_is_read_a_slice_per_sweep_and_fresh_timers_keep_their_time(
    monkeypatch,
):
    """Bounded work per run: past ``OVERDUE_READ`` overdue entries a sweep stops, the next one
    goes on from there (then from the oldest again); the window of jobs coming due is read
    whole every time."""
    from chalicelib.service.jobs import sweep as sweeping

    monkeypatch.setattr(sweeping, "OVERDUE_READ", 20)
    overdue_read: list[int] = []
    real = sweeping.due_jobs

    def counted(*args, **kwargs):
        page = real(*args, **kwargs)
        if kwargs.get("since") is None:
            overdue_read.append(len(page.items))
        return page

    monkeypatch.setattr(sweeping, "due_jobs", counted)
    container = make_container(period=60)
    backlog = {
        add_job(container, handler="noop", due=NOW - timedelta(hours=1, seconds=s))
        for s in range(70)
    }
    rounds = []
    for tick in range(5):
        soon = add_job(container, handler="noop", due=NOW + timedelta(seconds=60 * tick + 30))
        overdue_read.clear()
        sweep(container)
        sent = {m.body["jobId"] for m in container.publisher.drain("jobs")}
        assert soon in sent  # never held back by the backlog
        assert sum(overdue_read) <= 20
        rounds.append(sent & backlog)
        container.clock.advance(seconds=60)
    assert [len(r) for r in rounds[:4]] == [20, 20, 20, 10]
    assert set().union(*rounds[:4]) == backlog  # each slice new, the whole backlog reached
    assert rounds[4] == rounds[0]  # then from the oldest again, a minute or more later


def test_a_job_a_few_seconds_late_is_left_to_its_wake_up():
    container = make_container(period=1)
    late = add_job(container, handler="noop", due=NOW - timedelta(seconds=2))
    assert sweep(container) == {"sent": 0}
    container.clock.advance(seconds=3)
    assert sweep(container) == {"sent": 1}
    assert [m.body["jobId"] for m in container.publisher.drain("jobs")] == [late]


def test_minute_sweep_resends_every_overdue_job_every_tick():
    container = make_container(period=60)
    overdue = add_job(container, handler="noop", due=NOW - timedelta(minutes=7, seconds=13))
    for _ in range(3):
        assert sweep(container) == {"sent": 1}
        assert [m.body["jobId"] for m in container.publisher.drain("jobs")] == [overdue]
        container.clock.advance(seconds=60)


def test_minute_sweep_looks_ninety_seconds_ahead():
    container = make_container(period=60)
    inside = add_job(container, handler="noop", due=NOW + timedelta(seconds=89))
    add_job(container, handler="noop", due=NOW + timedelta(seconds=91))
    assert sweep(container) == {"sent": 1}
    assert [m.body["jobId"] for m in container.publisher.drain("jobs")] == [inside]


def test_sweep_period_setting():
    assert Settings.from_env(REQUIRED).sweep_period_seconds == 60
    assert (
        Settings.from_env({**REQUIRED, "WORKFLOW_SWEEP_PERIOD_SECONDS": "0.5"}).sweep_period_seconds
        == 0.5
    )
    for bad in ("0", "-1", "soon", "nan"):
        with pytest.raises(SettingsError, match="WORKFLOW_SWEEP_PERIOD_SECONDS"):
            Settings.from_env({**REQUIRED, "WORKFLOW_SWEEP_PERIOD_SECONDS": bad})


# --- never early, never a second late ---------------------------------------------------------


def test_a_wake_up_less_than_a_second_early_waits_for_the_due_time_then_runs(monkeypatch):
    container = make_container()
    ran, slept = [], []

    def done(container, item):
        ran.append(item.data["_id"])
        container.store.transact([job_done_write(item)])

    monkeypatch.setitem(RUNNERS, "noop", done)
    monkeypatch.setattr(jobs.time, "sleep", slept.append)
    job_id = add_job(container, handler="noop", due=NOW + timedelta(milliseconds=400))
    assert jobs.run_job(container, job_id) == "executed"
    assert slept == [0.4] and ran == [job_id]
    assert container.publisher.drain("jobs") == []
    # more than a second early: back to the queue with the whole seconds left, not run
    later = add_job(container, handler="noop", due=NOW + timedelta(seconds=1, milliseconds=500))
    assert "delayed again" in jobs.run_job(container, later)
    assert ran == [job_id]
    assert [(m.body["jobId"], m.delay_seconds) for m in container.publisher.drain("jobs")] == [
        (later, 1)
    ]


# --- failedJobRetryTimeCycle from BPMN, through the worker's entry point ----------------------


def job_ids(container, instance_id: str) -> list[str]:
    return [
        i.data["_id"]
        for i in container.store.query(Table.RUNTIME, instance_id, sk_prefix="job#").items
    ]


def wake(job_id: str) -> dict:
    """One message for ``job_id`` through the SQS handler (the installed memory container)."""
    return entry.on_job_message(
        {"Records": [{"messageId": "m", "body": json.dumps(encode(job_id))}]}
    )


def test_failed_job_retry_time_cycle_of_an_async_activity(container):
    instance = deploy_and_start(
        container, FLAKY.format(retry='flowable:failedJobRetryTimeCycle="R5/PT7M"'), "flaky"
    )
    [job_id] = job_ids(container, instance)
    container.publisher.drain(container.settings.jobs_queue)  # the worker took the wake-up
    job = container.store.get(Table.RUNTIME, *job_key(job_id))
    assert job.data["retries"] == 5
    assert job.data["jobHandlerConfiguration"]["failedJobRetryTimeCycle"] == "R5/PT7M"
    for left in (4, 3, 2, 1):
        wake(job_id)
        job = container.store.get(Table.RUNTIME, *job_key(job_id))
        assert job.data["retries"] == left
        assert job.data["dueDate"] == format_iso(container.clock.now() + timedelta(minutes=7))
        container.clock.advance(minutes=7)
    wake(job_id)
    assert container.store.get(Table.RUNTIME, *job_key(job_id)) is None
    assert [d.data["_id"] for d in dead_letters(container)] == [job_id]


def test_failed_job_retry_time_cycle_of_a_timer_event(container):
    instance = deploy_and_start(container, RETRY_TIMER, "retryTimer")
    job = container.store.query(Table.RUNTIME, instance, sk_prefix="job#").items[0]
    assert job.data["jobType"] == "timer"
    assert job.data["retries"] == 2
    assert job.data["jobHandlerConfiguration"]["failedJobRetryTimeCycle"] == "R2/PT1M"
