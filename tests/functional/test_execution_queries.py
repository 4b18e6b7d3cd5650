"""``GET execution``: listings, filtered-query parameters, typed variable comparisons."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from chalicelib.engine.runtime import SetVariables
from chalicelib.service import unit_of_work as instances
from tests.support.executions import WF, deploy, start, waiting_execution
from tests.support.rest import ADMIN


@pytest.fixture
def world(container):
    msg, sig = deploy(container, "msgwait"), deploy(container, "sigwait")
    small = start(
        container,
        msg,
        {"amount": 5, "who": "Alice", "ok": True, "when": "2026-03-01T00:00:00.000Z", "ratio": 0.5},
        "bk-1",
    )
    large = start(
        container,
        msg,
        {"amount": 10, "who": "bob", "ok": False, "when": "2026-06-01T00:00:00.000Z", "ratio": 2.5},
        "bk-2",
    )
    signalled = start(container, sig)
    child = waiting_execution(container, small)
    instances.run_command(
        container,
        lambda uow: (
            uow.load(small),
            SetVariables(small, {"local": 7}, execution_id=child, local=True),
        )[1],
    )
    return {
        "msg": msg,
        "sig": sig,
        "small": small,
        "large": large,
        "signalled": signalled,
        "child": child,
    }


def query(client, params: str) -> tuple[int, dict]:
    response = client.http.get(f"{WF}/execution?{params}", headers=ADMIN)
    return response.status_code, json.loads(response.body)


def ids(client, params: str) -> set[str]:
    status, body = query(client, params)
    assert status == 200, body
    return {item["_id"] for item in body["result"]}


def filtered(client, params: str) -> set[str]:
    return ids(client, f"_queryId=filtered-query&{params}")


def test_listing_every_execution_of_running_instances(client, world):
    status, body = query(client, "_queryFilter=true")
    assert status == 200 and body["resultCount"] == 6  # a root and a waiting child each
    child = next(i for i in body["result"] if i["_id"] == world["child"])
    assert child == {
        "_id": world["child"],
        "activityId": "c",
        "processInstanceId": world["small"],
        "parentId": world["small"],
        "superExecutionId": None,
        "rootProcessInstanceId": world["small"],
        "suspended": False,
        "ended": False,
        "tenantId": "",
        "name": None,
        "description": None,
        "referenceId": None,
        "referenceType": None,
        "propagatedStageInstanceId": None,
        "processDefinitionId": world["msg"],
        "processDefinitionKey": "msgwait",
        "processDefinitionName": "Msgwait",
        "processDefinitionVersion": 1,
        "processDefinitionCategory": child["processDefinitionCategory"],
        "businessKey": "bk-1",
        "startTime": "2026-01-01T00:00:00.000Z",
        "startUserId": None,
        "isActive": True,
        "isScope": False,
        "isConcurrent": False,
        "isEventScope": False,
    }
    _, all_ids = query(client, "_queryId=query-all-ids")
    # query-all-ids answers whole items (DECISIONS.md, revised), as the filter does
    assert all_ids["result"] == body["result"]


def test_paging_over_the_listing_is_exact(client, world):
    status, first = query(client, "_queryFilter=true&_pageSize=4")
    assert status == 200 and first["resultCount"] == 4 and first["pagedResultsCookie"]
    _, rest = query(
        client, "_queryFilter=true&_pageSize=4&_pagedResultsCookie=" + first["pagedResultsCookie"]
    )
    seen = [i["_id"] for i in first["result"] + rest["result"]]
    assert len(seen) == len(set(seen)) == 6 and rest["pagedResultsCookie"] is None


def test_query_filter_expressions(client, world):
    assert ids(client, "_queryFilter=" + quote('activityId eq "c"')) == {
        world["child"],
        waiting_execution_of(client, world["large"]),
        waiting_execution_of(client, world["signalled"]),
    }
    assert ids(client, "_queryFilter=" + quote(f'_id eq "{world["child"]}"')) == {world["child"]}
    assert ids(client, "_queryFilter=" + quote('parentId pr and businessKey eq "bk-2"')) == {
        waiting_execution_of(client, world["large"])
    }


def waiting_execution_of(client, instance: str) -> str:
    [found] = filtered(client, f"processInstanceId={instance}&activityId=c")
    return found


def test_activity_id_matches_active_executions_only(client, container):
    """Flowable's ExecutionQuery.activityId adds IS_ACTIVE_: a multi-instance activity's
    instances are found, not its inactive root."""
    instance = start(container, deploy(container, "miwait"))
    state = instances.load_instance(container, instance)
    at_c = {e.id: e for e in state.executions.values() if e.activity_id == "c"}
    [root] = [i for i, e in at_c.items() if e.is_mi_root]
    assert len(at_c) == 3 and not at_c[root].is_active
    found = filtered(client, f"processInstanceId={instance}&activityId=c")
    assert found == set(at_c) - {root}
    assert root in filtered(client, f"processInstanceId={instance}")


def test_query_filter_on_activity_id_is_a_field_filter(client, container):
    """``_queryFilter`` compares the items' fields as shown (api-notes): the inactive
    multi-instance root stands at ``c`` and is found by ``activityId eq "c"``, unlike the
    ``activityId`` parameter; ``and isActive eq true`` gives Flowable's set."""
    instance = start(container, deploy(container, "miwait"))
    state = instances.load_instance(container, instance)
    at_c = {e.id for e in state.executions.values() if e.activity_id == "c"}
    [root] = [e.id for e in state.executions.values() if e.activity_id == "c" and e.is_mi_root]
    by_field = ids(client, "_queryFilter=" + quote('activityId eq "c"'))
    assert by_field == at_c and root in by_field
    active = ids(client, "_queryFilter=" + quote('activityId eq "c" and isActive eq true'))
    assert active == at_c - {root} == filtered(client, f"processInstanceId={instance}&activityId=c")


