"""``var-<name>`` (and ``processVariables/<name> eq``) on running instances: a variable index.

Through HTTP over moto: a ``filtered-query`` with ``var-n=7`` reads one ``lookup-sort``
partition of key-only variable items (plus the partition of instances with too many variables
to index one by one) and one BatchGetItem of their headers, at any number of instances; the
answers equal the ``filtered-query`` predicate over every instance (string comparison, as IDM),
and follow variable changes, nulls and ended instances.

One moto backend for the module (``tests.support.module_moto``): the tests that start or
change instances get tables of their own; those that compare answers with the walk read one
data set built once.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from tests.support.instances import counted_query, deploy, query, start
from tests.support.module_moto import module_backend
from tests.support.rest import ADMIN, JSON_HEADERS, WF, expect

TWO_TASKS = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" targetNamespace="Tests">
  <process id="two" name="Two" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="first"/>
    <userTask id="first" name="First"/>
    <sequenceFlow id="f2" sourceRef="first" targetRef="second"/>
    <userTask id="second" name="Second"/>
    <sequenceFlow id="f3" sourceRef="second" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>"""

LONG = "long value " * 200  # past LOOKUP_VALUE_BYTES: keyed by its hash


def get(client, params: str) -> dict:
    return query(client, f"{WF}/processinstance", params)


def counted(client, params: str) -> tuple[dict, dict]:
    return counted_query(client, f"{WF}/processinstance", params)


def ids_of(data: dict) -> list[str]:
    return [item["_id"] for item in data["result"]]


def everything(client) -> list[dict]:
    """Every running instance, through the listing (the reference answers)."""
    found, cookie = [], None
    while True:
        params = "_queryFilter=true&_pageSize=100" + (
            f"&_pagedResultsCookie={cookie}" if cookie else ""
        )
        data = get(client, params)
        found += data["result"]
        cookie = data.get("pagedResultsCookie")
        if not cookie:
            return sorted(found, key=lambda item: (item["startTime"], item["_id"]))


def expected(client, **wanted: str) -> list[str]:
    """The instances whose variables have the given texts, as ``var-`` compares them."""
    from chalicelib.service.instances.queries import _as_text

    return [
        item["_id"]
        for item in everything(client)
        if all(_as_text(item["processVariables"].get(n)) == t for n, t in wanted.items())
    ]


def start_many(client, container, first: int, last: int) -> None:
    for n in range(first, last):
        payload = {"_key": "alpha", "n": n % 10, "color": "red" if n % 3 == 0 else "blue"}
        expect(start(client, payload), 201)
        container.clock.advance(seconds=1)


def task_of(client, instance_id: str) -> str:
    data = expect(
        client.http.get(
            f"{WF}/taskinstance?_queryId=filtered-query&processInstanceId={instance_id}",
            headers=ADMIN,
        ),
        200,
    )
    [task] = data["result"]
    return task["_id"]


def complete(client, instance_id: str, variables: dict) -> None:
    task = task_of(client, instance_id)
    path = f"{WF}/taskinstance/{task}?_action=complete"
    expect(client.http.post(path, headers=JSON_HEADERS, body=json.dumps(variables).encode()), 200)


@pytest.fixture(scope="module")
def backend():
    with module_backend() as made:
        yield made


@pytest.fixture(scope="module")
def client(backend):
    return backend.client


@pytest.fixture
def container(backend):
    """A container over tables of its own, for a test that starts or changes instances."""
    from chalicelib import bootstrap

    yield backend.fresh()
    bootstrap.reset_container()


@pytest.fixture
def world(client, container):
    return make_world(client, container)


@pytest.fixture
def started_12(backend):
    """The world and 12 more instances, built once per module: the tests given it only read."""

    def build(client, container):
        world = make_world(client, container)
        start_many(client, container, 0, 12)
        return world

    container, world = backend.shared("world and 12", build)
    with backend.reading(container):
        yield world


def make_world(client, container) -> dict[str, str]:
    deploy(container, "alpha", name="Alpha")
    deploy(container, "two", bpmn=TWO_TASKS)
    typed = {
        "text7": {"_key": "alpha", "n": "7"},  # the string "7" equals var-n=7 too
        "float7": {"_key": "alpha", "n": 7.0},  # "7.0": not var-n=7
        "flag": {"_key": "alpha", "flag": True, "word": "true"},
        "long": {"_key": "alpha", "long": LONG},
        "two": {"_key": "two", "n": 7, "color": "red"},
    }
    made = {}
    for name, payload in typed.items():
        made[name] = expect(start(client, payload), 201)["_id"]
        container.clock.advance(seconds=1)
    get(client, "_queryFilter=true")  # definition names cached, as in a warm container
    return made


