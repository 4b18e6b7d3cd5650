"""The WrenIDM/OpenIDM admin and end-user UIs and IDM's workflow scripts, replayed call by call
through Chalice's test client over moto, with the UI's own headers: ``Content-Type:
application/json`` on GET too, ``X-Requested-With: XMLHttpRequest``, no ``Accept-API-Version``,
``?`` and ``?&`` URLs, quoted and unquoted ``If-Match`` (DECISIONS.md, revised for issue 13).
"""

from __future__ import annotations

import base64
import json

import pytest

from chalicelib.service.definitions import deploy as deployments
from tests.support.deployments import deploy_simple
from tests.support.diagram import HEIGHT, WIDTH, decode, di_bpmn
from tests.support.rest import WF
from tests.support.tasks import ONBOARD, PASSWORDS

#: what the UIs' jQuery/Backbone requests carry (no Accept-API-Version)
UI = {
    "X-OpenIDM-Username": "openidm-admin",
    "X-OpenIDM-Password": "openidm-admin",
    "Content-Type": "application/json",
    "X-Requested-With": "XMLHttpRequest",
    "Accept": "application/json, text/javascript, */*; q=0.01",
}
#: what the browser sends for an <img> (the admin UI's diagram)
IMG = dict(UI, Accept="image/avif,image/webp,image/apng,image/*,*/*;q=0.8")
del IMG["Content-Type"]


def as_ui_user(name: str) -> dict:
    return dict(UI, **{"X-OpenIDM-Username": name, "X-OpenIDM-Password": PASSWORDS[name]})


def ui(client, method: str, path: str, payload=None, headers=None, expected: int = 200):
    """One UI call: ``path`` as the UI writes it (after ``/openidm/workflow/``)."""
    response = client.http.request(
        method,
        f"{WF}/{path}",
        headers=headers or UI,
        body=None if payload is None else json.dumps(payload).encode(),
    )
    assert response.status_code == expected, (method, path, response.status_code, response.body)
    if response.headers.get("Content-Type", "").startswith("image/"):
        return response
    return json.loads(response.body) if response.body else None


def _q(definition_id: str) -> str:
    return definition_id.replace(":", "%3A")


@pytest.fixture
def drawn(container) -> str:
    """A definition with diagram interchange, deployed as ``drawn.bpmn20.xml``."""
    return deployments.deploy(
        container, source="test:drawn", name="drawn", bpmn={"drawn.bpmn20.xml": di_bpmn("drawn")}
    ).definition_ids[0]


@pytest.fixture
def onboard(container) -> str:
    return deployments.deploy(
        container, source="test:onboard", name="onboard", bpmn={"onboard.bpmn20.xml": ONBOARD}
    ).definition_ids[0]


# --- query-all-ids: whole items ------------------------------------------------------------------


def test_end_user_start_list_and_getprocessesforuser_read_name_and_key(client, container, drawn):
    """``getprocessesforuser.js``: ``processdefinition`` ``query-all-ids``, then the
    process-access regex on a definition property (``name`` in IDM's sample); the end-user UI
    lists ``name`` and starts by ``key``."""
    listed = ui(client, "GET", "processdefinition?_queryId=query-all-ids")
    [item] = listed["result"]
    assert item["_id"] == drawn and item["name"] == "Drawn" and item["key"] == "drawn"
    assert item["version"] == 1 and item["deploymentId"]
    started = ui(
        client, "POST", "processinstance?_action=create", {"_key": item["key"]}, expected=201
    )
    assert started["processDefinitionId"] == drawn


def test_admin_workflow_picker_and_process_grid_after_a_filter_reset(client, container, drawn):
    """``ProcessListView``: ``processdefinition?_queryId=filtered-query`` (first page of 10),
    picks ``name`` and ``key``; ``ActiveProcessesView.reloadGrid`` with the filters reset:
    ``processinstance?_queryId=query-all-ids`` sorted by ``-startTime``, its columns
    ``processDefinitionResourceName``, ``startUserId``, ``startTime``."""
    for n in range(11):
        deploy_simple(container, key=f"simple{n:02d}", source=f"s{n}")
    picker = ui(
        client,
        "GET",
        "processdefinition?_queryId=filtered-query&_pageSize=10&_pagedResultsOffset=0"
        "&_totalPagedResultsPolicy=ESTIMATE",
    )
    assert picker["resultCount"] == 12 and picker["pagedResultsCookie"] is None
    assert all(item["name"] and item["key"] for item in picker["result"])
    first = ui(client, "POST", "processinstance?_action=create", {"_key": "drawn"}, expected=201)
    container.clock.advance(minutes=1)
    second = ui(client, "POST", "processinstance", {"_key": "simple03"}, expected=201)
    grid = ui(
        client,
        "GET",
        "processinstance?_queryId=query-all-ids&_pageSize=10&_sortKeys=-startTime"
        "&_totalPagedResultsPolicy=ESTIMATE",
    )
    assert [i["_id"] for i in grid["result"]] == [second["_id"], first["_id"]]
    for item in grid["result"]:
        assert item["processDefinitionResourceName"] and item["startUserId"] == "openidm-admin"
        assert item["startTime"].endswith("Z") and "processVariables" in item