def test_equality_parameters(client, world):
    small, child = world["small"], world["child"]
    assert filtered(client, f"processInstanceId={small}") == {small, child}
    assert filtered(client, f"executionId={child}") == {child}
    assert filtered(client, f"executionParentId={small}") == {child}
    assert filtered(client, "processInstanceBusinessKey=bk-1") == {small, child}
    assert len(filtered(client, "processDefinitionKey=sigwait")) == 2
    assert len(filtered(client, f"processDefinitionId={world['msg']}")) == 4
    assert len(filtered(client, "processDefinitionName=Sigwait&processDefinitionVersion=1")) == 2
    assert filtered(client, "processDefinitionVersion=2") == set()
    assert len(filtered(client, "startedAfter=2025-12-31T00:00:00Z")) == 6
    assert filtered(client, "startedBefore=2025-12-31T00:00:00Z") == set()
    assert filtered(client, "startedBy=nobody") == set()
    assert len(filtered(client, "unknownParameter=1")) == 6  # ignored, as IDM does


def test_event_subscription_names(client, world):
    assert filtered(client, "messageName=go") == {
        world["child"],
        waiting_execution_of(client, world["large"]),
    }
    assert filtered(client, "signalName=alert") == {
        waiting_execution_of(client, world["signalled"])
    }
    assert filtered(client, f"messageName=go&processInstanceId={world['small']}") == {
        world["child"]
    }
    assert filtered(client, "signalName=nothing") == set()


