"""Issue 11's request budgets through HTTP: a start that writes every index (business key,
start user, definition key and id, a candidate group and user, listed variables and their
lookup items, the instance key items, the counters) is still ONE TransactWriteItems, and
completing its task is one Query and one TransactWriteItems, however many instances run. The
process is the scale benchmark's (``bench/scale.py``): a user task with a candidate group from
a variable and the start user as candidate user."""

from __future__ import annotations

from bench.scale import SCALE
from chalicelib import aws
from chalicelib.service.definitions import deploy as deployments
from tests.support.rest import call, expect


def _start(client, definition_id: str, n: int) -> tuple[str, dict[str, int]]:
    payload = {
        "_processDefinitionId": definition_id,
        "_businessKey": f"bk-{n}",
        "n": n,
        "group": f"g{n % 3}",
        "note": "indexed",
    }
    with aws.counting() as counter:
        started = expect(call(client, "POST", "processinstance?_action=create", payload), 201)
    return started["_id"], dict(counter.counts["dynamodb"])


def _complete(client, instance_id: str) -> dict[str, int]:
    tasks = expect(
        call(
            client,
            "GET",
            f"taskinstance?_queryId=filtered-query&processInstanceId={instance_id}",
        ),
        200,
    )["result"]
    with aws.counting() as counter:
        expect(call(client, "POST", f"taskinstance/{tasks[0]['_id']}?_action=complete", {}), 200)
    return dict(counter.counts["dynamodb"])


def test_an_indexed_start_is_one_write_and_a_complete_two_requests_at_any_size(client, container):
    definition_id = deployments.deploy(
        container, source="test:costs", name="scale.bpmn20.xml", bpmn={"x.bpmn20.xml": SCALE}
    ).definition_ids[0]
    _start(client, definition_id, 0)  # warms the definition cache
    costs = []
    for first, count in ((1, 2), (3, 12)):
        for n in range(first, first + count):
            instance_id, started = _start(client, definition_id, n)
        costs.append((started, _complete(client, instance_id)))
    assert (
        costs[0]
        == costs[1]
        == (
            {"TransactWriteItems": 1},
            {"Query": 1, "TransactWriteItems": 1},
        )
    )
    by_key = expect(call(client, "GET", 'processinstance?_queryFilter=businessKey eq "bk-5"'), 200)[
        "result"
    ]
    assert by_key[0]["processVariables"]["n"] == 5  # the indexes were written
