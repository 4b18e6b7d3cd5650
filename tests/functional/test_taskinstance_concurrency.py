"""Racing task commands through the service over moto: one winner, the rest 409 or 404."""

from __future__ import annotations

import threading

from chalicelib import aws
from chalicelib.errors import Conflict, NotFound
from chalicelib.service import unit_of_work as instances
from chalicelib.service.tasks import commands as tasks
from tests.support.tasks import deploy_onboard, start


def _race(action, count: int = 10) -> list[str]:
    outcomes: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(count)

    def run(index: int) -> None:
        barrier.wait()
        try:
            action(index)
            outcome = "ok"
        except Conflict:
            outcome = "409"
        except NotFound:
            outcome = "404"
        except Exception as exc:  # anything else is a bug the assertion will show
            outcome = repr(exc)
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_ten_parallel_completes_one_succeeds(container):
    instance_id, task_id = start(container, deploy_onboard(container), who="ann")
    outcomes = _race(
        lambda i: tasks.complete_task(
            container,
            task_id,
            {"decision": "accept", "by": i},
            authorize=lambda subject: None,
            user_id="admin",
        )
    )
    assert outcomes.count("ok") == 1 and set(outcomes) <= {"ok", "409", "404"}, outcomes
    state = instances.load_instance(container, instance_id)
    assert [t.task_definition_key for t in state.tasks.values()] == ["welcome"]


def test_ten_parallel_claims_one_user_wins(container):
    instance_id, task_id = start(container, deploy_onboard(container), who="ann")
    outcomes = _race(
        lambda i: tasks.claim_task(
            container,
            task_id,
            {"userId": f"user{i}"},
            authorize=lambda subject: None,
            user_id="admin",
        )
    )
    assert outcomes.count("ok") == 1 and set(outcomes) <= {"ok", "409"}, outcomes
    [task] = instances.load_instance(container, instance_id).tasks.values()
    assert task.assignee.startswith("user") and task.revision == 2


def test_request_costs(container):
    """DynamoDB requests per task command: one Query and one transaction."""
    _, task_id = start(container, deploy_onboard(container), who="ann")
    allow = {"authorize": lambda subject: None}
    with aws.counting() as counter:
        tasks.read_task(container, task_id, **allow)
    assert counter.counts["dynamodb"] == {"Query": 1}
    with aws.counting() as counter:
        tasks.update_task(container, task_id, {"name": "x"}, if_match=None, user_id="a", **allow)
    assert counter.counts["dynamodb"] == {"Query": 1, "TransactWriteItems": 1}
    with aws.counting() as counter:
        tasks.claim_task(container, task_id, {"userId": "bob"}, user_id="a", **allow)
    assert counter.counts["dynamodb"] == {"Query": 1, "TransactWriteItems": 1}
    with aws.counting() as counter:
        tasks.complete_task(container, task_id, {"decision": "reject"}, user_id="a", **allow)
    assert counter.counts["dynamodb"] == {"Query": 1, "TransactWriteItems": 1}
    with aws.counting() as counter:
        tasks.read_history_task(container, task_id)
    assert counter.counts["dynamodb"] == {"GetItem": 1}