@pytest.mark.parametrize(
    "comparison, instance",
    [
        ("Name=amount&processVariableValue=5&processVariableValueType=long", "small"),
        (
            "Name=amount&processVariableValue=7&processVariableValueType=integer"
            "&processVariableOperator=greaterThan",
            "large",
        ),
        (
            "Name=amount&processVariableValue=5&processVariableValueType=long"
            "&processVariableOperator=notEquals",
            "large",
        ),
        (
            "Name=amount&processVariableValue=10&processVariableValueType=long"
            "&processVariableOperator=lessThan",
            "small",
        ),
        (
            "Name=ratio&processVariableValue=2.5&processVariableValueType=double"
            "&processVariableOperator=greaterThanOrEqual",
            "large",
        ),
        ("Name=who&processVariableValue=Alice", "small"),
        ("Name=who&processVariableValue=BOB&processVariableOperator=equalsIgnoreCase", "large"),
        ("Name=who&processVariableValue=Al%25&processVariableOperator=like", "small"),
        ("Name=who&processVariableValue=B_B&processVariableOperator=likeIgnoreCase", "large"),
        ("Name=ok&processVariableValue=true&processVariableValueType=boolean", "small"),
        (
            "Name=when&processVariableValue=2026-04-01T00:00:00Z&processVariableValueType=date"
            "&processVariableOperator=greaterThan",
            "large",
        ),
        (
            "Name=when&processVariableValue=2026-03-01T00:00:00Z&processVariableValueType=date"
            "&processVariableOperator=lessThanOrEqual",
            "small",
        ),
    ],
)
def test_typed_process_variable_comparisons(client, world, comparison, instance):
    found = filtered(client, f"processVariable{comparison}")
    assert {world[instance]} == {ids_instance(client, e) for e in found} and len(found) == 2


def ids_instance(client, execution_id: str) -> str:
    _, body = query(client, "_queryFilter=" + quote(f'_id eq "{execution_id}"'))
    return body["result"][0]["processInstanceId"]


def test_a_string_comparison_does_not_match_a_number(client, world):
    assert filtered(client, "processVariableName=amount&processVariableValue=5") == set()


def test_local_variable_comparisons(client, world):
    assert filtered(client, "variableName=local&variableValue=7&variableValueType=long") == {
        world["child"]
    }
    # the root execution's local variables are the instance's: the child does not match
    assert filtered(client, "variableName=amount&variableValue=5&variableValueType=long") == {
        world["small"]
    }


@pytest.mark.parametrize(
    "params, named",
    [
        (
            "processVariableName=a&processVariableValue=1&processVariableOperator=bigger",
            "processVariableOperator",
        ),
        (
            "processVariableName=a&processVariableValue=1&processVariableValueType=float",
            "processVariableValueType",
        ),
        (
            "processVariableName=a&processVariableValue=x&processVariableValueType=long",
            "processVariableValue",
        ),
        ("variableName=a&variableValue=maybe&variableValueType=boolean", "variableValue"),
        (
            "variableName=a&variableValue=1&variableValueType=long&variableOperator=like",
            "variableOperator",
        ),
        ("processVariableValue=1", "processVariableName"),
        ("variableName=a", "variableValue"),
        (
            "processVariableName=a&processVariableValue=x&processVariableValueType=date",
            "processVariableValue",
        ),
        ("startedBefore=yesterday", "startedBefore"),
        ("processDefinitionVersion=one", "processDefinitionVersion"),
    ],
)
def test_bad_parameters_are_400_naming_them(client, world, params, named):
    status, body = query(client, f"_queryId=filtered-query&{params}")
    assert status == 400 and named in body["message"]


def test_ended_instances_have_no_executions(client, container, world):
    from tests.support.executions import post

    post(client, "signal", {"signalName": "alert", "processVariables": {}})
    status, _ = query(client, f"_queryId=filtered-query&processInstanceId={world['signalled']}")
    assert status == 200  # still running (waits in T); its child moved to T
    assert filtered(client, "signalName=alert") == set()
    assert filtered(client, "processInstanceId=missing") == set()


def test_unknown_query_id_and_sort_key(client, world):
    assert query(client, "_queryId=nope")[0] == 400
    status, body = query(client, "_queryFilter=true&_sortKeys=-processDefinitionKey,_id")
    assert status == 200 and body["result"][0]["processDefinitionKey"] == "sigwait"
    assert query(client, "_queryFilter=true&_sortKeys=bogus")[0] == 400
