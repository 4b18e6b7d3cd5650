"""Running jobs by id and sweeping the due-date index (memory store and publisher)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from chalicelib import ids
from chalicelib.clock import FixedClock
from chalicelib.messaging.memory import MemoryPublisher
from chalicelib.service import jobs
from chalicelib.storage.memory import MemoryItemStore
from chalicelib.storage.ports import Item, Put, Table

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def container():
    return SimpleNamespace(store=MemoryItemStore(), publisher=MemoryPublisher(),
                           clock=FixedClock(NOW), settings=SimpleNamespace(jobs_queue="jobs"))


def add_job(container, job_type: str = "noop", due: datetime | None = None) -> str:
    instance = ids.new_id()
    job_id = ids.child_id(instance)
    pk, sk = jobs.job_key(job_id)
    assert pk == instance
    index = jobs.due_index(job_id, due) if due else {}
    container.store.transact([Put(Table.RUNTIME, Item(pk, sk, "job", {"type": job_type},
                                                      index=index))])
    return job_id


def test_missing_job_is_acknowledged_without_effect(container):
    assert "absent" in jobs.run_job(container, ids.child_id(ids.new_id()))


def test_job_of_unknown_type_fails_and_stays(container):
    job_id = add_job(container, "mystery")
    with pytest.raises(jobs.UnknownJobType, match="mystery"):
        jobs.run_job(container, job_id)
    assert container.store.get(Table.RUNTIME, *jobs.job_key(job_id)) is not None


def test_registered_runner_runs(container, monkeypatch):
    seen = []
    monkeypatch.setitem(jobs.RUNNERS, "noop", lambda c, item: seen.append(item.sk) or "ran")
    job_id = add_job(container)
    assert jobs.run_job(container, job_id) == "ran"
    assert seen == [f"job#{job_id}"]


def test_sweep_sends_due_and_soon_due_jobs_with_whole_second_delays(container):
    overdue = add_job(container, due=NOW - timedelta(minutes=5))
    soon = add_job(container, due=NOW + timedelta(seconds=30, milliseconds=200))
    later = add_job(container, due=NOW + timedelta(minutes=10))
    add_job(container)  # no due date: not in the index
    assert jobs.sweep(container) == {"sent": 2}
    sent = {m.body["jobId"]: m.delay_seconds for m in container.publisher.drain("jobs")}
    assert sent == {overdue: 0, soon: 31}  # rounded up: never early
    assert later not in sent


def test_sweep_reads_every_shard(container):
    made = {add_job(container, due=NOW - timedelta(seconds=i)) for i in range(40)}
    assert jobs.sweep(container) == {"sent": 40}
    assert {m.body["jobId"] for m in container.publisher.drain("jobs")} == made
