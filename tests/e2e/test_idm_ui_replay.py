"""The IDM admin and end-user UIs replayed over HTTP against the real launcher with
``workflow/`` deployed (what ``make run`` serves), with the UI's own headers: ``Content-Type:
application/json`` on GET, ``X-Requested-With``, no ``Accept-API-Version``, ``?`` and ``?&``
URLs, an unquoted ``If-Match`` (DECISIONS.md, revised for issue 13)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.support.launcher import WF, running_launcher

UI = {
    "X-OpenIDM-Username": "openidm-admin",
    "X-OpenIDM-Password": "openidm-admin",
    "Content-Type": "application/json",
    "X-Requested-With": "XMLHttpRequest",
    "Accept": "application/json, text/javascript, */*; q=0.01",
}
IMG = {
    "X-OpenIDM-Username": "openidm-admin",
    "X-OpenIDM-Password": "openidm-admin",
    "Accept": "image/avif,image/webp,image/apng,image/*,*/*;q=0.8",
}


@pytest.fixture(scope="module")
def launcher():
    with running_launcher(deploy_workflows=True) as running:
        yield running


def raw(launcher, method: str, path: str, payload=None, headers=None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(
        f"{launcher.url}{WF}/{path}",
        method=method,
        headers=headers or UI,
        data=None if payload is None else json.dumps(payload).encode(),
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def ui(launcher, method: str, path: str, payload=None, headers=None, expected: int = 200):
    status, _, data = raw(launcher, method, path, payload, headers)
    assert status == expected, (method, path, status, data)
    return json.loads(data or b"{}")


def test_admin_and_end_user_screens_end_to_end(launcher):
    # end user: start list (getprocessesforuser.js: query-all-ids, then name/key)
    listed = ui(launcher, "GET", "processdefinition?_queryId=query-all-ids")
    keys = {item["key"]: item for item in listed["result"]}
    assert "contractorOnboarding" in keys and all(item["name"] for item in listed["result"])
    # admin workflow picker: filtered-query with the grid's paging, every definition back
    picker = ui(
        launcher,
        "GET",
        "processdefinition?_queryId=filtered-query&_pageSize=1&_totalPagedResultsPolicy=ESTIMATE",
    )
    assert picker["resultCount"] == len(listed["result"]) > 1
    # start, then the process grid after a filter reset
    started = ui(
        launcher,
        "POST",
        "processinstance?_action=create",
        {"_key": "contractorOnboarding", "userName": "jdoe", "givenName": "Jane"},
        expected=201,
    )
    grid = ui(
        launcher, "GET", "processinstance?_queryId=query-all-ids&_pageSize=10&_sortKeys=-startTime"
    )
    [row] = [r for r in grid["result"] if r["_id"] == started["_id"]]
    assert row["processDefinitionResourceName"] and row["startUserId"] == "openidm-admin"
    # the instance page: its definition names a diagram, so the <img> is asked for
    instance = ui(launcher, "GET", f"processinstance/{started['_id']}?")
    definition_id = instance["processDefinitionId"].replace(":", "%3A")
    definition = ui(launcher, "GET", f"processdefinition/{definition_id}")
    assert (
        definition["processDiagramResourceName"] == "contractorOnboarding.contractorOnboarding.png"
    )
    status, headers, png = raw(
        launcher,
        "GET",
        f"processinstance/{started['_id']}?_fields=/diagram&_mimeType=image/png",
        headers=IMG,
    )
    assert status == 200 and headers["Content-Type"] == "image/png"
    assert png.startswith(b"\x89PNG")
    # the definition page: all fields plus the diagram
    page = ui(launcher, "GET", f"processdefinition/{definition_id}?&_fields=%2Cdiagram")
    assert page["name"] == definition["name"] and page["diagram"].startswith("iVBORw")
    # the assign dialog: the whole task back, assignee changed, If-Match unquoted
    [task] = ui(
        launcher,
        "GET",
        f"taskinstance?_queryId=filtered-query&processInstanceId={started['_id']}",
    )["result"]
    read = ui(launcher, "GET", f"taskinstance/{task['_id']}")
    answer = ui(
        launcher,
        "PUT",
        f"taskinstance/{task['_id']}?",
        dict(read, assignee="openidm-admin"),
        headers=dict(UI, **{"If-Match": read["_rev"]}),
    )
    assert answer == {"_id": task["_id"], "Task updated": task["_id"]}
    assert ui(launcher, "GET", f"taskinstance/{task['_id']}")["assignee"] == "openidm-admin"
    # an unknown action is a 400 Unknown action
    unknown = ui(launcher, "POST", "processinstance?_action=frobnicate", {}, expected=400)
    assert unknown["message"].startswith("Unknown action")
