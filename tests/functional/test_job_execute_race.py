"""``job/{id}?_action=execute`` while the worker runs the same job (DECISIONS.md): the explicit
execute answers the outcome of whichever run won, never a 409 asking to retry; and a 409 that
does reach a caller shows no storage words (moto, through the test client)."""

from __future__ import annotations

import json
import threading
import time

import pytest

from chalicelib import ids
from chalicelib.errors import ConcurrencyError
from chalicelib.service.jobs import actions
from chalicelib.service.jobs.items import new_job
from chalicelib.service.jobs.runners import RUNNERS
from chalicelib.service.repositories.jobs import job_done_write
from chalicelib.storage.ports import Put, Table, VersionIs
from tests.support.rest import ADMIN, WF

JSON = dict(ADMIN, **{"Content-Type": "application/json"})
STORAGE_WORDS = ("ConditionalCheck", "write", "Dynamo", "transaction", "Transaction", '"pk"')


def _body(response) -> dict:
    return json.loads(response.body)


def _add_job(container, handler: str, *, retries: int | None = None) -> str:
    instance = ids.new_id()
    job_id = ids.child_id(instance)
    now = container.clock.now()
    item = new_job(
        job_id=job_id,
        handler_type=handler,
        created=now,
        due=now,
        instance_id=instance,
        definition_id="p:1:d",
        execution_id=instance,
        retries=retries,
    )
    container.store.transact([Put(Table.RUNTIME, item)])
    return job_id


@pytest.fixture
def racing(monkeypatch):
    """Runners that let the worker run the same job to its end first (``actions.run_job``, as
    the SQS handler does), then carry on with the copy they were given: ``race-done`` commits
    the job's work, ``race-boom`` fails. ``commits`` counts the work committed."""
    commits: list[str] = []
    inside: list[bool] = []

    def worker_first(container, item) -> None:
        if not inside:
            inside.append(True)
            try:
                actions.run_job(container, item.data["_id"])
            finally:
                inside.clear()

    def done(container, item):
        worker_first(container, item)
        container.store.transact([job_done_write(item)])
        commits.append(item.data["_id"])
        return "done"

    def boom(container, item):
        worker_first(container, item)
        raise ValueError("no such variable: amount")

    monkeypatch.setitem(RUNNERS, "race-done", done)
    monkeypatch.setitem(RUNNERS, "race-boom", boom)
    return commits


def _execute(client, job_id: str):
    return client.http.post(f"{WF}/job/{job_id}?_action=execute", headers=JSON)


def test_execute_losing_to_the_worker_answers_executed(client, container, racing):
    job_id = _add_job(container, "race-done")
    response = _execute(client, job_id)
    assert response.status_code == 200, response.body
    assert _body(response) == {"_id": job_id, "status": "executed"}
    assert racing == [job_id], "the work is committed once, by the worker"
    assert client.http.get(f"{WF}/job/{job_id}", headers=ADMIN).status_code == 404


def test_execute_losing_to_a_failing_worker_answers_its_failure(client, container, racing):
    job_id = _add_job(container, "race-boom")
    response = _execute(client, job_id)
    assert response.status_code == 200, response.body
    assert _body(response) == {
        "_id": job_id,
        "status": "failed",
        "exceptionMessage": "no such variable: amount",
        "retries": 2,
    }
    # one failure recorded (the worker's), not two
    assert _body(client.http.get(f"{WF}/job/{job_id}", headers=ADMIN))["retries"] == 2


def test_execute_losing_to_a_worker_that_dead_letters_the_job(client, container, racing):
    job_id = _add_job(container, "race-boom", retries=1)
    response = _execute(client, job_id)
    assert response.status_code == 200, response.body
    assert _body(response) == {
        "_id": job_id,
        "status": "deadletter",
        "exceptionMessage": "no such variable: amount",
        "retries": 0,
    }
    dead = _body(client.http.get(f"{WF}/job/deadletter/{job_id}", headers=ADMIN))
    assert dead["_id"] == job_id


LASTING = "The job was being changed by another run for more than 0.2 seconds; this run gave up"


@pytest.fixture
def always_loses(monkeypatch):
    """An ``always-loses`` runner whose every commit loses a race, and ``RACE_SECONDS`` short."""

    def lose(container, item):
        raise ConcurrencyError(detail={"write": 0, "reason": "ConditionalCheckFailed"})

    monkeypatch.setitem(RUNNERS, "always-loses", lose)
    monkeypatch.setattr(actions, "RACE_SECONDS", 0.2)


def _record_after(monkeypatch, container, change: str) -> list[str]:
    """``record_failure`` as the execute calls it once its run gave up, with another run's
    write landing just before the first record (``bump``: the job is saved again unchanged;
    ``done``: the job's work commits and the job goes). The job the execute holds is then stale,
    so that record loses a real storage race. Returns the changes made."""
    real = actions.record_failure
    made: list[str] = []

    def record(container, item, exc, **kwargs):
        if not made:
            current = container.store.get(Table.RUNTIME, item.pk, item.sk)
            if change == "bump":
                write = Put(Table.RUNTIME, current.next_version(current.data), VersionIs(1))
                container.store.transact([write])
            else:
                container.store.transact([job_done_write(current)])
            made.append(change)
        return real(container, item, exc, **kwargs)

    monkeypatch.setattr(actions, "record_failure", record)
    return made


def _assert_failed_lasting(response, job_id: str, retries: int) -> None:
    """The answer of an execute that kept losing races: 200 ``failed``, never a 409."""
    assert response.status_code == 200, response.body
    assert _body(response) == {
        "_id": job_id,
        "status": "failed",
        "exceptionMessage": LASTING,
        "retries": retries,
    }


