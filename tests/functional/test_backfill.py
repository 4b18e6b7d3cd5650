"""The layout backfill command over moto, through the DynamoDB store: a runtime table made
before the ``lookup-sort`` index, instances written as the old code wrote them, ``--add-index``,
and the queries that find them afterwards."""

from __future__ import annotations

import io
import json
from urllib.parse import quote

import pytest

from chalicelib import aws
from chalicelib.local.backfill import EXIT_MISSING_INDEX, main
from chalicelib.service.repositories import counters
from chalicelib.service.repositories.history_index import FINISHED, history_count
from chalicelib.storage.dynamo import missing_indexes
from chalicelib.storage.dynamo.models import table_name
from chalicelib.storage.ports import INDEXES, AddCount, Index, Table
from tests.support.layout import make_old, make_old_history
from tests.support.rest import ADMIN, WF
from tests.support.tasks import deploy_onboard, start


def recreate_runtime_table_without_lookup_sort(settings, table: Table = Table.RUNTIME) -> None:
    """The runtime (or history) table as ``create_tables`` made it before ``lookup-sort``."""
    client = aws.client("dynamodb", settings.region, settings.endpoint_url)
    name = table_name(settings, table)
    client.delete_table(TableName=name)
    indexes = [index.spec for index in INDEXES[table] if index != Index.LOOKUP_SORT]
    attributes = {"pk", "sk"} | {a for spec in indexes for a in (spec.hash_attr, spec.range_attr)}
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": a, "AttributeType": "S"} for a in sorted(attributes)
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": spec.name,
                "KeySchema": [
                    {"AttributeName": spec.hash_attr, "KeyType": "HASH"},
                    {"AttributeName": spec.range_attr, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for spec in indexes
        ],
    )


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    status = main(list(argv), out=out)
    return status, out.getvalue()


