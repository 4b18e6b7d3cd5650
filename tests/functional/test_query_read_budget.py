"""A filter no index serves reads at most ``WORKFLOW_QUERY_READ_BUDGET`` items per request
(DECISIONS.md "Bounded work per request"): short pages with cookies, every match exactly once,
and a bounded number of DynamoDB requests per HTTP request, over moto."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from chalicelib import aws
from tests.support import tasks
from tests.support.module_moto import module_backend
from tests.support.rest import ADMIN, WF, expect

BUDGET = 4
INSTANCES = 13


@pytest.fixture(scope="module")
def backend():
    """One moto backend for the module, its settings with a small read budget."""
    with module_backend(WORKFLOW_QUERY_READ_BUDGET=str(BUDGET)) as made:
        yield made


@pytest.fixture(scope="module")
def client(backend):
    return backend.client


def build_world(client, container) -> dict[str, list[str]]:
    definition = tasks.deploy_onboard(container)
    made: dict[str, list[str]] = {"instances": [], "tasks": []}
    for n in range(INSTANCES):
        instance_id, task_id = tasks.start(
            container, definition, who=f"user{n}", n=n, parity=("odd", "even")[n % 2 == 0]
        )
        made["instances"].append(instance_id)
        made["tasks"].append(task_id)
        container.clock.advance(minutes=1)
    return made


@pytest.fixture
def shared(backend):
    """The module's one data set (every test only reads it): its container, installed for the
    test, and ``build_world``'s ids."""
    container, made = backend.shared("world", build_world)
    with backend.reading(container):
        yield container, made


@pytest.fixture
def container(shared):
    return shared[0]


@pytest.fixture
def world(shared):
    """``INSTANCES`` running instances of the onboarding process, each with one open task;
    ``n`` is its number: ``{"instances": [...], "tasks": [...]}`` in start order."""
    return shared[1]


def follow(
    client, path: str, params: str, cookie: str | None = None
) -> tuple[list[str], list[dict], list[int]]:
    """Every page of a query (from ``cookie``), following its cookies: the ids in order, the
    envelopes, and the DynamoDB requests each HTTP request made."""
    found: list[str] = []
    envelopes: list[dict] = []
    costs: list[int] = []
    while True:
        url = f"{WF}/{path}?{params}" + (f"&_pagedResultsCookie={cookie}" if cookie else "")
        with aws.counting() as counter:
            envelope = expect(client.http.get(url, headers=ADMIN), 200)
        costs.append(sum(counter.counts.get("dynamodb", {}).values()))
        envelopes.append(envelope)
        found += [item["_id"] for item in envelope["result"]]
        cookie = envelope["pagedResultsCookie"]
        if cookie is None:
            return found, envelopes, costs
        assert len(envelopes) <= INSTANCES + 1, "the cookies never end"


def test_settings_fixture_sets_the_budget(container):
    assert container.settings.query_read_budget == BUDGET


