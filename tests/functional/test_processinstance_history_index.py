"""``processinstance/history`` pages cost the same number of DynamoDB requests at any size.

Through HTTP over moto: a history page carries ``processVariables`` from the process items'
``listed_variables`` (no Query per instance), ``finished``/``unfinished`` and the equalities on
business key, definition key and id, start user and super instance read the history table's
``lookup-sort`` partitions plus one BatchGetItem, not the listing, in start order both ways;
the answers equal the walk's (a disjunction of the same term, which no index serves), and the
maintained counts (``history_index.history_count``) equal what the walk finds.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from chalicelib import aws
from chalicelib.service.repositories.history_index import (
    FINISHED,
    UNFINISHED,
    history_count,
)
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

HISTORY = f"{WF}/processinstance/history"


def get(client, params: str) -> dict:
    return query(client, HISTORY, params)


def counted(client, params: str) -> tuple[dict, dict]:
    return counted_query(client, HISTORY, params)


def start_many(client, container, first: int, last: int) -> None:
    """Instances ``bk-<n>``: alpha or beta, every third one cancelled (finished)."""
    for n in range(first, last):
        payload = {
            "_key": "alpha" if n % 2 == 0 else "beta",
            "_businessKey": f"bk-{n}",
            "n": n,
            "color": "red" if n % 3 == 0 else "blue",
        }
        instance_id = expect(start(client, payload), 201)["_id"]
        container.clock.advance(seconds=1)
        if n % 3 == 0:
            expect(client.http.delete(f"{WF}/processinstance/{instance_id}", headers=ADMIN), 200)


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
    get(client, "_queryFilter=true")  # definition names cached, as in a warm container
    return {"alpha": alpha, "parent": parent, "big": big}


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

    container, world = backend.shared(f"history 0..{last}", build)
    with backend.reading(container):
        yield world


@pytest.fixture
def world_only(backend):
    yield from shared_world(backend, 0)


@pytest.fixture
def started_6(backend):
    """The world and ``bk-0`` .. ``bk-5``."""
    yield from shared_world(backend, 6)


@pytest.fixture
def started_15(backend):
    """The world and ``bk-0`` .. ``bk-14``."""
    yield from shared_world(backend, 15)


def measured(world) -> dict[str, tuple[str, dict]]:
    """The measured queries and what each costs (the BatchGetItem only when a page has items)."""
    alpha, parent = world["alpha"], world["parent"]
    shards = {"Query": 8, "BatchGetItem": 1}
    two, one = {"Query": 2, "BatchGetItem": 1}, {"Query": 1, "BatchGetItem": 1}
    return {
        "page of 10": ("_queryFilter=true&_pageSize=10", {"Query": 8}),
        "UI completed": (
            "_queryId=filtered-query&finished=true&_sortKeys=-startTime&_pageSize=10",
            shards,
        ),
        "unfinished": ("_queryId=filtered-query&unfinished=true&_pageSize=10", shards),
        "endTime pr": ("_queryFilter=" + quote("endTime pr") + "&_pageSize=10", shards),
        "!(endTime pr)": (
            "_queryFilter=" + quote("!(endTime pr)") + "&_sortKeys=startTime&_pageSize=10",
            shards,
        ),
        "businessKey": ("_queryFilter=" + quote('businessKey eq "bk-7"'), two),
        "businessKey finished": (
            "_queryFilter=" + quote('businessKey eq "bk-6" and endTime pr'),
            one,
        ),
        "processDefinitionKey": (
            "_queryFilter=" + quote('processDefinitionKey eq "alpha"') + "&_pageSize=10",
            two,
        ),
        "processDefinitionId": (
            "_queryFilter=" + quote(f'processDefinitionId eq "{alpha}"') + "&_pageSize=10",
            two,
        ),
        "startUserId": (
            "_queryFilter=" + quote('startUserId eq "openidm-admin"') + "&_pageSize=10",
            two,
        ),
        "superProcessInstanceId": (
            "_queryFilter=" + quote(f'superProcessInstanceId eq "{parent}"'),
            two,
        ),
        "fq businessKey": ("_queryId=filtered-query&processInstanceBusinessKey=bk-7", two),
        "fq definitionKey finished": (
            "_queryId=filtered-query&processDefinitionKey=beta&finished=true&_pageSize=10",
            one,
        ),
        "fq definitionId unfinished": (
            f"_queryId=filtered-query&processDefinitionId={alpha}&unfinished=true"
            "&_sortKeys=-startTime&_pageSize=10",
            one,
        ),
        "fq startUser": ("_queryId=filtered-query&startUserId=openidm-admin&_pageSize=10", two),
        "fq superInstance": (f"_queryId=filtered-query&superProcessInstanceId={parent}", two),
    }


def test_request_counts_do_not_grow_with_the_history(client, container, world):
    start_many(client, container, 0, 15)
    small = {name: counted(client, params) for name, (params, _) in measured(world).items()}
    with coalesced_counts(container.store):  # the query is measured, not the start
        start_many(client, container, 15, 60)
    large = {name: counted(client, params) for name, (params, _) in measured(world).items()}
    for name, (_, cost) in measured(world).items():
        data, counts = small[name]
        assert data["result"], name
        # bk-big's variables do not fit its process item: read by the names it carries (one
        # BatchGetItem) when answered
        for data, counts in (small[name], large[name]):
            expected = dict(cost)
            if any(item["_id"] == world["big"] for item in data["result"]):
                expected["BatchGetItem"] = expected.get("BatchGetItem", 0) + 1
            assert counts == expected, name
    assert len(large["UI completed"][0]["result"]) == 10
    assert all(item["endTime"] for item in large["UI completed"][0]["result"])
    starts = [item["startTime"] for item in large["UI completed"][0]["result"]]
    assert starts == sorted(starts, reverse=True)
    assert [i["businessKey"] for i in large["businessKey"][0]["result"]] == ["bk-7"]
    assert large["businessKey"][0]["result"][0]["processVariables"] == {
        "n": 7,
        "color": "blue",
        "initiator": "openidm-admin",
        "prepared": "yes openidm-admin",
    }
    assert [i["businessKey"] for i in large["businessKey finished"][0]["result"]] == ["bk-6"]
    assert len(large["superProcessInstanceId"][0]["result"]) == 1


@pytest.mark.parametrize(
    "term",
    [
        "endTime pr",
        "!(endTime pr)",
        'businessKey eq "bk-7"',
        'businessKey eq "bk-6"',
        'businessKey eq "bk-big"',
        'businessKey eq "nosuch"',
        'businessKey eq "bk-9" and endTime pr',
        'businessKey eq "bk-9" and !(endTime pr)',
        'processDefinitionKey eq "alpha"',
        'processDefinitionKey eq "beta" and endTime pr',
        "processDefinitionId eq {alpha}",
        'startUserId eq "openidm-admin" and !(endTime pr)',
        'startUserId eq "bob"',
        "superProcessInstanceId eq {parent}",
        'processDefinitionKey eq "beta" and processVariables/color eq "red"',
    ],
)
def test_index_answers_equal_the_walk(client, started_15, term):
    """In each order (none, by start time up and down) on one data set per term."""
    world = started_15
    term = term.format(alpha=f'"{world["alpha"]}"', parent=f'"{world["parent"]}"')
    for order in ("", "&_sortKeys=startTime", "&_sortKeys=-startTime"):
        served = get(client, "_queryFilter=" + quote(term) + order)
        walked = get(client, walk_of(term) + order)
        assert served["result"] == walked["result"], order
        # and the variables are those the instance's own history holds
        for item in served["result"]:
            one = expect(client.http.get(f"{HISTORY}/{item['_id']}", headers=ADMIN), 200)
            assert item["processVariables"] == one["processVariables"], order


@pytest.mark.parametrize(
    "params, term",
    [
        ("finished=true", "endTime pr"),
        ("unfinished=true", "!(endTime pr)"),
        ("processInstanceBusinessKey=bk-4", 'businessKey eq "bk-4"'),
        (
            "processDefinitionKey=beta&finished=true",
            'processDefinitionKey eq "beta" and endTime pr',
        ),
        ("processDefinitionId={alpha}", "processDefinitionId eq {alpha_q}"),
        ("startUserId=openidm-admin&unfinished=true", 'startUserId eq "openidm-admin"'),
        ("superProcessInstanceId={parent}", "superProcessInstanceId eq {parent_q}"),
    ],
)
def test_filtered_query_through_the_index_equals_the_walk(client, started_15, params, term):
    world = started_15
    names = {
        "alpha": world["alpha"],
        "parent": world["parent"],
        "alpha_q": f'"{world["alpha"]}"',
        "parent_q": f'"{world["parent"]}"',
    }
    served = get(client, "_queryId=filtered-query&_sortKeys=-startTime&" + params.format(**names))
    walked = get(client, walk_of(term.format(**names)) + "&_sortKeys=-startTime")
    expected = walked["result"]
    if "unfinished" in params:
        expected = [i for i in expected if i["endTime"] is None]
    assert served["result"] == expected and expected


def _pages(client, params: str) -> list[str]:
    seen, cookie = [], None
    while True:
        data = get(client, params + (f"&_pagedResultsCookie={cookie}" if cookie else ""))
        seen.extend(item["_id"] for item in data["result"])
        cookie = data["pagedResultsCookie"]
        if not cookie:
            return seen


@pytest.mark.parametrize(
    "filter_params, term",
    [
        ("_queryId=filtered-query&finished=true", "endTime pr"),
        ("_queryId=filtered-query&unfinished=true", "!(endTime pr)"),
        (
            "_queryFilter=" + quote('processDefinitionKey eq "alpha"'),
            'processDefinitionKey eq "alpha"',
        ),
        (
            "_queryFilter=" + quote('processDefinitionKey eq "beta" and endTime pr'),
            'processDefinitionKey eq "beta" and endTime pr',
        ),
    ],
)
def test_paging_through_a_partition_by_cookie(client, started_15, filter_params, term):
    """Both orders by start time on one data set."""
    for order in ("startTime", "-startTime"):
        seen = _pages(client, f"{filter_params}&_sortKeys={order}&_pageSize=2")
        walked = get(client, walk_of(term) + f"&_sortKeys={order}")
        assert seen == [item["_id"] for item in walked["result"]] and seen, order
        assert len(set(seen)) == len(seen), order


def test_variables_that_do_not_fit_are_read_by_name(client, world_only):
    data, counts = counted(client, "_queryFilter=" + quote('businessKey eq "bk-big"'))
    assert data["result"][0]["processVariables"]["doc"] == BIG_DOC
    # 2 partitions, then the process item, then its variables by name
    assert counts == {"Query": 2, "BatchGetItem": 2}


def test_pages_read_unlisted_variables_in_one_batch(client, container, world):
    """The historic instances of a page whose variables do not fit their process items are
    read by name in one BatchGetItem together; an instance with more variables than an item
    names (101, over 4 KB) costs one Query of its own."""
    bigs = set()
    for n in range(4):
        payload = {"_key": "beta", "_businessKey": f"bk-big{n}", "doc": BIG_DOC, "n": n}
        bigs.add(expect(start(client, payload), 201)["_id"])
        container.clock.advance(seconds=1)
    many = expect(
        start(client, {"_key": "beta", "_businessKey": "bk-many", **MANY_VARIABLES}), 201
    )["_id"]
    data, counts = counted(
        client, "_queryFilter=" + quote('processDefinitionKey eq "beta"') + "&_pageSize=10"
    )
    found = {item["_id"]: item["processVariables"] for item in data["result"]}
    assert set(found) == bigs | {world["big"], many}
    assert all(found[big]["doc"] == BIG_DOC for big in bigs | {world["big"]})
    assert {name: found[many][name] for name in MANY_VARIABLES} == MANY_VARIABLES
    # 2 partitions, the process items, every named variable of the page, bk-many's Query
    assert counts == {"Query": 2 + 1, "BatchGetItem": 2}


def test_counts_follow_start_end_and_delete(client, container, world):
    store = container.store
    start_many(client, container, 0, 15)

    def walked(term: str) -> int:
        return len(get(client, walk_of(term))["result"])

    assert history_count(store) == walked("true") == 18  # caller, its alpha, bk-big, bk-0..14
    assert history_count(store, state=FINISHED) == walked("endTime pr") == 5
    assert history_count(store, state=UNFINISHED) == walked("!(endTime pr)") == 13
    assert history_count(store, "pdk", "alpha") == walked('processDefinitionKey eq "alpha"')
    assert history_count(store, "pdk", "beta", FINISHED) == walked(
        'processDefinitionKey eq "beta" and endTime pr'
    )
    assert history_count(store, "bk", "bk-3", FINISHED) == 1
    assert history_count(store, "su", "openidm-admin", UNFINISHED) == walked(
        'startUserId eq "openidm-admin" and !(endTime pr)'
    )
    with aws.counting() as counter:  # both states' counters: one BatchGetItem
        history_count(store, "pdk", "alpha")
    assert counter.total("dynamodb") == 1
    # the history of a finished instance deleted: gone from its partitions and their counts
    [gone] = get(client, "_queryId=filtered-query&processInstanceBusinessKey=bk-3")["result"]
    expect(client.http.delete(f"{HISTORY}/{gone['_id']}", headers=ADMIN), 200)
    assert history_count(store, "bk", "bk-3") == 0
    assert history_count(store, state=FINISHED) == 4
    assert history_count(store) == 17
    assert gone["_id"] not in [
        i["_id"] for i in get(client, "_queryId=filtered-query&finished=true")["result"]
    ]
    assert get(client, "_queryFilter=" + quote('businessKey eq "bk-3"'))["result"] == []
    assert history_count(store, "pdk", "beta") == walked('processDefinitionKey eq "beta"')


#: what the count of one state adds (a Query of its counter), and of both (one BatchGetItem)
ONE_STATE, BOTH_STATES = {"Query": 1}, {"BatchGetItem": 1}


@pytest.mark.parametrize(
    "params, term, counter_reads",
    [
        ("_queryFilter=true", "true", BOTH_STATES),
        ("_queryId=filtered-query&finished=true&_sortKeys=-startTime", "endTime pr", ONE_STATE),
        ("_queryId=filtered-query&unfinished=true", "!(endTime pr)", ONE_STATE),
        ("_queryFilter=" + quote("endTime pr"), "endTime pr", ONE_STATE),
        ("_queryFilter=" + quote('businessKey eq "bk-4"'), 'businessKey eq "bk-4"', BOTH_STATES),
        (
            "_queryId=filtered-query&processDefinitionKey=beta&finished=true",
            'processDefinitionKey eq "beta" and endTime pr',
            ONE_STATE,
        ),
        (
            "_queryFilter=" + quote('startUserId eq "openidm-admin" and !(endTime pr)'),
            'startUserId eq "openidm-admin" and !(endTime pr)',
            ONE_STATE,
        ),
    ],
)
def test_exact_totals_come_from_the_counts(client, started_15, params, term, counter_reads):
    page, _ = counted(client, params + "&_pageSize=2")
    data, counts = counted(client, params + "&_pageSize=2&_totalPagedResultsPolicy=EXACT")
    assert data["result"] == page["result"]
    assert data["totalPagedResults"] == len(get(client, walk_of(term))["result"]) >= 1
    _, plain = counted(client, params + "&_pageSize=2")
    added = {op: counts.get(op, 0) - plain.get(op, 0) for op in {*counts, *plain}}
    assert {op: n for op, n in added.items() if n} == counter_reads, counts


def test_exact_total_of_a_filter_no_count_serves_is_read(client, started_6):
    params = "_queryFilter=" + quote('processVariables/color eq "red"') + "&_pageSize=1"
    data = get(client, params + "&_totalPagedResultsPolicy=EXACT")
    assert data["totalPagedResults"] == len(
        get(client, walk_of('processVariables/color eq "red"'))["result"]
    )


def test_both_states_at_once_answer_nothing_and_count_nothing(client, started_6):
    both = "_queryFilter=" + quote("endTime pr and !(endTime pr)")
    data = get(client, both + "&_totalPagedResultsPolicy=EXACT")
    assert data["result"] == [] and data["totalPagedResults"] == 0
    fq = "_queryId=filtered-query&finished=true&unfinished=true&_totalPagedResultsPolicy=EXACT"
    data = get(client, fq)
    assert data["result"] == [] and data["totalPagedResults"] == 0
