"""`service/jobs/engine_effects`: the engine's job effects become job items in the command's
transaction; completing the task a boundary timer is attached to deletes the timer's job.

Memory store and publisher. Timer and async jobs through the routes, the SQS queue and the
worker over moto: ``tests/functional/test_engine_jobs.py``.
"""

from __future__ import annotations

from chalicelib.service import unit_of_work as instances
from chalicelib.storage.ports import Table
from tests.support.jobs import TIMER, deploy_and_start


def test_completing_the_task_cancels_the_timer_job(container):
    from chalicelib.engine.runtime import CompleteTask

    instance = deploy_and_start(container, TIMER, "escalate")
    task_id = next(iter(instances.load_instance(container, instance).tasks))
    instances.run_command(
        container, lambda uow: (uow.load(instance), CompleteTask(task_id, {}, "admin"))[1]
    )
    assert container.store.query(Table.RUNTIME, instance, sk_prefix="job#").items == []
