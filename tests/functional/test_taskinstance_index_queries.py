"""``taskinstance`` pages of the admin UI's task grid cost the same number of DynamoDB requests
at any number of tasks (issue 11).

Through HTTP over moto: ``unassigned=true``, ``processDefinitionKey`` and ``processDefinitionId``
read one task lookup partition of the ``lookup-sort`` index, not the open-task listing, and
their ``EXACT`` totals one counter Query; ``_sortKeys=createTime``/``-createTime`` pages the
listing (or the index partition) in its own order instead of sorting the whole set. The
answers equal those of the walk (the same selection made from the whole listing).
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.support import tasks
from tests.support.instances import counted_query, deploy
from tests.support.instances import query as get_envelope
from tests.support.module_moto import coalesced_counts, module_backend
from tests.support.rest import ADMIN, WF, call, expect
from tests.support.tasks import deploy_onboard


def get(client, params: str) -> dict:
    return get_envelope(client, f"{WF}/taskinstance", params)


def counted(client, params: str) -> tuple[dict, dict]:
    return counted_query(client, f"{WF}/taskinstance", params)


@pytest.fixture(scope="module")
def backend():
    with module_backend() as made:
        yield made


@pytest.fixture(scope="module")
def client(backend):
    return backend.client


def make_world(container) -> dict[str, str]:
    onboard = deploy_onboard(container)
    other = deploy(container, "other", name="Other")
    return {"onboard": onboard, "other": other}


@pytest.fixture
def container(backend):
    """A container over tables of its own, for a test that starts and claims."""
    from chalicelib import bootstrap

    yield backend.fresh()
    bootstrap.reset_container()


@pytest.fixture
def world(container):
    return make_world(container)


def started(backend, last: int):
    """``(container, world)`` with ``start_many(0, last)`` done, built once per module: the
    tests given it only read."""

    def build(client, container):
        world = make_world(container)
        start_many(client, container, world, 0, last)
        return world

    container, world = backend.shared(f"tasks 0..{last}", build)
    with backend.reading(container):
        yield container, world


@pytest.fixture
def started_12(backend):
    yield from started(backend, 12)


@pytest.fixture
def started_14(backend):
    yield from started(backend, 14)


def start_many(client, container, world, first: int, last: int) -> None:
    """Tasks of ``onboard`` (even ``n``) and ``other`` (odd); every third one claimed."""
    for n in range(first, last):
        definition = world["onboard"] if n % 2 == 0 else world["other"]
        _, task_id = tasks.start(container, definition, who=f"w{n}")
        if n % 3 == 0:
            path = f"taskinstance/{task_id}?_action=claim"
            expect(call(client, "POST", path, {"userId": "bob"}), 200)
        container.clock.advance(seconds=1)


def everything(client) -> list[dict]:
    """Every open task, as the listing gives them (the walk)."""
    return get(client, "_queryFilter=true")["result"]


def in_create_order(items: list[dict]) -> list[str]:
    return [i["_id"] for i in sorted(items, key=lambda i: (i["createTime"], i["_id"]))]


def measured(world) -> dict[str, str]:
    onboard = world["onboard"]
    exact = "&_totalPagedResultsPolicy=EXACT"
    return {
        "unassigned": "_queryId=filtered-query&unassigned=true&_pageSize=10",
        "unassigned EXACT": "_queryId=filtered-query&unassigned=true&_pageSize=10" + exact,
        "definitionKey": "_queryId=filtered-query&processDefinitionKey=onboard&_pageSize=10",
        "definitionKey EXACT": "_queryId=filtered-query&processDefinitionKey=onboard"
        "&_pageSize=10" + exact,
        "definitionId": f"_queryId=filtered-query&processDefinitionId={onboard}&_pageSize=10",
        "definitionId eq EXACT": "_queryFilter="
        + quote(f'processDefinitionId eq "{onboard}"')
        + "&_pageSize=10"
        + exact,
        "unassigned -createTime": "_queryId=filtered-query&unassigned=true"
        "&_sortKeys=-createTime&_pageSize=10",
        "createTime": "_queryFilter=true&_sortKeys=createTime&_pageSize=10",
        "-createTime": "_queryId=filtered-query&_sortKeys=-createTime&_pageSize=10",
    }


def test_request_counts_do_not_grow_with_the_open_tasks(client, container, world):
    get(client, "_queryFilter=true")  # warm, as a running container
    start_many(client, container, world, 0, 15)
    small = {name: counted(client, params) for name, params in measured(world).items()}
    with coalesced_counts(container.store):  # the query is measured, not the start
        start_many(client, container, world, 15, 60)
    large = {name: counted(client, params) for name, params in measured(world).items()}
    for name in small:
        assert small[name][1] == large[name][1], name
    for name, (_, counts) in small.items():
        if "createTime" in name and "unassigned" not in name:
            assert counts == {"Query": 8}, name  # the listing's shards
        elif "EXACT" in name:
            assert counts == {"Query": 2}, name  # the partition, its counter
        else:
            assert counts == {"Query": 1}, name  # one task lookup partition
        assert len(large[name][0]["result"]) == 10, name
    walk = everything(client)
    assert len(walk) == 60
    unassigned = [i for i in walk if i["assignee"] is None]
    onboard = [i for i in walk if i["processDefinitionId"] == world["onboard"]]
    assert large["unassigned EXACT"][0]["totalPagedResults"] == len(unassigned) == 40
    assert large["definitionKey EXACT"][0]["totalPagedResults"] == len(onboard) == 30
    assert large["definitionId eq EXACT"][0]["totalPagedResults"] == 30
    ids = [i["_id"] for i in large["unassigned"][0]["result"]]
    assert ids == in_create_order(unassigned)[:10]
    assert [i["_id"] for i in large["definitionKey"][0]["result"]] == in_create_order(onboard)[:10]
    assert [i["_id"] for i in large["createTime"][0]["result"]] == in_create_order(walk)[:10]
    newest = in_create_order(walk)[::-1][:10]
    assert [i["_id"] for i in large["-createTime"][0]["result"]] == newest
    newest_free = in_create_order(unassigned)[::-1][:10]
    assert [i["_id"] for i in large["unassigned -createTime"][0]["result"]] == newest_free


@pytest.mark.parametrize(
    "params",
    [
        "unassigned=true",
        "unassigned=false",
        "processDefinitionKey=onboard",
        "processDefinitionKey=other",
        "processDefinitionKey=nosuch",
        "processDefinitionId={onboard}",
        "processDefinitionKey=onboard&unassigned=true",
        "processDefinitionId={other}&assignee=bob",
        "unassigned=true&name=Approve%20w4",
    ],
)
def test_index_answers_equal_the_walk(client, started_12, params):
    _, world = started_12
    params = params.format(**world)
    served = get(client, "_queryId=filtered-query&" + params)["result"]
    selected = everything(client)
    for term in params.split("&"):
        name, _, value = term.partition("=")
        value = value.replace("%20", " ")
        if name == "unassigned":
            selected = [i for i in selected if value != "true" or i["assignee"] is None]
        elif name == "processDefinitionKey":
            selected = [i for i in selected if i["processDefinitionId"].split(":")[0] == value]
        else:
            selected = [i for i in selected if i[name] == value]
    assert sorted(i["_id"] for i in served) == sorted(i["_id"] for i in selected)
    by_id = {i["_id"]: i for i in selected}
    assert all(item == by_id[item["_id"]] for item in served)  # the same items, whole


@pytest.mark.parametrize(
    "params",
    [
        "_queryId=filtered-query&unassigned=true&_pageSize=4",
        "_queryId=filtered-query&processDefinitionKey=other&_pageSize=4",
        "_queryFilter=true&_sortKeys=-createTime&_pageSize=4",
        "_queryId=filtered-query&unassigned=true&_sortKeys=createTime&_pageSize=4",
        "_queryId=filtered-query&assignee=bob&_sortKeys=-createTime&_pageSize=2",
    ],
)
def test_paging_by_cookie_and_offset_through_the_ordered_reads(client, started_14, params):
    seen, cookie = [], None
    while True:
        data = get(client, params + (f"&_pagedResultsCookie={cookie}" if cookie else ""))
        seen.extend(item["_id"] for item in data["result"])
        cookie = data["pagedResultsCookie"]
        if not cookie:
            break
    walk = everything(client)
    if "unassigned" in params:
        walk = [i for i in walk if i["assignee"] is None]
    if "other" in params:
        walk = [i for i in walk if i["processDefinitionId"].startswith("other:")]
    if "assignee=bob" in params:
        walk = [i for i in walk if i["assignee"] == "bob"]
    expected = in_create_order(walk)
    if "-createTime" in params:
        expected.reverse()
    assert seen == expected and len(seen) > 4
    size = int(params.rpartition("=")[2])
    second = get(client, params + f"&_pagedResultsOffset={size}")["result"]
    assert [i["_id"] for i in second] == expected[size : 2 * size]


def test_claim_and_delete_move_tasks_between_the_partitions(client, container, world):
    start_many(client, container, world, 1, 3)  # two unassigned tasks: other, then onboard
    unassigned = "_queryId=filtered-query&unassigned=true&_totalPagedResultsPolicy=EXACT"
    first, second = [i["_id"] for i in get(client, unassigned)["result"]]
    assert get(client, unassigned)["totalPagedResults"] == 2
    expect(call(client, "POST", f"taskinstance/{first}?_action=claim", {"userId": "ann"}), 200)
    data = get(client, unassigned)
    assert [i["_id"] for i in data["result"]] == [second] and data["totalPagedResults"] == 1
    by_key = "_queryId=filtered-query&processDefinitionKey=other&_totalPagedResultsPolicy=EXACT"
    data = get(client, by_key)
    assert [i["_id"] for i in data["result"]] == [first] and data["totalPagedResults"] == 1
    assert data["result"][0]["assignee"] == "ann"  # the copy was rewritten with the claim
    for task_id in (first, second):
        [task] = get(client, "_queryFilter=" + quote(f'_id eq "{task_id}"'))["result"]
        path = f"{WF}/processinstance/{task['processInstanceId']}"
        expect(client.http.delete(path, headers=ADMIN), 200)
    data = get(client, unassigned)
    assert data["result"] == [] and data["totalPagedResults"] == 0
    data = get(client, by_key)
    assert data["result"] == [] and data["totalPagedResults"] == 0
