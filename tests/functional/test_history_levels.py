"""A definition's own ``<flowable:historyLevel>`` through the REST API, over moto.

The service keeps ``audit`` history; a process that says ``none`` keeps nothing in the history
table (and still runs, reads and completes as any other), one that says ``instance`` keeps only
its historic process instance (no task history).
"""

from __future__ import annotations

import pytest

from chalicelib import bootstrap
from chalicelib.service.repositories.history_index import HISTORY_LOOKUP_KIND
from chalicelib.storage.ports import Table
from tests.support.instances import WAITING, deploy, start
from tests.support.rest import ADMIN, WF, call, expect, ids


def _with_level(key: str, level: str) -> str:
    """The WAITING process (script, then an approval task) under its own history level."""
    text = WAITING.format(key=key, name=key)
    opening = f'<process id="{key}" name="{key}" isExecutable="true">'
    assert opening in text
    return text.replace(
        opening,
        opening + "<extensionElements><flowable:historyLevel>"
        f"{level}</flowable:historyLevel></extensionElements>",
    )


def _run_to_the_end(client, key: str) -> str:
    """Start by key, read it, find and complete its task through REST; the instance id."""
    started = start(client, {"_key": key, "extra": "x"})
    assert started.status_code == 201, started.body
    instance_id = expect(started, 201)["_id"]
    running = expect(client.http.get(f"{WF}/processinstance/{instance_id}", headers=ADMIN), 200)
    assert running["processVariables"]["prepared"].startswith("yes ")
    [task_id] = ids(
        expect(
            call(
                client,
                "GET",
                f"taskinstance?_queryId=filtered-query&processInstanceId={instance_id}",
                headers=ADMIN,
            ),
            200,
        )
    )
    expect(
        call(client, "POST", f"taskinstance/{task_id}?_action=claim", {"userId": "openidm-admin"}),
        200,
    )
    expect(call(client, "POST", f"taskinstance/{task_id}?_action=complete", {"ok": True}), 200)
    return instance_id


def _history_items(instance_id: str) -> list[str]:
    """The sort keys of the instance's history records (its lookup items left out)."""
    store = bootstrap.get_container().store
    return [
        item.sk
        for item in store.query(Table.HISTORY, instance_id).items
        if item.kind != HISTORY_LOOKUP_KIND
    ]


def test_level_none_runs_and_keeps_no_history(client, container):
    deploy(container, key="quiet", bpmn=_with_level("quiet", "none"))
    instance_id = _run_to_the_end(client, "quiet")
    assert _history_items(instance_id) == []
    expect(client.http.get(f"{WF}/processinstance/history/{instance_id}", headers=ADMIN), 404)
    listed = expect(
        client.http.get(f"{WF}/processinstance/history?_queryFilter=true", headers=ADMIN), 200
    )
    assert instance_id not in ids(listed)


def test_level_instance_keeps_the_process_instance_only(client, container):
    deploy(container, key="brief", bpmn=_with_level("brief", "instance"))
    instance_id = _run_to_the_end(client, "brief")
    assert _history_items(instance_id) == ["#process"]
    ended = expect(
        client.http.get(f"{WF}/processinstance/history/{instance_id}", headers=ADMIN), 200
    )
    assert ended["endTime"] is not None and ended["endActivityId"] == "finish"
    tasks = expect(
        client.http.get(
            f"{WF}/taskinstance/history?_queryId=filtered-query&processInstanceId={instance_id}",
            headers=ADMIN,
        ),
        200,
    )
    assert ids(tasks) == []


@pytest.mark.parametrize("level", ["", "audit"])
def test_the_service_level_or_audit_keeps_activities_tasks_and_variables(client, container, level):
    key = f"full{level}"
    bpmn = _with_level(key, level) if level else WAITING.format(key=key, name=key)
    deploy(container, key=key, bpmn=bpmn)
    instance_id = _run_to_the_end(client, key)
    kinds = {sk.split("#")[0] for sk in _history_items(instance_id)}
    assert kinds == {"", "acts", "task", "var"}  # "#process" splits to ""
