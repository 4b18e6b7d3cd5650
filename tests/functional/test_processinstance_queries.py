"""``processinstance`` and ``processinstance/history`` queries, and ``running_instances``."""

from __future__ import annotations

import pytest

from chalicelib import aws
from chalicelib.service.definitions import deploy as deployments
from tests.support.instances import QUICK, deploy, start
from tests.support.rest import ADMIN, WF, expect

ITEM_KEYS = {
    "_id",
    "processInstanceId",
    "processDefinitionId",
    "processDefinitionKey",
    "processDefinitionResourceName",
    "businessKey",
    "startUserId",
    "startTime",
    "endTime",
    "durationInMillis",
    "startActivityId",
    "endActivityId",
    "deleteReason",
    "superProcessInstanceId",
    "tenantId",
    "processVariables",
}


def query(client, params: str, history: bool = False, code: int = 200) -> dict:
    path = "processinstance/history" if history else "processinstance"
    return expect(client.http.get(f"{WF}/{path}?{params}", headers=ADMIN), code)


def ids(data: dict) -> list[str]:
    return [item["_id"] for item in data["result"]]


@pytest.fixture
def world(client, container):
    """Three running instances (two definitions, a minute apart) and one that ended."""
    first = deploy(container, "alpha", name="Alpha")
    deploy(container, "beta", name="Beta")
    deploy(container, "quick", bpmn=QUICK)
    made = {}
    for name, payload in [
        ("a1", {"_key": "alpha", "_businessKey": "b-1", "color": "red", "n": 5, "ok": True}),
        ("a2", {"_key": "alpha", "color": "blue"}),
        ("b1", {"_key": "beta", "_businessKey": "b-3", "color": "red"}),
        ("q", {"_key": "quick"}),
    ]:
        made[name] = expect(start(client, payload), 201)["_id"]
        container.clock.advance(minutes=1)
    made["alphaDefinition"] = first
    return made


def test_query_filter_true_lists_running_items_in_start_order(client, world):
    data = query(client, "_queryFilter=true")
    assert ids(data) == [world["a1"], world["a2"], world["b1"]]
    item = data["result"][0]
    assert set(item) == ITEM_KEYS
    assert item["processDefinitionResourceName"] == "Alpha" and item["businessKey"] == "b-1"
    assert item["startUserId"] == "openidm-admin" and item["startTime"].endswith("Z")
    assert item["processVariables"]["color"] == "red" and item["tenantId"] == ""
    assert query(client, "_queryId=query-all-ids")["result"] == [
        {"_id": world[name]} for name in ("a1", "a2", "b1")
    ]


def test_any_query_filter(client, world):
    assert ids(query(client, '_queryFilter=processVariables/color eq "red"')) == [
        world["a1"],
        world["b1"],
    ]
    assert ids(
        query(
            client, '_queryFilter=businessKey sw "b-" and processDefinitionResourceName eq "Beta"'
        )
    ) == [world["b1"]]
    assert ids(query(client, f'_queryFilter=_id eq "{world["a2"]}"')) == [world["a2"]]
    query(client, "_queryFilter=bogus((", code=400)


@pytest.mark.parametrize(
    "params, expected",
    [
        ("processDefinitionKey=alpha", ["a1", "a2"]),
        ("processDefinitionId={alphaDefinition}", ["a1", "a2"]),
        ("processInstanceBusinessKey=b-3", ["b1"]),
        ("processInstanceId={a2}", ["a2"]),
        ("startUserId=openidm-admin", ["a1", "a2", "b1"]),
        ("startUserId=bob", []),
        ("involvedUserId=openidm-admin", ["a1", "a2", "b1"]),
        ("superProcessInstanceId=nosuch", []),
        ("unfinished=true", ["a1", "a2", "b1"]),
        ("finished=true", []),
        ("var-color=red", ["a1", "b1"]),
        ("var-n=5&var-ok=true", ["a1"]),
        ("var-n=6", []),
        ("startedAfter=2026-01-01T00:01:00Z", ["a2", "b1"]),
        ("startedBefore=2026-01-01T00:01:00.000%2B00:00", ["a1", "a2"]),
        ("startedAfter=2026-01-01&startedBefore=2026-01-01T00:00:30Z", ["a1"]),
        ("unknownParameter=1", ["a1", "a2", "b1"]),
    ],
)
def test_filtered_query_parameters(client, world, params, expected):
    data = query(client, "_queryId=filtered-query&" + params.format(**world))
    assert ids(data) == [world[name] for name in expected]


@pytest.mark.parametrize(
    "name", ["startedAfter", "startedBefore", "finishedAfter", "finishedBefore"]
)
def test_unparseable_date_is_400_naming_it(client, world, name):
    data = query(client, f"_queryId=filtered-query&{name}=yesterday", code=400)
    assert name in data["message"]


def test_unknown_query_id_is_400(client, world):
    query(client, "_queryId=nosuch", code=400)


def test_sort_keys_paging_and_bad_key(client, world):
    data = query(client, "_queryFilter=true&_sortKeys=-startTime")
    assert ids(data) == [world["b1"], world["a2"], world["a1"]]
    data = query(client, "_queryFilter=true&_sortKeys=-processInstanceBusinessKey")
    assert ids(data) == [world["b1"], world["a1"], world["a2"]]
    data = query(client, "_queryFilter=true&_sortKeys=processDefinitionResourceName,-startTime")
    assert ids(data) == [world["a2"], world["a1"], world["b1"]]
    query(client, "_queryFilter=true&_sortKeys=nosuch", code=400)
    first = query(client, "_queryFilter=true&_pageSize=2")
    assert ids(first) == [world["a1"], world["a2"]] and first["pagedResultsCookie"]
    second = query(
        client, f"_queryFilter=true&_pageSize=2&_pagedResultsCookie={first['pagedResultsCookie']}"
    )
    assert ids(second) == [world["b1"]] and second["pagedResultsCookie"] is None
    counted = query(client, "_queryFilter=true&_pageSize=1&_totalPagedResultsPolicy=EXACT")
    assert counted["totalPagedResults"] == 3


