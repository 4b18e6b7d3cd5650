"""``taskinstance/history``'s ``_totalPagedResultsPolicy=EXACT`` over every historic task comes
from a maintained count (``history_index.task_count``): one counter Query at any size.

Through HTTP over moto: the count follows task creation (+1), completion (unchanged: the
task's historic item is rewritten) and the history delete of an instance (-its tasks), and
equals what the walk of the ``htask`` listing finds.
"""

from __future__ import annotations

from urllib.parse import quote

from chalicelib import aws
from chalicelib.service.repositories.history_index import task_count
from tests.support.instances import (
    complete_task_of,
    counted_query,
    deploy,
    query,
    start_alphas,
)
from tests.support.rest import ADMIN, WF, expect

TASKS = f"{WF}/taskinstance/history"
PROCESSES = f"{WF}/processinstance"


def walked(client) -> int:
    """The historic tasks, as the walk of the listing finds them (a filter no count serves)."""
    term = quote("(true) or (true)")
    return len(query(client, TASKS, f"_queryFilter={term}")["result"])


def test_the_count_follows_create_complete_and_delete(client, container):
    store = container.store
    deploy(container, "alpha", name="Alpha")
    started = start_alphas(client, container, 0, 6)
    assert task_count(store) == walked(client) == 6
    complete_task_of(client, started[0])  # the instance ends: no task more
    complete_task_of(client, started[1])
    assert task_count(store) == walked(client) == 6
    # the history delete of an ended instance deletes its task
    expect(client.http.delete(f"{PROCESSES}/history/{started[0]}", headers=ADMIN), 200)
    assert task_count(store) == walked(client) == 5
    # a cancelled instance's task ends (deleted with a reason): still one historic task
    expect(client.http.delete(f"{PROCESSES}/{started[2]}", headers=ADMIN), 200)
    assert task_count(store) == walked(client) == 5
    with aws.counting() as counter:
        task_count(store)
    assert counter.total("dynamodb") == 1


def test_exact_costs_one_counter_query_at_any_size(client, container):
    deploy(container, "alpha", name="Alpha")
    params = "_queryFilter=true&_pageSize=2"
    costs = []
    for first, last in ((0, 4), (4, 20)):
        start_alphas(client, container, first, last)
        page, plain = counted_query(client, TASKS, params)
        data, counts = counted_query(client, TASKS, params + "&_totalPagedResultsPolicy=EXACT")
        assert data["result"] == page["result"]
        assert data["totalPagedResults"] == walked(client) == last
        assert counts["Query"] == plain["Query"] + 1, counts
        costs.append(counts)
    assert costs[0] == costs[1]
    fq, _ = counted_query(client, TASKS, "_queryId=filtered-query&_totalPagedResultsPolicy=EXACT")
    assert fq["totalPagedResults"] == 20


def test_exact_with_a_filter_is_not_the_count(client, container):
    deploy(container, "alpha", name="Alpha")
    started = start_alphas(client, container, 0, 3)
    complete_task_of(client, started[0])
    data = query(
        client, TASKS, "_queryId=filtered-query&finished=true&_totalPagedResultsPolicy=EXACT"
    )
    assert data["totalPagedResults"] == 1