def test_a_conflict_that_never_clears_is_the_job_failure_not_a_409(client, container, always_loses):
    job_id = _add_job(container, "always-loses")
    response = _execute(client, job_id)
    _assert_failed_lasting(response, job_id, retries=2)
    assert not any(word in response.body.decode() for word in STORAGE_WORDS)
    # counted once, after RACE_SECONDS of tries (a conflict that never clears dead-letters)
    read = _body(client.http.get(f"{WF}/job/{job_id}", headers=ADMIN))
    assert read["retries"] == 2 and read["exceptionMessage"] == LASTING


def test_recording_the_lasting_conflict_retries_when_it_loses_too(
    client, container, always_loses, monkeypatch
):
    """The record of the failure loses a race of its own (another run saved the job): the job
    is read again and the failure recorded on the fresh copy, once; no 409."""
    job_id = _add_job(container, "always-loses")
    made = _record_after(monkeypatch, container, "bump")
    response = _execute(client, job_id)
    assert made == ["bump"]
    _assert_failed_lasting(response, job_id, retries=2)
    read = _body(client.http.get(f"{WF}/job/{job_id}", headers=ADMIN))
    assert read["retries"] == 2 and read["exceptionMessage"] == LASTING


def test_recording_the_lasting_conflict_answers_a_run_that_finished_the_job(
    client, container, always_loses, monkeypatch
):
    """While the failure is being recorded another run commits the job's work: the answer is
    that run's outcome (executed), nothing is recorded, no dead letter."""
    job_id = _add_job(container, "always-loses")
    made = _record_after(monkeypatch, container, "done")
    response = _execute(client, job_id)
    assert made == ["done"]
    assert response.status_code == 200, response.body
    assert _body(response) == {"_id": job_id, "status": "executed"}
    assert client.http.get(f"{WF}/job/{job_id}", headers=ADMIN).status_code == 404
    assert client.http.get(f"{WF}/job/deadletter/{job_id}", headers=ADMIN).status_code == 404


def test_a_record_that_never_lands_is_still_no_409(client, container, always_loses, monkeypatch):
    """Every record of the failure loses too: the answer is ``failed`` with the job's retries
    as stored (nothing counted, the job stays to run again), not a 409."""

    def loses(container, item, exc, **kwargs):
        raise ConcurrencyError(detail={"write": 0, "reason": "ConditionalCheckFailed"})

    monkeypatch.setattr(actions, "record_failure", loses)
    monkeypatch.setattr(actions, "RACE_PAUSE_SECONDS", 0.001)
    job_id = _add_job(container, "always-loses")
    response = _execute(client, job_id)
    _assert_failed_lasting(response, job_id, retries=3)
    assert _body(client.http.get(f"{WF}/job/{job_id}", headers=ADMIN))["retries"] == 3


def test_two_executes_of_one_job_at_once_both_answer_executed(client, container, monkeypatch):
    """Two real threads execute the same job at the same moment; its runner is slow enough
    that both hold the same version: one commits, the other loses the storage race, reads the
    job again and answers ``executed`` too. The work is committed once."""
    commits: list[str] = []
    barrier = threading.Barrier(2)

    def slow_done(container, item) -> None:
        time.sleep(0.1)  # both runs read the job before either commits
        container.store.transact([job_done_write(item)])
        commits.append(item.data["_id"])

    monkeypatch.setitem(RUNNERS, "slow-done", slow_done)
    job_id = _add_job(container, "slow-done")
    answers: list[tuple[int, dict]] = []

    def run() -> None:
        barrier.wait()
        response = _execute(client, job_id)
        answers.append((response.status_code, _body(response)))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [(200, {"_id": job_id, "status": "executed"})] * 2
    assert commits == [job_id]


def test_storage_conflicts_never_reach_a_response_body(client, container, monkeypatch):
    job_id = _add_job(container, "noop")

    def refuse(*args, **kwargs):
        raise ConcurrencyError(detail={"write": 0, "reason": "ConditionalCheckFailed"})

    monkeypatch.setattr(container.store, "transact", refuse)
    response = client.http.delete(f"{WF}/job/{job_id}", headers=ADMIN)
    assert response.status_code == 409
    text = response.body.decode()
    assert not any(word in text for word in STORAGE_WORDS), text
    assert _body(response) == {
        "code": 409,
        "reason": "Conflict",
        "message": "The resource was modified concurrently; retry the request",
    }


def test_a_job_failing_in_storage_reports_no_storage_words(client, container, monkeypatch):
    from chalicelib.storage.intent import TooLarge

    def too_large(container, item):
        raise TooLarge(
            "This request would write 130 items that must commit together; one transaction "
            "takes at most 100",
            {"limit": 100, "items": 130},
        )

    monkeypatch.setitem(RUNNERS, "too-large", too_large)
    job_id = _add_job(container, "too-large")
    outcome = _body(_execute(client, job_id))
    assert outcome["status"] == "failed" and outcome["exceptionMessage"] == (
        "This request makes 130 changes that must be saved together; at most 100 can be"
    )
    read = _body(client.http.get(f"{WF}/job/{job_id}", headers=ADMIN))
    assert not any(word in json.dumps(read) for word in STORAGE_WORDS)
    trace = _body(client.http.post(f"{WF}/job/{job_id}?_action=stacktrace", headers=JSON))
    assert "TooLarge" in trace["stacktrace"]  # the stack trace keeps the cause, as Flowable's
