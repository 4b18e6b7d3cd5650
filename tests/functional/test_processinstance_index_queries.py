"""``processinstance`` pages cost the same number of DynamoDB requests at any data size.

Through HTTP over moto: a page of the running listing carries ``processVariables`` without a
Query per instance (the header holds them), and equality on business key, definition key and
id, start user and super instance reads one ``lookup-sort`` partition, not the listing. The
answers equal those of the walk (a disjunction of the same term, which no index serves).
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.support.instances import (
    BIG_DOC,
    CALLER,
    MANY_VARIABLES,
    counted_query,
    deploy,
    query,
    start,
    walk_of,
)
from tests.support.module_moto import coalesced_counts, module_backend
from tests.support.rest import ADMIN, WF, expect


def get(client, params: str) -> dict:
    return query(client, f"{WF}/processinstance", params)


def counted(client, params: str) -> tuple[dict, dict]:
    return counted_query(client, f"{WF}/processinstance", params)


def start_many(client, container, first: int, last: int) -> None:
    for n in range(first, last):
        payload = {
            "_key": "alpha" if n % 2 == 0 else "beta",
            "_businessKey": f"bk-{n}",
            "n": n,
            "color": "red" if n % 3 == 0 else "blue",
        }
        expect(start(client, payload), 201)
        container.clock.advance(seconds=1)


@pytest.fixture(scope="module")
def backend():
    with module_backend() as made:
        yield made


@pytest.fixture(scope="module")
def client(backend):
    return backend.client


def make_world(client, container) -> dict[str, str]:
    alpha = deploy(container, "alpha", name="Alpha")
    deploy(container, "beta", name="Beta")
    deploy(container, "caller", bpmn=CALLER)
    parent = expect(start(client, {"_key": "caller"}), 201)["_id"]
    container.clock.advance(seconds=1)
    big = expect(start(client, {"_key": "beta", "_businessKey": "bk-big", "doc": BIG_DOC}), 201)[
        "_id"
    ]
    container.clock.advance(seconds=1)
    payload = {"_key": "beta", "_businessKey": "bk-many", **MANY_VARIABLES}
    many = expect(start(client, payload), 201)["_id"]
    container.clock.advance(seconds=1)
    return {"alpha": alpha, "parent": parent, "big": big, "many": many}


@pytest.fixture
def container(backend):
    """A container over tables of its own, for a test that starts or deletes instances."""
    from chalicelib import bootstrap

    yield backend.fresh()
    bootstrap.reset_container()


@pytest.fixture
def world(client, container):
    return make_world(client, container)


def shared_world(backend, last: int):
    """The world with ``start_many(0, last)`` done, built once per module: the tests given it
    only read."""

    def build(client, container):
        world = make_world(client, container)
        start_many(client, container, 0, last)
        return world

    container, world = backend.shared(f"instances 0..{last}", build)
    with backend.reading(container):
        yield world


@pytest.fixture
def world_only(backend):
    yield from shared_world(backend, 0)


@pytest.fixture
def started(backend):
    """The world and ``bk-0`` .. ``bk-14``."""
    yield from shared_world(backend, 15)


def measured(world) -> dict[str, str]:
    """The measured queries: a page of 10 and each index-served equality."""
    alpha, parent = world["alpha"], world["parent"]
    return {
        "page of 10": "_queryFilter=true&_pageSize=10",
        "businessKey": "_queryFilter=" + quote('businessKey eq "bk-7"'),
        "processDefinitionKey": "_queryFilter="
        + quote('processDefinitionKey eq "alpha"')
        + "&_pageSize=10",
        "processDefinitionId": "_queryFilter="
        + quote(f'processDefinitionId eq "{alpha}"')
        + "&_pageSize=10",
        "startUserId": "_queryFilter=" + quote('startUserId eq "openidm-admin"') + "&_pageSize=10",
        "superProcessInstanceId": "_queryFilter=" + quote(f'superProcessInstanceId eq "{parent}"'),
        "fq businessKey": "_queryId=filtered-query&processInstanceBusinessKey=bk-7",
        "fq definitionKey": "_queryId=filtered-query&processDefinitionKey=alpha&_pageSize=10",
        "fq definitionId": f"_queryId=filtered-query&processDefinitionId={alpha}&_pageSize=10",
        "fq startUser": "_queryId=filtered-query&startUserId=openidm-admin&_pageSize=10",
        "fq superInstance": f"_queryId=filtered-query&superProcessInstanceId={parent}",
        "and-ed terms": "_queryFilter="
        + quote(
            'processDefinitionKey eq "beta" and businessKey eq "bk-7" and processVariables/n eq 7'
        ),
    }


def test_request_counts_do_not_grow_with_the_running_instances(client, container, world):
    get(client, "_queryFilter=true")  # definition names cached, as in a warm container
    start_many(client, container, 0, 15)
    small = {name: counted(client, params) for name, params in measured(world).items()}
    with coalesced_counts(container.store):  # the query is measured, not the start
        start_many(client, container, 15, 60)
    large = {name: counted(client, params) for name, params in measured(world).items()}
    for name in small:
        assert small[name][1] == large[name][1], name
    # the 8 listing shards; bk-big's variables (over 4 KB) by the names its header carries, in
    # one BatchGetItem; bk-many's (more than a header names) in one Query
    assert small["page of 10"][1] == {"Query": 8 + 1, "BatchGetItem": 1}
    for name, (data, counts) in small.items():
        if name != "page of 10":
            # one lookup-sort partition, and those reads for bk-big and bk-many on the page
            on_page = {item["_id"] for item in data["result"]}
            wanted = {"Query": 1 + (world["many"] in on_page)}
            if world["big"] in on_page:
                wanted["BatchGetItem"] = 1
            assert counts == wanted, name
    assert [i["businessKey"] for i in large["businessKey"][0]["result"]] == ["bk-7"]
    assert large["businessKey"][0]["result"][0]["processVariables"] == {
        "n": 7,
        "color": "blue",
        "initiator": "openidm-admin",
        "prepared": "yes openidm-admin",
    }
    assert len(large["superProcessInstanceId"][0]["result"]) == 1
    assert [i["businessKey"] for i in large["and-ed terms"][0]["result"]] == ["bk-7"]
    assert len(large["page of 10"][0]["result"]) == 10
    assert len(large["processDefinitionKey"][0]["result"]) == 10


@pytest.mark.parametrize(
    "term",
    [
        'businessKey eq "bk-7"',
        'businessKey eq "bk-big"',
        'businessKey eq "nosuch"',
        'processDefinitionKey eq "alpha"',
        'processDefinitionKey eq "beta"',
        "processDefinitionId eq {alpha}",
        'startUserId eq "openidm-admin"',
        'startUserId eq "bob"',
        "superProcessInstanceId eq {parent}",
        'processDefinitionKey eq "beta" and color eq "red"',
    ],
)
def test_index_answers_equal_the_walk(client, started, term):
    world = started
    term = term.format(alpha=f'"{world["alpha"]}"', parent=f'"{world["parent"]}"')
    served = get(client, "_queryFilter=" + quote(term))
    walked = get(client, walk_of(term))
    assert served["result"] == walked["result"]
    # and the variables are those the instance's own items hold
    for item in served["result"]:
        one = get(client, "_queryFilter=" + quote(f'_id eq "{item["_id"]}"'))
        assert one["result"] == [item]


@pytest.mark.parametrize(
    "params, term",
    [
        ("processInstanceBusinessKey=bk-4", 'businessKey eq "bk-4"'),
        ("processDefinitionKey=beta", 'processDefinitionKey eq "beta"'),
        ("processDefinitionId={alpha}", "processDefinitionId eq {alpha_q}"),
        ("startUserId=openidm-admin", 'startUserId eq "openidm-admin"'),
        ("superProcessInstanceId={parent}", "superProcessInstanceId eq {parent_q}"),
        ("processDefinitionKey=alpha&var-color=red", 'processDefinitionKey eq "alpha"'),
    ],
)
def test_filtered_query_through_the_index_equals_the_walk(client, started, params, term):
    world = started
    names = {
        "alpha": world["alpha"],
        "parent": world["parent"],
        "alpha_q": f'"{world["alpha"]}"',
        "parent_q": f'"{world["parent"]}"',
    }
    served = get(client, "_queryId=filtered-query&" + params.format(**names))
    walked = get(client, walk_of(term.format(**names)))
    expected = walked["result"]
    if "var-color" in params:
        expected = [i for i in expected if i["processVariables"].get("color") == "red"]
    assert served["result"] == expected and expected


def test_paging_through_an_index_partition(client, started):
    params = "_queryFilter=" + quote('processDefinitionKey eq "alpha"') + "&_pageSize=3"
    seen, cookie = [], None
    while True:
        data = get(client, params + (f"&_pagedResultsCookie={cookie}" if cookie else ""))
        seen.extend(item["_id"] for item in data["result"])
        cookie = data["pagedResultsCookie"]
        if not cookie:
            break
    walked = get(client, walk_of('processDefinitionKey eq "alpha"'))
    assert seen == [item["_id"] for item in walked["result"]] and len(seen) == 9


def test_instance_whose_variables_do_not_fit_is_read_by_name(client, world_only):
    """``bk-big`` holds more than 4 KB of variables: the header carries their names, so they
    cost one BatchGetItem (for a whole page: ``test_pages_read_unlisted_variables_in_one_batch``)."""
    data, counts = counted(client, "_queryFilter=" + quote('businessKey eq "bk-big"'))
    assert data["result"][0]["processVariables"]["doc"] == BIG_DOC
    assert counts == {"Query": 1, "BatchGetItem": 1}  # the lookup partition, its variables


def test_instance_with_more_variables_than_a_header_names_is_read_on_its_own(client, world_only):
    """``bk-many`` holds 101 variables, over 4 KB: more than a header names, so its variables
    cost one Query of their own (the cheapest read of that many)."""
    data, counts = counted(client, "_queryFilter=" + quote('businessKey eq "bk-many"'))
    assert data["result"][0]["processVariables"] == {
        **MANY_VARIABLES,
        "initiator": "openidm-admin",
        "prepared": "yes openidm-admin",
    }
    assert counts == {"Query": 2}  # the lookup partition, then its variables


def test_pages_read_unlisted_variables_in_one_batch(client, container, world):
    """Every instance on a page whose variables do not fit its header is read by name in one
    BatchGetItem together, whether the page alone needs them or the filter chose by them."""
    bigs = {world["big"]}
    for n in range(4):
        payload = {"_key": "alpha", "_businessKey": f"bk-big{n}", "doc": BIG_DOC, "n": n}
        bigs.add(expect(start(client, payload), 201)["_id"])
        container.clock.advance(seconds=1)
    page = "_queryFilter=" + quote('processDefinitionKey eq "alpha"') + "&_pageSize=10"
    chosen = "_queryFilter=" + quote("processVariables/doc pr") + "&_pageSize=10"
    for params in (page, chosen):
        data, counts = counted(client, params)
        found = {item["_id"]: item["processVariables"] for item in data["result"]}
        # the page also holds the caller's alpha child; bk-big is a beta instance
        assert set(found) & bigs == (bigs if params == chosen else bigs - {world["big"]})
        assert all(found[big]["doc"] == BIG_DOC for big in set(found) & bigs), params
        # a lookup partition; or the listing's shards and bk-many's variables (one Query: more
        # than a header names), which the filter must look at
        queries = 1 if params == page else 8 + 1
        assert counts == {"Query": queries, "BatchGetItem": 1}, params


def test_ended_and_deleted_instances_leave_the_index(client, container, world):
    start_many(client, container, 0, 4)
    bk = "_queryFilter=" + quote('businessKey eq "bk-2"')
    [item] = get(client, bk)["result"]
    expect(client.http.delete(f"{WF}/processinstance/{item['_id']}", headers=ADMIN), 200)
    assert get(client, bk)["result"] == []
    by_parent = "_queryFilter=" + quote(f'superProcessInstanceId eq "{world["parent"]}"')
    assert len(get(client, by_parent)["result"]) == 1
