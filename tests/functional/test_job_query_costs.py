"""A filtered page of jobs costs the same at any size.

``processDefinitionId`` reads the definition's ``lookup-sort`` partition (one Query).
``timersOnly``, ``messagesOnly`` and ``withException`` are served by no key: the listing is read
within the query read budget, in reads of at least ``FILTERED_BATCH`` items
(``QuerySource.batch``), so a filter that a fair share of the jobs match fills a page of 10
with one read of the 8 shards (24 requests before, in reads growing from the page's 11).
Jobs written before the definition partition join it through the backfill.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from urllib.parse import quote

import pytest

from chalicelib import ids
from chalicelib.service.jobs.backfill import backfill_jobs
from chalicelib.service.jobs.items import new_job
from chalicelib.service.repositories.jobs import job_listing
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
    ("params", "wanted", "cost"),
    [
        ("timersOnly=true", lambda job: job["jobType"] == "timer", {"Query": 8}),
        (
            "processDefinitionId=two:1:x",
            lambda job: job["processDefinitionId"] == "two:1:x",
            {"Query": 1},
        ),
        (
            "messagesOnly=true&processDefinitionId=one:1:x",
            lambda job: job["jobType"] == "message" and job["processDefinitionId"] == "one:1:x",
            {"Query": 1},
        ),
        (
            "messagesOnly=true",
            lambda job: job["jobType"] == "message",
            {"Query": 8},
        ),
    ],
)
def test_a_filtered_page_costs_the_same_at_any_size(client, container, params, wanted, cost):
    for first, last in ((0, 60), (60, 400)):
        add_jobs(container, first, last)
        query = f"_queryId=filtered-query&{params}&_pageSize=10"
        data, counts = counted_query(client, JOBS, query)
        assert counts == cost, counts
        everything, _ = counted_query(client, JOBS, "_queryFilter=true&_pageSize=1000")
        expected = [job["_id"] for job in everything["result"] if wanted(job)][:10]
        assert [job["_id"] for job in data["result"]] == expected
        assert len(expected) == 10


def test_definition_filter_as_query_filter_and_by_cookie(client, container):
    add_jobs(container, 0, 50)
    everything, _ = counted_query(client, JOBS, "_queryFilter=true&_pageSize=1000")
    expected = [j["_id"] for j in everything["result"] if j["processDefinitionId"] == "one:1:x"]
    found: list[str] = []
    query = "_queryFilter=" + quote('processDefinitionId eq "one:1:x"') + "&_pageSize=7"
    more = ""
    while True:
        data, counts = counted_query(client, JOBS, query + more)
        assert counts == {"Query": 1}, counts
        found += [job["_id"] for job in data["result"]]
        if not data.get("pagedResultsCookie"):
            break
        more = "&_pagedResultsCookie=" + data["pagedResultsCookie"]
    assert found == expected


def test_backfill_lists_jobs_written_before_the_definition_partition(client, container):
    add_jobs(container, 0, 12)
    listed = job_listing(container.store, limit=100).items
    for item in listed:  # as written before definition_index
        index = {k: v for k, v in item.index.items() if k != "lookup"}
        container.store.batch_put(Table.RUNTIME, [dataclasses.replace(item, index=index)])
    query = "_queryId=filtered-query&processDefinitionId=one:1:x"
    assert counted_query(client, JOBS, query)[0]["result"] == []
    assert backfill_jobs(container.store, dry_run=True) == 12
    assert backfill_jobs(container.store) == 12
    assert backfill_jobs(container.store) == 0
    assert len(counted_query(client, JOBS, query)[0]["result"]) == 6
    # the rewrite keeps the job's version: a runner that read it still commits
    assert {i.version for i in job_listing(container.store, limit=100).items} == {
        i.version for i in listed
    }
