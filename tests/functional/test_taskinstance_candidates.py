"""Candidate task queries read only the ``candidate-sort`` partitions of the user and groups.

``unassignedTaskQuery`` and ``filtered-query`` with ``taskCandidateUser`` / ``taskCandidateGroup``
never read the sharded task listing; candidate items follow claims, completion and deletion.
"""

from __future__ import annotations

import pytest

from chalicelib import aws, bootstrap
from chalicelib.ids import instance_of
from chalicelib.storage.ports import Index, Table
from tests.support.rest import ADMIN, call, expect, ids
from tests.support.tasks import AUTHORIZED, as_user, deploy_onboard, start

UNASSIGNED = "taskinstance?_queryId=unassignedTaskQuery"


@pytest.fixture
def index_reads(monkeypatch):
    """The (index, hash value) of every index query of the container's store."""
    store = bootstrap.get_container().store
    calls: list[tuple[Index, str]] = []
    original = store.query_index

    def spy(table, index, hash_value, **kwargs):
        assert table is Table.RUNTIME
        calls.append((index, hash_value))
        return original(table, index, hash_value, **kwargs)

    monkeypatch.setattr(store, "query_index", spy)
    return calls


def candidate_items(task_id: str) -> list[str]:
    store = bootstrap.get_container().store
    instance_id = instance_of(task_id)
    return [
        item.sk
        for item in store.query(Table.RUNTIME, instance_id, sk_prefix=f"cand#{task_id}#").items
    ]


@pytest.mark.parametrize(
    "user, partitions",
    [
        ("bob", {"u#bob", f"g#{AUTHORIZED}"}),
        ("carol", {"u#carol", "g#managers", f"g#{AUTHORIZED}"}),
    ],
)
def test_unassigned_task_query_reads_only_the_callers_partitions(
    users_client, index_reads, user, partitions
):
    client, task_id = users_client
    with aws.counting() as counter:
        found = expect(call(client, "GET", UNASSIGNED, headers=as_user(user)), 200)
    assert ids(found) == [task_id]
    assert {index for index, _ in index_reads} == {Index.CANDIDATE_SORT}
    assert {hash_value for _, hash_value in index_reads} == partitions
    # one index Query per partition of the caller (the whole listing took 8, one per shard)
    assert counter.counts["dynamodb"] == {"Query": len(partitions)}


def test_a_task_met_in_several_partitions_is_listed_once(users_client):
    client, task_id = users_client
    container = bootstrap.get_container()
    second = start(container, deploy_onboard(container), who="bo")[1]
    both = "taskinstance?_queryId=filtered-query&taskCandidateGroup=managers,internal/role/hr"
    assert ids(expect(call(client, "GET", both, headers=ADMIN), 200)) == [task_id, second]
    first = expect(call(client, "GET", both + "&_pageSize=1", headers=ADMIN), 200)
    rest = expect(
        call(
            client,
            "GET",
            both + "&_pageSize=1&_pagedResultsCookie=" + first["pagedResultsCookie"],
            headers=ADMIN,
        ),
        200,
    )
    assert ids(first) + ids(rest) == [task_id, second] and rest["pagedResultsCookie"] is None
    for user in ("bob", "carol", "hank"):
        found = expect(call(client, "GET", UNASSIGNED, headers=as_user(user)), 200)
        assert ids(found) == [task_id, second]


@pytest.mark.parametrize(
    "params, partitions",
    [
        ("taskCandidateUser=carol", {"u#carol", "g#managers", f"g#{AUTHORIZED}"}),
        ("taskCandidateGroup=nobody,managers", {"g#nobody", "g#managers"}),
    ],
)
def test_filtered_query_by_candidate_uses_the_index(users_client, index_reads, params, partitions):
    client, task_id = users_client
    found = expect(
        call(client, "GET", f"taskinstance?_queryId=filtered-query&{params}", headers=ADMIN), 200
    )
    assert ids(found) == [task_id]
    assert {index for index, _ in index_reads} == {Index.CANDIDATE_SORT}
    assert {hash_value for _, hash_value in index_reads} == partitions


def test_stronger_keys_still_win(users_client, index_reads):
    client, task_id = users_client
    found = expect(
        call(
            client,
            "GET",
            "taskinstance?_queryId=filtered-query&taskCandidateUser=bob&assignee=bob",
            headers=ADMIN,
        ),
        200,
    )
    assert ids(found) == [] and {i for i, _ in index_reads} == {Index.ASSIGNEE_SORT}


@pytest.mark.parametrize("action", ["claim", "complete", "delete instance"])
def test_candidate_items_leave_with_the_task(users_client, action):
    client, task_id = users_client
    assert len(candidate_items(task_id)) == 3  # u#bob, g#managers, g#internal/role/hr
    if action == "claim":
        expect(
            call(
                client,
                "POST",
                f"taskinstance/{task_id}?_action=claim",
                {"userId": "bob"},
                headers=ADMIN,
            ),
            200,
        )
    elif action == "complete":
        expect(
            call(
                client,
                "POST",
                f"taskinstance/{task_id}?_action=complete",
                {"decision": "reject"},
                headers=ADMIN,
            ),
            200,
        )
    else:
        instance_id = instance_of(task_id)
        expect(call(client, "DELETE", f"processinstance/{instance_id}", headers=ADMIN), 200)
    assert candidate_items(task_id) == []
    assert ids(expect(call(client, "GET", UNASSIGNED, headers=as_user("carol")), 200)) == []
