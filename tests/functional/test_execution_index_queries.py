"""``execution`` pages cost the same number of DynamoDB requests at any data size.

Through HTTP over moto: a page of the listing is the 8 shard Queries of the execution listing
(``execution#n``: each item carries its header's fields); a subscription name is one
``event-sort`` Query plus one BatchGetItem of the subscribed executions; an instance, an
execution or a parent execution is one Query of the instance's item collection; a variable
comparison adds one BatchGetItem of the variable it names per read. The rows equal those of the
instance's own items (the key read).
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from chalicelib.service.repositories.instance_reads import execution_count
from tests.support.executions import WF, deploy, start, waiting_execution
from tests.support.instances import counted_query, query
from tests.support.rest import ADMIN


def get(client, params: str) -> dict:
    return query(client, f"{WF}/execution", params)


def counted(client, params: str) -> tuple[dict, dict]:
    return counted_query(client, f"{WF}/execution", params)


def start_many(container, world, first: int, last: int) -> None:
    for n in range(first, last):
        key = "msg" if n % 2 == 0 else "sig"
        world["instances"].append(
            start(container, world[key], {"amount": n, "who": f"w{n % 3}"}, f"bk-{n}")
        )
        container.clock.advance(seconds=1)


@pytest.fixture
def world(container):
    return {
        "msg": deploy(container, "msgwait"),
        "sig": deploy(container, "sigwait"),
        "instances": [],
    }


def measured(world) -> dict[str, tuple[str, dict]]:
    """The measured queries and their DynamoDB requests at any size."""
    first = world["instances"][0]
    child = world["child"]
    listing = {"Query": 8}
    return {
        "page of 10": ("_queryFilter=true&_pageSize=10", listing),
        "query-all-ids page": ("_queryId=query-all-ids&_pageSize=10", listing),
        "process variable": (
            "_queryId=filtered-query&processVariableName=amount&processVariableValue=0"
            "&processVariableValueType=long&processVariableOperator=greaterThanOrEqual"
            "&_pageSize=10",
            {"Query": 8, "BatchGetItem": 1},
        ),
        "message name": (
            "_queryId=filtered-query&messageName=go&_pageSize=10",
            {"Query": 1, "BatchGetItem": 1},
        ),
        "signal name": (
            "_queryId=filtered-query&signalName=alert&_pageSize=10",
            {"Query": 1, "BatchGetItem": 1},
        ),
        "message name + process variable": (
            "_queryId=filtered-query&messageName=go&processVariableName=amount"
            "&processVariableValue=0&processVariableValueType=long"
            "&processVariableOperator=greaterThanOrEqual&_pageSize=10",
            {"Query": 1, "BatchGetItem": 2},
        ),
        "processInstanceId": (f"_queryId=filtered-query&processInstanceId={first}", {"Query": 1}),
        "executionId": (f"_queryId=filtered-query&executionId={child}", {"Query": 1}),
        "executionParentId": (f"_queryId=filtered-query&executionParentId={first}", {"Query": 1}),
        "_id eq": ("_queryFilter=" + quote(f'_id eq "{child}"'), {"Query": 1}),
        "processInstanceId eq": (
            "_queryFilter=" + quote(f'processInstanceId eq "{first}"'),
            {"Query": 1},
        ),
    }


def test_request_counts_do_not_grow_with_the_running_instances(client, container, world):
    start_many(container, world, 0, 8)
    world["child"] = waiting_execution(container, world["instances"][0])
    get(client, "_queryFilter=true")  # definition names cached, as in a warm container
    small = {name: counted(client, params) for name, (params, _) in measured(world).items()}
    start_many(container, world, 8, 40)
    large = {name: counted(client, params) for name, (params, _) in measured(world).items()}
    for name, (_, cost) in measured(world).items():
        assert small[name][1] == large[name][1] == cost, name
    assert len(large["page of 10"][0]["result"]) == 10
    assert len(large["message name"][0]["result"]) == 10
    assert {i["activityId"] for i in large["signal name"][0]["result"]} == {"c"}
    assert len(large["message name + process variable"][0]["result"]) == 10
    assert [i["_id"] for i in large["executionId"][0]["result"]] == [world["child"]]
    assert [i["_id"] for i in large["executionParentId"][0]["result"]] == [world["child"]]
    assert len(large["process variable"][0]["result"]) == 10


def test_instance_attribute_equality_reads_the_lookup_index(client, container, world):
    """Business key, definition key and id, start user: one ``lookup-sort`` Query per fetch and
    one Query per instance it lists (at most 10 per fetch), whatever the number of instances."""
    start_many(container, world, 0, 40)
    get(client, "_queryFilter=true")
    expected = {
        "_queryId=filtered-query&processInstanceBusinessKey=bk-3": ({"Query": 2}, 2),
        "_queryFilter=" + quote('businessKey eq "bk-4"'): ({"Query": 2}, 2),
        "_queryId=filtered-query&processDefinitionKey=msgwait&_pageSize=10": ({"Query": 7}, 10),
        f"_queryId=filtered-query&processDefinitionId={world['sig']}&_pageSize=10": (
            {"Query": 7},
            10,
        ),
        "_queryFilter=" + quote('processDefinitionKey eq "sigwait"') + "&_pageSize=10": (
            {"Query": 7},
            10,
        ),
        "_queryId=filtered-query&startedBy=nobody": ({"Query": 1}, 0),
    }
    for params, (cost, results) in expected.items():
        data, counts = counted(client, params)
        assert (counts, len(data["result"])) == (cost, results), params
    keyed = get(client, "_queryId=filtered-query&processDefinitionKey=msgwait")["result"]
    walked = get(client, "_queryFilter=" + quote('processDefinitionKey eq "msgwait" or false'))
    assert keyed == walked["result"] and len(keyed) == 40


def test_a_filter_no_index_serves_reads_the_listing_within_the_budget(client, container, world):
    """Half of the rows match: the Pager reads the listing again (8 shard Queries per read, as
    few as the shards left) as often as the matches per item read need; not per instance."""
    start_many(container, world, 0, 40)
    get(client, "_queryFilter=true")
    data, cost = counted(client, "_queryFilter=" + quote('activityId eq "c"') + "&_pageSize=10")
    assert set(cost) == {"Query"} and cost["Query"] <= 24, cost
    assert len(data["result"]) == 10


def test_listed_rows_equal_the_rows_of_the_instance_items(client, container, world):
    start_many(container, world, 0, 6)
    listed = get(client, "_queryFilter=true")["result"]
    assert len(listed) == 12  # a root and a waiting child each
    by_key = [
        row
        for instance in world["instances"]
        for row in get(client, f"_queryId=filtered-query&processInstanceId={instance}")["result"]
    ]
    assert listed == by_key  # in instance start order, then execution id
    assert {row["businessKey"] for row in listed} == {f"bk-{n}" for n in range(6)}
    subscribed = get(client, "_queryId=filtered-query&messageName=go")["result"]
    assert subscribed == [
        row
        for row in listed
        if row["processDefinitionKey"] == "msgwait" and row["activityId"] == "c"
    ]


def test_paging_by_cookie_across_shards_has_no_skip_or_duplicate(client, container, world):
    start_many(container, world, 0, 17)
    everything = [row["_id"] for row in get(client, "_queryFilter=true")["result"]]
    assert len(everything) == 34
    for params in ("_queryFilter=true", "_queryId=filtered-query&messageName=go"):
        seen: list[str] = []
        cookie = None
        while True:
            url = f"{params}&_pageSize=4" + (f"&_pagedResultsCookie={cookie}" if cookie else "")
            data, cost = counted(client, url)
            # at most two rounds of the 8 shard Queries: a shard whose last page ended exactly
            # at its share says it has more, and only a second Query finds it has not (which
            # shards those are depends on the random ids, so the first round is not always all)
            assert sum(cost.values()) <= 2 * 8, cost
            seen += [row["_id"] for row in data["result"]]
            cookie = data["pagedResultsCookie"]
            if cookie is None:
                break
        assert len(seen) == len(set(seen))
        if params == "_queryFilter=true":
            assert seen == everything
        else:
            assert len(seen) == 9  # the waiting children of the 9 msgwait instances
    offset = get(client, "_queryFilter=true&_pageSize=5&_pagedResultsOffset=10")["result"]
    assert [row["_id"] for row in offset] == everything[10:15]


def test_a_variable_comparison_reads_only_the_named_variables(client, container, world):
    start_many(container, world, 0, 12)
    found = get(
        client,
        "_queryId=filtered-query&processVariableName=who&processVariableValue=w1",
    )["result"]
    assert {row["businessKey"] for row in found} == {f"bk-{n}" for n in range(12) if n % 3 == 1}
    assert len(found) == 8  # both executions of each
    root_only = get(
        client,
        "_queryId=filtered-query&variableName=who&variableValue=w1",  # local to the root
    )["result"]
    assert {row["_id"] for row in root_only} == {row["processInstanceId"] for row in found}


def test_the_count_follows_starts_and_ends(client, container, world):
    from tests.support.executions import post

    start_many(container, world, 0, 4)
    assert execution_count(container.store) == 8 == len(get(client, "_queryFilter=true")["result"])
    status, body = post(client, "signal", {"signalName": "alert", "processVariables": {}})
    assert status == 200, body
    # the signalled instances moved on to their user task: still one child each
    assert execution_count(container.store) == 8
    for instance in world["instances"][:2]:
        response = client.http.delete(f"{WF}/processinstance/{instance}", headers=ADMIN)
        assert response.status_code == 200, json.loads(response.body)
    assert execution_count(container.store) == 4 == len(get(client, "_queryFilter=true")["result"])


def test_exact_total_of_every_execution_is_the_maintained_count(client, container, world):
    start_many(container, world, 0, 30)
    for params in ("_queryFilter=true", "_queryId=query-all-ids", "_queryId=filtered-query"):
        data, cost = counted(client, f"{params}&_pageSize=10&_totalPagedResultsPolicy=EXACT")
        assert data["totalPagedResults"] == 60 and len(data["result"]) == 10, params
        assert cost == {"Query": 8 + 1}, params  # the page, and the counter's collection
    # a filter: counted within the read budget (all 30 msgwait executions fit it)
    data = get(
        client,
        "_queryId=filtered-query&processDefinitionKey=msgwait&_pageSize=10"
        "&_totalPagedResultsPolicy=EXACT",
    )
    assert data["totalPagedResults"] == 30