MEASURED = {
    "var-n=7": "_queryId=filtered-query&var-n=7",
    "var-n=7, page of 5": "_queryId=filtered-query&var-n=7&_pageSize=5",
    "var-n=7&var-color=red": "_queryId=filtered-query&var-n=7&var-color=red",
    "definition key and var-n": "_queryId=filtered-query&processDefinitionKey=alpha&var-n=3",
    "processVariables/n eq 7": "_queryFilter=" + quote("processVariables/n eq 7"),
    "processVariables/color eq red": "_queryFilter=" + quote('processVariables/color eq "red"'),
}


def test_request_counts_do_not_grow_with_the_running_instances(client, container, world):
    start_many(client, container, 0, 15)
    small = {name: counted(client, params) for name, params in MEASURED.items()}
    start_many(client, container, 15, 60)
    large = {name: counted(client, params) for name, params in MEASURED.items()}
    for name in small:
        assert small[name][1] == large[name][1], name
    # the variable partition and the overflow partition, then one BatchGetItem of headers
    assert small["var-n=7"][1] == {"Query": 2, "BatchGetItem": 1}
    assert small["processVariables/color eq red"][1] == {"Query": 2, "BatchGetItem": 1}
    # a number also matches its other spelling (7 and 7.0): one more partition
    assert small["processVariables/n eq 7"][1] == {"Query": 3, "BatchGetItem": 1}
    assert large["var-n=7"][0]["resultCount"] == len(expected(client, n="7"))
    assert len(large["var-n=7, page of 5"][0]["result"]) == 5
    assert large["var-n=7, page of 5"][0]["pagedResultsCookie"]


@pytest.mark.parametrize("params", list(MEASURED.values()))
def test_answers_equal_the_walk(client, started_12, params):
    walked = params.replace("_queryFilter=", "_queryFilter=true%20and%20")  # same, no index
    if "filtered-query" in params:  # the predicate over every instance instead
        terms = dict(p.split("=", 1) for p in params.split("&")[1:])
        wanted = {k[4:]: v for k, v in terms.items() if k.startswith("var-")}
        reference = [
            i
            for i in expected(client, **wanted)
            if "processDefinitionKey" not in terms
            or next(x for x in everything(client) if x["_id"] == i)["processDefinitionKey"]
            == terms["processDefinitionKey"]
        ]
        pages, cookie = [], None
        while True:
            data = get(client, params + (f"&_pagedResultsCookie={cookie}" if cookie else ""))
            pages += ids_of(data)
            cookie = data.get("pagedResultsCookie")
            if not cookie:
                break
        assert pages == reference
    else:
        assert ids_of(get(client, params)) == ids_of(get(client, walked))
        assert get(client, params)["result"] == get(client, walked)["result"]


def test_types_and_long_values(client, world):
    """``var-`` compares strings, as IDM: 7 and "7" match ``var-n=7``, 7.0 does not; ``true``
    matches a boolean and the string; a long value is found by its hash and compared again.
    The typed ``_queryFilter`` matches 7 and 7.0, not "7"."""
    assert set(ids_of(get(client, "_queryId=filtered-query&var-n=7"))) == {
        world["text7"],
        world["two"],
    }
    assert ids_of(get(client, "_queryId=filtered-query&var-n=7.0")) == [world["float7"]]
    assert ids_of(get(client, "_queryId=filtered-query&var-flag=true")) == [world["flag"]]
    assert ids_of(get(client, "_queryId=filtered-query&var-word=true")) == [world["flag"]]
    assert ids_of(get(client, "_queryId=filtered-query&var-flag=True")) == []
    long = quote(LONG)
    assert ids_of(get(client, f"_queryId=filtered-query&var-long={long}")) == [world["long"]]
    assert ids_of(get(client, f"_queryId=filtered-query&var-long={long}x")) == []
    numeric = ids_of(get(client, "_queryFilter=" + quote("processVariables/n eq 7")))
    assert set(numeric) == {world["float7"], world["two"]}
    flagged = ids_of(get(client, "_queryFilter=" + quote("processVariables/flag eq true")))
    assert flagged == [world["flag"]]
    assert ids_of(get(client, "_queryId=filtered-query&var-nosuch=1")) == []


def test_the_index_follows_changes_and_ends(client, world):
    two = world["two"]
    var = "_queryId=filtered-query&var-"
    assert two in ids_of(get(client, var + "n=7"))
    complete(client, two, {"n": 8, "color": None})  # a change and a null: still running
    assert two not in ids_of(get(client, var + "n=7"))
    assert ids_of(get(client, var + "n=8")) == [two]
    assert two not in ids_of(get(client, var + "color=red"))
    complete(client, two, {})  # ends
    assert ids_of(get(client, var + "n=8")) == []
    gone = world["text7"]
    expect(client.http.delete(f"{WF}/processinstance/{gone}", headers=ADMIN), 200)
    assert ids_of(get(client, var + "n=7")) == []