@pytest.mark.parametrize(
    "path",
    [
        "taskinstance?_queryId=query-all-ids",
        "taskinstance/history?_queryId=query-all-ids",
        "processinstance/history?_queryId=query-all-ids",
        "execution?_queryId=query-all-ids",
        "job?_queryId=query-all-ids",
        "model?_queryId=query-all-ids",
    ],
)
def test_every_query_all_ids_answers_whole_items(client, container, onboard, path):
    ui(client, "POST", "processinstance", {"_key": "onboard", "who": "ann"}, expected=201)
    ui(client, "POST", "model", {"name": "A model"}, expected=201)
    all_ids = ui(client, "GET", path)
    everything = ui(client, "GET", path.replace("_queryId=query-all-ids", "_queryFilter=true"))
    assert all_ids["result"] == everything["result"]
    if not path.startswith("job"):
        assert all_ids["result"] and all(len(item) > 2 for item in all_ids["result"])


# --- the admin definition and instance pages ---------------------------------------------------


def test_definition_page_asks_all_fields_plus_the_diagram(client, drawn):
    """``ProcessDefinitionView``: ``processdefinition/<id>?&_fields=%2Cdiagram``."""
    read = ui(client, "GET", f"processdefinition/{_q(drawn)}?&_fields=%2Cdiagram")
    assert read["name"] == "Drawn" and read["key"] == "drawn" and read["formProperties"] == []
    assert read["diagram"].startswith("iVBORw")
    whole = ui(client, "GET", f"processdefinition/{_q(drawn)}?")
    assert {k: v for k, v in read.items() if k != "diagram"} == whole
    only = ui(client, "GET", f"processdefinition/{_q(drawn)}?_fields=diagram")
    assert set(only) == {"_id", "_rev", "diagram"}


def test_instance_page_shows_the_diagram_when_the_definition_names_one(client, drawn):
    """``ProcessInstanceView``: the instance, its definition; when
    ``processDiagramResourceName`` is set, the diagram as an ``<img>`` (running: the instance's,
    ended: the definition's)."""
    started = ui(client, "POST", "processinstance?_action=create", {"_key": "drawn"}, expected=201)
    instance = ui(client, "GET", f"processinstance/{started['_id']}?")
    definition = ui(client, "GET", f"processdefinition/{_q(instance['processDefinitionId'])}")
    assert definition["processDiagramResourceName"] == "drawn.drawn.png"
    for path in (
        f"processinstance/{started['_id']}?_fields=/diagram&_mimeType=image/png",
        f"processdefinition/{_q(definition['_id'])}?_fields=/diagram&_mimeType=image/png",
    ):
        image = ui(client, "GET", path, headers=IMG)
        assert decode(image.body)[:2] == (WIDTH, HEIGHT)
    encoded = ui(client, "GET", f"processinstance/{started['_id']}?_fields=diagram")
    assert base64.b64decode(encoded["diagram"]).startswith(b"\x89PNG")


# --- the admin "assign task" dialog --------------------------------------------------------------


def _open_task(client) -> dict:
    ui(client, "POST", "processinstance", {"_key": "onboard", "who": "ann"}, expected=201)
    [task] = ui(client, "GET", "taskinstance?_queryId=filtered-query&taskDefinitionKey=approve")[
        "result"
    ]
    return task