@pytest.fixture
def aws_backend(monkeypatch):
    """The command's backend is "aws"; moto's mock answers every call in the test."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("WORKFLOW_BACKEND", "aws")


def running_ids(client, query: str) -> set[str]:
    response = client.http.get(f"{WF}/processinstance?{query}", headers=ADMIN)
    assert response.status_code == 200, response.body
    return {row["_id"] for row in json.loads(response.body)["result"]}


def candidate_tasks(client, group: str) -> set[str]:
    query = f"_queryId=filtered-query&taskCandidateGroup={quote(group)}&unassigned=true"
    response = client.http.get(f"{WF}/taskinstance?{query}", headers=ADMIN)
    assert response.status_code == 200, response.body
    return {row["processInstanceId"] for row in json.loads(response.body)["result"]}


def task_instances(client, query: str) -> set[str]:
    response = client.http.get(f"{WF}/taskinstance?{query}", headers=ADMIN)
    assert response.status_code == 200, response.body
    return {row["processInstanceId"] for row in json.loads(response.body)["result"]}


def total(client, resource: str, query: str) -> int:
    url = f"{WF}/{resource}?{query}&_pageSize=1&_totalPagedResultsPolicy=EXACT"
    response = client.http.get(url, headers=ADMIN)
    assert response.status_code == 200, response.body
    return json.loads(response.body)["totalPagedResults"]


def test_missing_index_add_index_and_backfill(client, container, aws_backend):
    settings = container.settings
    recreate_runtime_table_without_lookup_sort(settings)
    assert missing_indexes(settings, Table.RUNTIME) == [Index.LOOKUP_SORT]
    definition_id = deploy_onboard(container)
    old = [start(container, definition_id, who=f"w{n}")[0] for n in range(2)]
    for instance_id in old:
        make_old(container.store, instance_id)

    status, output = run("--dry-run")
    assert status == EXIT_MISSING_INDEX
    assert "--add-index" in output and "update-table" in output and "lookup-sort" in output
    assert missing_indexes(settings, Table.RUNTIME) == [Index.LOOKUP_SORT]  # nothing touched

    status, output = run("--dry-run", "--add-index")
    assert status == 0, output
    assert "would create the lookup-sort index" in output
    assert "updated 2" in output
    assert missing_indexes(settings, Table.RUNTIME) == [Index.LOOKUP_SORT]

    # counts the old code never kept: off by 5 here, set right by the recount
    listing = counters.counter_pk(Index.KIND_SHARD_SORT, "instance")
    container.store.transact([AddCount(Table.RUNTIME, listing, "0", 5)])
    assert total(client, "processinstance", "_queryFilter=true") == 7
    status, output = run("--add-index")
    assert status == 0, output
    assert missing_indexes(settings, Table.RUNTIME) == []
    assert "scanned 2, updated 2, already current 0, conflicts 0" in output
    assert "counter items" in output
    assert total(client, "processinstance", "_queryFilter=true") == 2
    assert (
        total(client, "processinstance", "_queryId=filtered-query&processDefinitionKey=onboard")
        == 2
    )
    assert total(client, "taskinstance", "_queryId=filtered-query&taskCandidateGroup=managers") == 2
    for task_query in (
        "_queryId=filtered-query&unassigned=true",
        "_queryId=filtered-query&processDefinitionKey=onboard",
        f"_queryId=filtered-query&processDefinitionId={quote(definition_id)}",
    ):  # the task lookup items and their counts
        assert total(client, "taskinstance", task_query) == 2
        assert task_instances(client, task_query) == set(old)

    key_query = "_queryId=filtered-query&processDefinitionKey=onboard"
    assert running_ids(client, key_query) == set(old)
    filter_query = "_queryFilter=" + quote(f'processDefinitionId eq "{definition_id}"')
    assert running_ids(client, filter_query) == set(old)
    assert candidate_tasks(client, "managers") == set(old)
    response = client.http.delete(f"{WF}/processdefinition/{definition_id}", headers=ADMIN)
    assert response.status_code == 409, response.body  # the delete check sees them

    status, output = run()
    assert status == 0, output
    assert "scanned 2, updated 0, already current 2, conflicts 0" in output


def history_ids(client, query: str) -> list[str]:
    response = client.http.get(f"{WF}/processinstance/history?{query}", headers=ADMIN)
    assert response.status_code == 200, response.body
    return [row["_id"] for row in json.loads(response.body)["result"]]


def test_history_table_without_the_index_and_old_history(client, container, aws_backend):
    """History written before the read model: ``--add-index`` adds the history table's
    ``lookup-sort``, the backfill its lookup items and listed variables, and recounts."""
    settings = container.settings
    recreate_runtime_table_without_lookup_sort(settings, Table.HISTORY)
    assert missing_indexes(settings, Table.HISTORY) == [Index.LOOKUP_SORT]
    definition_id = deploy_onboard(container)
    old = [start(container, definition_id, who=f"w{n}")[0] for n in range(3)]
    response = client.http.delete(f"{WF}/processinstance/{old[0]}", headers=ADMIN)
    assert response.status_code == 200, response.body
    for instance_id in old:
        make_old_history(container.store, instance_id)
    # a count that drifted (as an old instance ending after the layout leaves it)
    container.store.transact(
        [counters.add(Table.HISTORY, Index.LOOKUP_SORT, "state=finished", "x", 5)]
    )
    assert history_count(container.store, state=FINISHED) == 6

    status, output = run("--dry-run")
    assert status == EXIT_MISSING_INDEX and "history table" in output, output

    status, output = run("--add-index")
    assert status == 0, output
    assert missing_indexes(settings, Table.HISTORY) == []
    assert "history: scanned 3, updated 3, already current 0, conflicts 0" in output
    assert history_ids(client, "_queryId=filtered-query&finished=true") == [old[0]]
    assert history_ids(client, "_queryId=filtered-query&unfinished=true") == old[1:]
    assert history_ids(client, "_queryFilter=" + quote('startUserId eq "starter-user"')) == old
    assert history_count(container.store, state=FINISHED) == 1
    assert history_count(container.store) == 3
    with aws.counting() as counter:
        response = client.http.get(
            f"{WF}/processinstance/history?_queryId=filtered-query&finished=true", headers=ADMIN
        )
    [finished] = json.loads(response.body)["result"]
    assert finished["processVariables"]  # listed on the process item: no Query of its own
    assert counter.counts["dynamodb"] == {"Query": 8, "BatchGetItem": 1}

    status, output = run()
    assert status == 0, output
    assert "history: scanned 3, updated 0, already current 3" in output
    assert "counters fixed 0" in output