@pytest.mark.parametrize("path", ["processinstance", "processinstance/history"])
def test_instances_filter_matching_nothing_gives_short_pages_with_cookies(client, world, path):
    params = "_queryFilter=" + quote('startUserId co "nobody"') + "&_pageSize=5"
    found, envelopes, costs = follow(client, path, params)
    assert found == []
    first = envelopes[0]
    assert first["resultCount"] == 0 and first["pagedResultsCookie"]
    assert first["totalPagedResults"] == -1 and first["remainingPagedResults"] == -1
    assert len(envelopes) == -(-INSTANCES // BUDGET)  # each request reads one budget
    # one read of the listing (8 shard Queries) and the variables of each instance read (one
    # Query each): reading all 13 would take 8 + 13
    assert max(costs) <= 8 + BUDGET, costs


@pytest.mark.parametrize("path", ["processinstance", "processinstance/history"])
def test_instances_cookies_return_every_match_once_in_order(client, world, path):
    params = "_queryFilter=" + quote('processVariables/parity co "dd"') + "&_pageSize=3"
    found, envelopes, costs = follow(client, path, params)
    assert found == world["instances"][1::2]
    assert all(envelope["resultCount"] <= 3 for envelope in envelopes)
    assert any(
        envelope["resultCount"] < 3 and envelope["pagedResultsCookie"] for envelope in envelopes
    )
    assert max(costs) <= 8 + BUDGET, costs


def test_instances_offset_beyond_the_budget_continues_through_the_cookie(client, world):
    params = "_queryFilter=" + quote('processVariables/parity co "ev"') + "&_pageSize=3"
    first = expect(
        client.http.get(f"{WF}/processinstance?{params}&_pagedResultsOffset=4", headers=ADMIN), 200
    )
    assert first["result"] == [] and first["pagedResultsCookie"]
    found, _, _ = follow(client, "processinstance", params, first["pagedResultsCookie"])
    assert found == world["instances"][0::2][4:]


def test_instances_sorted_over_the_budget_is_a_400_naming_it(client, world):
    response = client.http.get(
        f"{WF}/processinstance?_queryFilter=true&_sortKeys=businessKey", headers=ADMIN
    )
    expect(response, 400, "WORKFLOW_QUERY_READ_BUDGET")
    response = client.http.get(
        f"{WF}/processinstance?_queryFilter=true&_sortKeys=-startTime,_id", headers=ADMIN
    )
    expect(response, 400, "WORKFLOW_QUERY_READ_BUDGET")  # the listing's order is one key
    one = world["instances"][3]
    data = expect(
        client.http.get(
            f"{WF}/processinstance?_queryFilter="
            + quote(f'_id eq "{one}"')
            + "&_sortKeys=-startTime",
            headers=ADMIN,
        ),
        200,
    )
    assert [item["_id"] for item in data["result"]] == [one]  # a key read stays within it


def test_tasks_filter_matching_nothing_gives_short_pages_with_cookies(client, world):
    params = "_queryFilter=" + quote('name co "no such task"') + "&_pageSize=5"
    found, envelopes, costs = follow(client, "taskinstance", params)
    assert found == []
    assert envelopes[0]["resultCount"] == 0 and envelopes[0]["pagedResultsCookie"]
    assert len(envelopes) == -(-INSTANCES // BUDGET)
    assert max(costs) <= 8 + BUDGET, costs


def test_tasks_cookies_return_every_match_once_in_order(client, world):
    params = "_queryFilter=" + quote('name co "user1"') + "&_pageSize=3"
    listed, _, _ = follow(client, "taskinstance", "_queryFilter=true")  # the listing's order
    assert sorted(listed) == sorted(world["tasks"])
    found, envelopes, costs = follow(client, "taskinstance", params)
    wanted = {world["tasks"][n] for n in (1, 10, 11, 12)}  # "Approve user1", "...user10", ...
    assert found == [task for task in listed if task in wanted]
    assert any(
        envelope["resultCount"] < 3 and envelope["pagedResultsCookie"] for envelope in envelopes
    )
    assert max(costs) <= 8 + BUDGET, costs


@pytest.mark.parametrize("path", ["processinstance", "processinstance/history"])
@pytest.mark.parametrize("descending", [False, True])
def test_instances_sorted_by_start_time_are_read_in_the_listing_order(
    client, world, path, descending
):
    """The listings are sorted by start time: a sort on it alone (the admin UI's grids) pages
    within the budget, in order, and every instance comes once."""
    sort = "-startTime" if descending else "startTime"
    found, envelopes, costs = follow(
        client, path, f"_queryFilter=true&_sortKeys={sort}&_pageSize=5"
    )
    expected = world["instances"][::-1] if descending else world["instances"]
    assert found == expected
    assert len(envelopes) > 1 and max(costs) <= 8 + BUDGET, costs


def test_an_index_served_equality_sorted_by_start_time_pages_in_order(client, world, container):
    definition = next(
        item["_id"]
        for item in expect(
            client.http.get(f"{WF}/processdefinition?_queryFilter=true", headers=ADMIN), 200
        )["result"]
    )
    params = "_queryFilter=" + quote(f'processDefinitionId eq "{definition}"')
    found, _, costs = follow(
        client, "processinstance", params + "&_sortKeys=-startTime&_pageSize=5"
    )
    assert found == world["instances"][::-1]
    assert max(costs) <= 8 + BUDGET, costs


@pytest.mark.parametrize(
    "params",
    [
        "_queryFilter=true",
        "_queryId=filtered-query&unassigned=true",
        "_queryId=filtered-query&processDefinitionKey=onboard",
    ],
)
@pytest.mark.parametrize("descending", [False, True])
def test_tasks_sorted_by_create_time_are_read_in_the_listing_order(
    client, world, params, descending
):
    """The open-task listing and the task lookup partitions are in creation order: a sort on
    ``createTime`` alone pages within the budget (it was a 400 past it)."""
    sort = "-createTime" if descending else "createTime"
    found, envelopes, costs = follow(
        client, "taskinstance", f"{params}&_sortKeys={sort}&_pageSize=5"
    )
    assert found == (world["tasks"][::-1] if descending else world["tasks"])
    assert len(envelopes) > 1 and max(costs) <= 8 + BUDGET, costs
    response = client.http.get(f"{WF}/taskinstance?{params}&_sortKeys=name", headers=ADMIN)
    expect(response, 400, "WORKFLOW_QUERY_READ_BUDGET")  # any other order: the whole set


def test_history_reads_variables_only_for_the_answered_items(client, world):
    """A history filter that does not look at variables reads them for the page's items only:
    the shard Queries plus one Query per answered instance, however many it read."""
    params = "_queryFilter=" + quote("startTime pr") + "&_pageSize=2"
    with aws.counting() as counter:
        page = expect(client.http.get(f"{WF}/processinstance/history?{params}", headers=ADMIN), 200)
    assert [item["_id"] for item in page["result"]] == world["instances"][:2]
    assert sum(counter.counts.get("dynamodb", {}).values()) <= 8 + 2, counter.counts
    for item in page["result"]:
        one = expect(
            client.http.get(f"{WF}/processinstance/history/{item['_id']}", headers=ADMIN), 200
        )
        assert item["processVariables"] == one["processVariables"] != {}
    ids_only = expect(
        client.http.get(
            f"{WF}/processinstance/history?{params}&_fields=_id,processVariables", headers=ADMIN
        ),
        200,
    )
    assert [item["processVariables"] for item in ids_only["result"]] == [
        item["processVariables"] for item in page["result"]
    ]


def test_history_filter_rejecting_everything_reads_no_variables(client, world):
    found, envelopes, costs = follow(
        client,
        "processinstance/history",
        "_queryFilter=" + quote("deleteReason pr") + "&_pageSize=5",
    )
    assert found == [] and len(envelopes) == -(-INSTANCES // BUDGET)
    assert max(costs) <= 8, costs  # the shard Queries only: no variables of rejected items
    # ``endTime pr`` (finished) is served by the finished partition: nothing to walk
    found, envelopes, costs = follow(
        client, "processinstance/history", "_queryFilter=" + quote("endTime pr") + "&_pageSize=5"
    )
    assert found == [] and len(envelopes) == 1 and costs == [8], costs
