"""``job/{id}?_action=execute`` while the worker runs the same job (DECISIONS.md): the explicit
execute answers the outcome of whichever run won, never a 409 asking to retry; and a 409 that
does reach a caller shows no storage words (moto, through the test client)."""

from __future__ import annotations

import json

import pytest

from chalicelib import ids
from chalicelib.errors import ConcurrencyError
from chalicelib.service.jobs import actions
from chalicelib.service.jobs.items import new_job
from chalicelib.service.jobs.runners import RUNNERS
from chalicelib.service.repositories.jobs import job_done_write
from chalicelib.storage.ports import Put, Table
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


def test_a_conflict_that_never_clears_is_the_job_failure_not_a_409(client, container, monkeypatch):
    def always_loses(container, item):
        raise ConcurrencyError(detail={"write": 0, "reason": "ConditionalCheckFailed"})

    monkeypatch.setitem(RUNNERS, "always-loses", always_loses)
    monkeypatch.setattr(actions, "RACE_SECONDS", 0.2)
    job_id = _add_job(container, "always-loses")
    response = _execute(client, job_id)
    assert response.status_code == 200, response.body
    assert _body(response) == {
        "_id": job_id,
        "status": "failed",
        "exceptionMessage": "The resource was modified concurrently; retry the request",
        "retries": 2,
    }
    assert not any(word in response.body.decode() for word in STORAGE_WORDS)
    # counted once, after RACE_SECONDS of tries (a conflict that never clears dead-letters)
    assert _body(client.http.get(f"{WF}/job/{job_id}", headers=ADMIN))["retries"] == 2


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
