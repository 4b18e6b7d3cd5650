"""``taskinstance/history``'s ``finished=true`` / ``unfinished=true`` are served from the
historic tasks' sharded state partitions (``htask-state=<state>#n`` of ``lookup-sort``), and
their ``_totalPagedResultsPolicy=EXACT`` from the partitions' maintained counts.

Through HTTP over moto: the answers equal the walk of the ``htask`` listing, the requests do
not grow with the number of tasks, and the counts follow creation, completion and the history
delete."""

from __future__ import annotations

from urllib.parse import quote

from chalicelib import aws
from chalicelib.service.repositories.history_index import task_state_count
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


def walked(client, finished: bool) -> list[str]:
    """The ids of the historic tasks of one state, as the walk of the listing finds them."""
    term = quote("(true) or (true)")
    found = query(client, TASKS, f"_queryFilter={term}")["result"]
    return sorted(t["_id"] for t in found if (t.get("endTime") is not None) == finished)


def served(client, state: str, extra: str = "") -> dict:
    return query(client, TASKS, f"_queryId=filtered-query&{state}=true{extra}")


def test_answers_and_counts_follow_create_complete_and_delete(client, container):
    store = container.store
    deploy(container, "alpha", name="Alpha")
    started = start_alphas(client, container, 0, 5)
    complete_task_of(client, started[0])
    complete_task_of(client, started[1])
    for finished, state in ((True, "finished"), (False, "unfinished")):
        ids = walked(client, finished)
        assert sorted(t["_id"] for t in served(client, state)["result"]) == ids
        assert task_state_count(store, finished) == len(ids)
    assert (task_state_count(store, True), task_state_count(store, False)) == (2, 3)
    expect(client.http.delete(f"{PROCESSES}/history/{started[0]}", headers=ADMIN), 200)
    assert (task_state_count(store, True), task_state_count(store, False)) == (1, 3)
    assert len(walked(client, True)) == 1
    # a cancelled instance's task ends
    expect(client.http.delete(f"{PROCESSES}/{started[2]}", headers=ADMIN), 200)
    assert (task_state_count(store, True), task_state_count(store, False)) == (2, 2)
    assert walked(client, True) == sorted(t["_id"] for t in served(client, "finished")["result"])
    assert walked(client, False) == sorted(t["_id"] for t in served(client, "unfinished")["result"])


def test_requests_do_not_grow_and_exact_costs_the_counter_query(client, container):
    deploy(container, "alpha", name="Alpha")
    costs = []
    for first, last in ((0, 4), (4, 24)):
        started = start_alphas(client, container, first, last)
        complete_task_of(client, started[0])
        complete_task_of(client, started[1])
        for finished, state in ((True, "finished"), (False, "unfinished")):
            params = f"_queryId=filtered-query&{state}=true&_pageSize=2"
            page, plain = counted_query(client, TASKS, params)
            data, counts = counted_query(client, TASKS, params + "&_totalPagedResultsPolicy=EXACT")
            assert data["result"] == page["result"]
            assert len(page["result"]) == 2
            assert data["totalPagedResults"] == len(walked(client, finished))
            assert counts["Query"] == plain["Query"] + 1, counts
            costs.append((plain, counts))
    assert costs[:2] == costs[2:]


def test_the_counts_cost_one_query(client, container):
    deploy(container, "alpha", name="Alpha")
    start_alphas(client, container, 0, 2)
    with aws.counting() as counter:
        task_state_count(container.store, False)
    assert counter.total("dynamodb") == 1