def test_fields_and_query_all_ids_skip_variable_reads(client, world):
    with aws.counting() as counter:
        query(client, "_queryId=query-all-ids")
    assert "Query" in counter.counts["dynamodb"]
    all_ids_queries = counter.counts["dynamodb"]["Query"]
    with aws.counting() as counter:
        data = query(client, "_queryId=filtered-query&_fields=businessKey")
    assert counter.counts["dynamodb"]["Query"] == all_ids_queries  # the 8 shards, nothing more
    assert data["result"][0] == {"_id": world["a1"], "businessKey": "b-1"}
    with aws.counting() as counter:
        data = query(client, "_queryFilter=true")
    # the headers carry the instance-scope variables: no Query per instance any more
    assert counter.counts["dynamodb"] == {"Query": all_ids_queries}
    single = query(client, f'_queryFilter=_id eq "{world["a1"]}"')  # reads the instance
    assert data["result"][0] == single["result"][0]
    assert data["result"][0]["processVariables"]["color"] == "red"


def test_instance_id_equality_reads_one_instance(client, world):
    with aws.counting() as counter:
        data = query(client, f'_queryFilter=processInstanceId eq "{world["b1"]}"')
    assert ids(data) == [world["b1"]] and data["result"][0]["processVariables"]["color"] == "red"
    assert counter.counts["dynamodb"] == {"Query": 1}


def test_deleted_instance_leaves_the_running_listing(client, world):
    expect(client.http.delete(f"{WF}/processinstance/{world['a2']}", headers=ADMIN), 200)
    assert ids(query(client, "_queryFilter=true")) == [world["a1"], world["b1"]]


# --- history ---------------------------------------------------------------------------------


def test_history_lists_finished_and_running(client, world):
    data = query(client, "_queryFilter=true", history=True)
    assert ids(data) == [world[n] for n in ("a1", "a2", "b1", "q")]
    assert set(data["result"][0]) == ITEM_KEYS
    finished = query(client, "_queryId=filtered-query&finished=true", history=True)
    assert ids(finished) == [world["q"]]
    assert finished["result"][0]["processDefinitionResourceName"] == "Quick"
    assert finished["result"][0]["durationInMillis"] == 0
    unfinished = query(client, "_queryId=filtered-query&unfinished=true", history=True)
    assert ids(unfinished) == [world[n] for n in ("a1", "a2", "b1")]
    assert ids(query(client, "_queryId=filtered-query&var-color=blue", history=True)) == [
        world["a2"]
    ]
    assert ids(query(client, "_queryId=filtered-query&finishedAfter=2026-01-01", history=True)) == [
        world["q"]
    ]
    assert ids(
        query(client, "_queryFilter=true&_sortKeys=-startTime&_pageSize=1", history=True)
    ) == [world["q"]]
    assert query(client, "_queryId=query-all-ids", history=True)["result"][3] == {"_id": world["q"]}


def test_history_of_a_deleted_instance_is_finished(client, world):
    expect(client.http.delete(f"{WF}/processinstance/{world['b1']}", headers=ADMIN), 200)
    finished = query(client, "_queryId=filtered-query&finished=true", history=True)
    assert ids(finished) == [world["b1"], world["q"]]
    assert finished["result"][0]["deleteReason"] == "Deleted by openidm-admin"


# --- running instances and definition delete -------------------------------------------------


def test_running_instances_counts_per_definition(client, container, world):
    alpha = world["alphaDefinition"]
    assert deployments.running_instances(container, alpha) == 2
    expect(client.http.delete(f"{WF}/processinstance/{world['a1']}", headers=ADMIN), 200)
    assert deployments.running_instances(container, alpha) == 1


def test_any_running_is_one_small_index_query_per_definition(client, container, world):
    """``any_running`` reads the ``lookup-sort`` partition of each definition id (one Query of
    one item), stopping at the first that shows one; counting reads the partition's counter."""
    alpha = world["alphaDefinition"]
    beta = expect(client.http.get(f"{WF}/processinstance/{world['b1']}", headers=ADMIN), 200)[
        "processDefinitionId"
    ]

    def requests(check) -> tuple[object, int]:
        with aws.counting() as counter:
            answer = check()
        return answer, counter.total()

    counted, whole = requests(lambda: deployments.running_instances(container, alpha))
    found, early = requests(lambda: deployments.any_running(container, {alpha}))
    assert counted == 2 and found is True and early == 1 and whole == 1
    # nothing of these runs: one Query per definition id, whatever the listing holds
    assert requests(lambda: deployments.any_running(container, {"nobody:1:x", "none:1:y"})) == (
        False,
        2,
    )
    assert deployments.any_running(container, {"nobody:1:x", beta}) is True


def test_definition_delete_is_409_while_instances_run(client, container, world):
    url = f"{WF}/processdefinition/{world['alphaDefinition']}"
    expect(client.http.delete(url, headers=ADMIN), 409, "running instances")
    for name in ("a1", "a2"):
        expect(client.http.delete(f"{WF}/processinstance/{world[name]}", headers=ADMIN), 200)
    expect(client.http.delete(url, headers=ADMIN), 200)
    history = query(client, "_queryId=filtered-query&processDefinitionKey=alpha", history=True)
    assert [item["processDefinitionResourceName"] for item in history["result"]] == [None, None]