def test_assign_dialog_puts_back_the_whole_task_with_an_unquoted_if_match(client, onboard):
    """``TaskInstanceView`` reads the task; ``WorkflowUtils.assignTask`` sets ``assignee`` and
    ``model.save()``: ``PUT taskinstance/<id>?`` with every field it read and ``If-Match:
    <_rev>`` unquoted."""
    task_id = _open_task(client)["_id"]
    read = ui(client, "GET", f"taskinstance/{task_id}")
    assert {"candidates", "formProperties", "variables", "processVariables"} <= set(read)
    sent = dict(read, assignee="bob")
    answer = ui(
        client, "PUT", f"taskinstance/{task_id}?", sent, headers=dict(UI, **{"If-Match": "1"})
    )
    assert answer == {"_id": task_id, "Task updated": task_id}
    after = ui(client, "GET", f"taskinstance/{task_id}")
    assert after["assignee"] == "bob" and after["_rev"] == "2"
    # the other fields sent back unchanged changed nothing
    assert {k: v for k, v in after.items() if k not in ("assignee", "_rev")} == {
        k: v for k, v in read.items() if k not in ("assignee", "_rev")
    }
    # "None" in the dialog: assignee null; a stale revision, unquoted or quoted, is 412
    stale = dict(after, assignee=None)
    for rev in ("1", '"1"'):
        ui(
            client,
            "PUT",
            f"taskinstance/{task_id}?",
            stale,
            headers=dict(UI, **{"If-Match": rev}),
            expected=412,
        )
    ui(client, "PUT", f"taskinstance/{task_id}?", stale, headers=dict(UI, **{"If-Match": '"2"'}))
    assert ui(client, "GET", f"taskinstance/{task_id}")["assignee"] is None


def test_whole_task_with_a_field_no_task_has_is_still_refused(client, onboard):
    task_id = _open_task(client)["_id"]
    read = ui(client, "GET", f"taskinstance/{task_id}")
    refused = ui(
        client,
        "PUT",
        f"taskinstance/{task_id}?",
        dict(read, assignee="bob", businessKey="x"),
        headers=dict(UI, **{"If-Match": "*"}),
        expected=400,
    )
    assert "'businessKey'" in refused["message"]


# --- unknown actions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "processinstance?_action=frobnicate",
        "processinstance/{instance}?_action=frobnicate",
        "processinstance/history?_action=frobnicate",
        "processinstance/history/{instance}?_action=frobnicate",
        "processdefinition?_action=frobnicate",
        "processdefinition/{definition}?_action=frobnicate",
        "taskinstance?_action=frobnicate",
        "taskinstance/history?_action=frobnicate",
        "execution?_action=frobnicate",
        "job?_action=frobnicate",
        "job/deadletter?_action=frobnicate",
        "model?_action=frobnicate",
    ],
)
def test_unknown_action_is_400_on_every_resource(client, onboard, path):
    started = ui(client, "POST", "processinstance", {"_key": "onboard", "who": "a"}, expected=201)
    url = path.format(instance=started["_id"], definition=_q(onboard))
    answer = ui(client, "POST", url, {}, expected=400)
    assert answer["message"].startswith("Unknown action"), answer


# --- IDM's workflow scripts and the end-user UI ------------------------------------------------


def test_gettasksview_and_end_user_self_assignment(users_client):
    """``gettasksview.js`` (IDM 7: ``unassignedTaskQuery`` paged by offset; before it:
    candidate user and candidate group ``filtered-query``s, and the caller's assigned tasks),
    each task read with its instance and task definition; then the end user takes the task
    with ``PUT {assignee}`` and ``If-Match: "*"``, or with the whole task they read."""
    client, task_id = users_client
    hank = as_ui_user("hank")
    page = ui(
        client,
        "GET",
        "taskinstance?_queryId=unassignedTaskQuery&_pageSize=50&_pagedResultsOffset=0",
        headers=hank,
    )
    assert [t["_id"] for t in page["result"]] == [task_id]
    by_user = ui(client, "GET", "taskinstance?_queryId=filtered-query&taskCandidateUser=bob")
    by_group = ui(
        client,
        "GET",
        "taskinstance?_queryId=filtered-query"
        "&taskCandidateGroup=internal/role/openidm-authorized,internal/role/hr",
    )
    assert [t["_id"] for t in by_user["result"]] == [t["_id"] for t in by_group["result"]]
    task = ui(client, "GET", f"taskinstance/{task_id}", headers=hank)
    instance = ui(client, "GET", f"processinstance/{task['processInstanceId']}")
    assert instance["businessKey"] is None and instance["startUserId"]
    definition = ui(
        client,
        "GET",
        f"processdefinition/{_q(task['processDefinitionId'])}/taskdefinition/"
        f"{task['taskDefinitionKey']}",
    )
    assert definition["_id"] == "approve" and definition["formResourceKey"] == "approve.js"
    ui(
        client,
        "PUT",
        f"taskinstance/{task_id}",
        {"assignee": "hank"},
        headers=dict(hank, **{"If-Match": '"*"'}),
    )
    mine = ui(client, "GET", "taskinstance?_queryId=filtered-query&assignee=hank")
    assert [t["_id"] for t in mine["result"]] == [task_id]
    again = ui(client, "GET", f"taskinstance/{task_id}", headers=hank)
    ui(
        client,
        "PUT",
        f"taskinstance/{task_id}?",
        dict(again, assignee="hank"),
        headers=dict(hank, **{"If-Match": again["_rev"]}),
    )
