"""Jobs: running by id, failures and retries, the dead-letter move, and the due-date sweep.

Memory store and publisher; the same service code runs over DynamoDB in the functional tests.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import ids
from chalicelib.errors import BadRequest, NotFound
from chalicelib.service.jobs import actions as jobs
from chalicelib.service.jobs.items import new_job
from chalicelib.service.jobs.retry import DEFAULT_RETRIES
from chalicelib.service.jobs.runners import RUNNERS
from chalicelib.service.jobs.sweep import sweep
from chalicelib.service.repositories.jobs import dead_letter_key, job_done_write, job_key
from chalicelib.storage.ports import Put, Table
from tests.support.memory import memory_container

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture
def container():
    """The memory container (``tests/support/memory.py``) at ``NOW``, its queue named ``jobs``."""
    return memory_container(now=NOW, jobs_queue="jobs")


def add_job(
    container,
    handler: str = "noop",
    due: datetime | None = None,
    retries: int = DEFAULT_RETRIES,
) -> str:
    instance = ids.new_id()
    job_id = ids.child_id(instance)
    item = new_job(
        job_id=job_id,
        handler_type=handler,
        created=NOW,
        due=due,
        instance_id=instance,
        retries=retries,
    )
    assert (item.pk, item.sk) == job_key(job_id)
    container.store.transact([Put(Table.RUNTIME, item)])
    return job_id


def stored(container, job_id):
    return container.store.get(Table.RUNTIME, *job_key(job_id))


@pytest.fixture
def runners(monkeypatch):
    seen: list[str] = []

    def done(container, item):
        seen.append(item.data["_id"])
        container.store.transact([job_done_write(item)])
        return "done"

    def boom(container, item):
        raise RuntimeError("the script failed")

    monkeypatch.setitem(RUNNERS, "noop", done)
    monkeypatch.setitem(RUNNERS, "boom", boom)
    return seen


def test_missing_job_is_acknowledged_without_effect(container):
    assert "absent" in jobs.run_job(container, ids.child_id(ids.new_id()))


def test_due_job_runs_and_is_gone(container, runners):
    job_id = add_job(container)
    assert jobs.run_job(container, job_id) == "executed"
    assert runners == [job_id] and stored(container, job_id) is None
    assert "absent" in jobs.run_job(container, job_id)  # a duplicate message does nothing
    assert runners == [job_id]


def test_job_not_yet_due_is_delayed_again_never_run_early(container, runners):
    job_id = add_job(container, due=NOW + timedelta(seconds=42, milliseconds=10))
    assert "delayed again" in jobs.run_job(container, job_id)
    assert runners == []
    [message] = container.publisher.drain("jobs")
    # whole seconds rounded down: it arrives within a second of its due time, and waits there
    assert message.body["jobId"] == job_id and message.delay_seconds == 42


def test_failing_job_walks_retries_down_to_the_dead_letter_table(container, runners):
    job_id = add_job(container, "boom")
    for left in (2, 1):
        assert jobs.run_job(container, job_id).startswith(f"failed ({left} retries left)")
        item = stored(container, job_id)
        assert item.data["retries"] == left
        assert item.data["exceptionMessage"] == "the script failed"
        assert "RuntimeError" in item.data["stacktrace"]
        retry_at = container.clock.now() + timedelta(seconds=10)
        assert item.data["dueDate"] == retry_at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        assert "delayed again" in jobs.run_job(container, job_id)  # not before the retry wait
        container.clock.advance(seconds=10)
    outcome = jobs.execute(container, job_id)
    assert outcome == {
        "_id": job_id,
        "status": "deadletter",
        "exceptionMessage": "the script failed",
        "retries": 0,
    }
    assert stored(container, job_id) is None
    dead = container.store.get(Table.DEADLETTER, *dead_letter_key(job_id))
    assert dead.data["retries"] == 0 and dead.data["exceptionMessage"] == "the script failed"


def test_dead_letter_job_moves_back_with_fresh_retries_and_is_queued(container, runners):
    job_id = add_job(container, "boom", retries=1)
    assert jobs.execute(container, job_id)["status"] == "deadletter"
    container.publisher.drain("jobs")
    assert jobs.move_to_executable(container, job_id, 5) == {"_id": job_id, "status": "moved"}
    revived = stored(container, job_id)
    assert revived.data["retries"] == 5
    assert [m.body["jobId"] for m in container.publisher.drain("jobs")] == [job_id]
    with pytest.raises(NotFound):
        jobs.move_to_executable(container, job_id)


@pytest.mark.parametrize("retries", [0, -1, "3", 1.5, True])
def test_dead_letter_retries_must_be_a_positive_integer(container, retries):
    with pytest.raises(BadRequest, match="retries"):
        jobs.move_to_executable(container, "x", retries)


def test_job_of_unknown_type_fails_like_any_failing_job(container):
    job_id = add_job(container, "mystery")
    outcome = jobs.execute(container, job_id)
    assert outcome["status"] == "failed" and "mystery" in outcome["exceptionMessage"]
    assert stored(container, job_id).data["retries"] == 2


def test_execute_unknown_job_is_404(container):
    with pytest.raises(NotFound):
        jobs.execute(container, ids.child_id(ids.new_id()))


def test_sweep_sends_due_and_soon_due_jobs_with_whole_second_delays(container):
    overdue = add_job(container, due=NOW - timedelta(minutes=5))
    soon = add_job(container, due=NOW + timedelta(seconds=30, milliseconds=200))
    later = add_job(container, due=NOW + timedelta(minutes=10))
    assert sweep(container) == {"sent": 2}
    sent = {m.body["jobId"]: m.delay_seconds for m in container.publisher.drain("jobs")}
    assert sent == {overdue: 0, soon: 30}  # rounded down: the worker waits the fraction
    assert later not in sent


def test_sweep_reads_every_shard(container):
    made = {add_job(container, due=NOW - timedelta(seconds=i)) for i in range(40)}
    assert sweep(container) == {"sent": 40}
    assert {m.body["jobId"] for m in container.publisher.drain("jobs")} == made
