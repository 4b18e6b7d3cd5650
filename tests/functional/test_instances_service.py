"""The instance unit of work over moto, what is DynamoDB's own: the requests a start and a
complete cost, and ten threads completing one task at once through the moto lock (one wins).

The unit of work's behaviour on the memory store: ``tests/unit/service/test_unit_of_work.py``.
"""

from __future__ import annotations

import threading

import pytest

from chalicelib import aws
from chalicelib.engine.runtime import CompleteTask
from chalicelib.errors import ConcurrencyError
from chalicelib.service import unit_of_work as instances
from tests.support.review import deploy_review, start


@pytest.fixture
def definition_id(container):
    return deploy_review(container)


def test_start_costs_one_write_and_complete_two_requests(container, definition_id):
    definitions_warm = start(container, definition_id)  # warms the definition cache
    task_id = next(iter(definitions_warm.state.tasks))
    with aws.counting() as counter:
        start(container, definition_id)
    assert counter.counts["dynamodb"] == {"TransactWriteItems": 1}, counter.counts
    with aws.counting() as counter:
        instances.run_command(
            container,
            lambda uow: (
                uow.load(definitions_warm.instance_id),
                CompleteTask(task_id, {}, "alice"),
            )[1],
        )
    assert counter.counts["dynamodb"] == {"Query": 1, "TransactWriteItems": 1}


def test_concurrent_completes_succeed_once(container, definition_id):
    started = start(container, definition_id)
    task_id = next(iter(started.state.tasks))
    outcomes: list[str] = []
    lock = threading.Lock()

    def complete() -> None:
        try:
            instances.run_command(
                container,
                lambda uow: (uow.load(started.instance_id), CompleteTask(task_id, {}, "alice"))[1],
                attempts=1,
            )
            outcome = "ok"
        except ConcurrencyError:
            outcome = "conflict"
        except Exception as exc:  # the task is gone once the winner committed
            outcome = type(exc).__name__
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=complete) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") == 1, outcomes
