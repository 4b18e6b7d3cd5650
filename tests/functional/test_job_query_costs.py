"""A filtered page of the job listing costs one read of its 8 shards at any size.

``timersOnly``, ``processDefinitionId`` and ``withException`` are served by no key: the listing
is read within the query read budget, in reads of at least ``FILTERED_BATCH`` items
(``QuerySource.batch``), so a filter that a fair share of the jobs match fills a page of 10
with one read of the 8 shards (24 requests before, in reads growing from the page's 11).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib import ids
from chalicelib.service.jobs.items import new_job
from chalicelib.storage.ports import Table
from tests.support.instances import counted_query
from tests.support.rest import WF

JOBS = f"{WF}/job"


def add_jobs(container, first: int, last: int) -> None:
    """Jobs of their own instance: timers and async continuations alternately, of two
    definitions in turn of four."""
    now = container.clock.now()
    items = []
    for number in range(first, last):
        created = now + timedelta(minutes=number)
        instance = ids.new_id(int(created.timestamp() * 1000))
        items.append(
            new_job(
                job_id=ids.child_id(instance),
                handler_type="trigger-timer" if number % 2 == 0 else "async-continuation",
                created=created,
                due=created + timedelta(days=60),
                instance_id=instance,
                execution_id=instance,
                definition_id="one:1:x" if number % 4 < 2 else "two:1:x",
                timer=number % 2 == 0,
            )
        )
    container.store.batch_put(Table.RUNTIME, items)


@pytest.mark.parametrize(
    ("params", "wanted"),
    [
        ("timersOnly=true", lambda job: job["jobType"] == "timer"),
        ("processDefinitionId=two:1:x", lambda job: job["processDefinitionId"] == "two:1:x"),
        (
            "messagesOnly=true&processDefinitionId=one:1:x",
            lambda job: job["jobType"] == "message" and job["processDefinitionId"] == "one:1:x",
        ),
    ],
)
def test_a_filtered_page_is_one_read_of_the_shards(client, container, params, wanted):
    for first, last in ((0, 60), (60, 400)):
        add_jobs(container, first, last)
        query = f"_queryId=filtered-query&{params}&_pageSize=10"
        data, counts = counted_query(client, JOBS, query)
        assert counts == {"Query": 8}, counts
        everything, _ = counted_query(client, JOBS, "_queryFilter=true&_pageSize=1000")
        expected = [job["_id"] for job in everything["result"] if wanted(job)][:10]
        assert [job["_id"] for job in data["result"]] == expected
        assert len(expected) == 10
