"""bench/scale.py's bulk writer: its cloned instances are ones the API lists and filters."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bench import scale
from tests.support.rest import ADMIN


def _query(client, path: str) -> list[dict]:
    response = client.http.get(f"/openidm/workflow/{path}", headers=ADMIN)
    assert response.status_code == 200, response.body
    return json.loads(response.body)["result"]


def _deploy_scale(container) -> str:
    """Deploy the scale benchmark's process; its definition id."""
    from chalicelib.service.definitions import deploy as deployments

    return deployments.deploy(
        container,
        source="test:scale",
        name="benchScale.bpmn20.xml",
        bpmn={"benchScale.bpmn20.xml": scale.SCALE},
    ).definition_ids[0]


def test_bulk_written_instances_are_listed_and_filtered(container, client):
    definition_id = _deploy_scale(container)
    running, finished = scale.templates(container, definition_id)
    first = datetime(2026, 1, 1, tzinfo=UTC)
    written = scale.bulk_write(container.store, running, finished, 20, first_start=first)
    assert written == 18 * len(running) + 2 * len(finished)

    instances = _query(client, "processinstance?_queryFilter=true&_pageSize=100")
    assert len(instances) == 1 + 18  # the running template and the running clones
    assert len({i["_id"] for i in instances}) == len(instances)
    [seventh] = _query(client, 'processinstance?_queryFilter=businessKey eq "bk-7"')
    assert seventh["startUserId"] == "user-7"
    assert seventh["startTime"].startswith("2026-01-01T00:07:00")
    assert len(_query(client, "processinstance?_queryId=filtered-query&var-n=7")) == 1
    groups = _query(client, "taskinstance?_queryId=filtered-query&taskCandidateGroup=g3")
    assert len(groups) == 2  # instances 3 and 13
    unassigned = _query(client, "taskinstance?_queryId=filtered-query&unassigned=true")
    assert len(unassigned) == 1 + 18  # the template's task and every running clone's
    by_key = "taskinstance?_queryId=filtered-query&processDefinitionKey=benchScale"
    assert {t["_id"] for t in _query(client, by_key)} == {t["_id"] for t in unassigned}
    history = _query(client, "processinstance/history?_queryFilter=true&_pageSize=100")
    assert len(history) == 2 + 20
    assert sum(1 for h in history if h.get("endTime")) == 1 + 2  # template, 9 and 19


def test_assigned_clones_and_task_history_are_listed_and_counted(container, client):
    """One clone in ten (numbers ending in 5) has its task assigned and over 4 KB of variables;
    every task has its start user as a candidate; historic tasks are in their state's shard and
    counted."""
    definition_id = _deploy_scale(container)
    running, finished = scale.templates(container, definition_id)
    assigned = scale.assigned_template(container, definition_id)
    first = datetime(2026, 1, 1, tzinfo=UTC)
    scale.bulk_write(container.store, running, finished, 60, first_start=first, assigned=assigned)

    mine = _query(client, "taskinstance?_queryId=filtered-query&assignee=openidm-admin")
    assert len(mine) == 1 + 6  # the template's, and 5, 15, ..., 55
    candidate = _query(client, "taskinstance?_queryId=filtered-query&taskCandidateUser=user-7")
    assert len(candidate) == 2  # instances 7 and 57 (the assigned 5s are user-5's)
    exact = "&_pageSize=5&_totalPagedResultsPolicy=EXACT"
    for params, expected in (
        ("_queryFilter=true", 3 + 60),  # the templates' and every clone's task
        ("_queryId=filtered-query&finished=true", 1 + 6),  # the completed ones: 9, 19, ...
        ("_queryId=filtered-query&unfinished=true", 2 + 54),
    ):
        response = client.http.get(
            f"/openidm/workflow/taskinstance/history?{params}{exact}", headers=ADMIN
        )
        body = json.loads(response.body)
        assert body["totalPagedResults"] == expected, params
        assert len(body["result"]) == 5
    walked = _query(
        client, "taskinstance/history?_queryId=filtered-query&unfinished=true&_pageSize=100"
    )
    assert len(walked) == 2 + 54
    # the assigned clones' variables (over 4 KB) are read by the names their items carry
    for path in ("processinstance", "processinstance/history"):
        [found] = _query(client, f'{path}?_queryFilter=businessKey eq "bk-15"')
        assert found["processVariables"]["note"] == scale.BIG_NOTE, path
        assert found["processVariables"]["n"] == 15, path


def test_bulk_written_jobs_are_counted(container, client):
    from chalicelib.service.jobs.backfill import recount_jobs
    from chalicelib.service.repositories.jobs import count_of, counter_items

    first = datetime(2026, 1, 1, tzinfo=UTC)
    assert scale.bulk_jobs(container.store, 40, first_start=first) == 40
    assert scale.bulk_jobs(container.store, 20, first_start=first, offset=40) == 20
    exact = "_queryFilter=true&_pageSize=5&_totalPagedResultsPolicy=EXACT"
    for path, expected in (("job", 57), ("job/deadletter", 3)):  # every 20th one dead
        response = client.http.get(f"/openidm/workflow/{path}?{exact}", headers=ADMIN)
        assert json.loads(response.body)["totalPagedResults"] == expected
    # a recount folds the seeding's counter items into the 8 shards, to the same totals
    recount_jobs(container.store)
    assert (count_of(container.store), count_of(container.store, dead=True)) == (57, 3)
    assert sorted(counter_items(container.store)) == [str(shard) for shard in range(8)]
