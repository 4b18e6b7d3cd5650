"""The samples of ``workflow/`` through the real launcher (what ``make run`` serves), over HTTP.

Tasks are completed through the service in this process until the ``taskinstance`` routes land
(the launcher runs here, so its container is ``get_container()``).
"""

from __future__ import annotations

import pytest

from tests.support.launcher import WF, get_json, post_json, running_launcher, wait_until

#: the seed's second curl example, headers as written
SEED_HEADERS = {
    "Content-Type": "application/json",
    "X-OpenIDM-Username": "openidm-admin",
    "X-OpenIDM-Password": "openidm-admin",
    "Accept-API-Version": "resource=1.0",
}


@pytest.fixture(scope="module")
def demo_api():
    """The stand-in provisioning API ``contractorOnboarding``'s HTTP task calls."""
    from chalicelib.local.demo_api import DemoApi
    from tests.support.env import TEST_ENV

    api = DemoApi("127.0.0.1", 0, TEST_ENV["WORKFLOW_HTTP_SECRET_PROVISIONING"]).start()
    yield api
    api.stop()


@pytest.fixture(scope="module")
def launcher(demo_api):
    """The launcher with ``workflow/`` deployed (the samples), allowed to call ``demo_api``."""
    with running_launcher(deploy_workflows=True, WORKFLOW_HTTP_ALLOW=f"{demo_api.url}/") as running:
        yield running


def post(launcher, path: str, payload: dict) -> tuple[int, dict, dict]:
    """POST ``payload`` to the workflow route ``path`` with the seed's headers."""
    return post_json(f"{launcher.url}{WF}/{path}", payload, SEED_HEADERS)


def get(launcher, path: str) -> dict:
    """GET the workflow route ``path`` as the admin; asserts 200, returns the body."""
    return get_json(f"{launcher.url}{WF}/{path}")


def complete(task_id: str, **variables) -> None:
    """Complete a task through the service in this process (as the admin)."""
    from chalicelib.bootstrap import get_container
    from chalicelib.engine.runtime import CompleteTask
    from chalicelib.ids import instance_of
    from chalicelib.service.unit_of_work import run_command

    def build(uow):
        uow.load(instance_of(task_id))
        return CompleteTask(task_id, variables, "openidm-admin")

    run_command(get_container(), build)


def test_seed_start_example_waits_for_a_manager(launcher):
    status, headers, data = post(
        launcher, "processinstance?_action=create", {"_key": "contractorOnboarding", "foo": "bar"}
    )
    assert status == 201, data
    assert data["status"] == "suspended" and data["businessKey"] is None
    assert data["processDefinitionId"].startswith("contractorOnboarding:1:")
    assert headers["Location"].endswith(f"/processinstance/{data['_id']}")
    read = get(launcher, f"processinstance/{data['_id']}")
    assert read["processDefinitionResourceName"] == "Contractor onboarding process"
    assert read["processVariables"]["foo"] == "bar"
    assert read["processVariables"]["startUserId"] == "openidm-admin"
    [task] = read["tasks"]
    assert (
        task["taskDefinitionKey"] == "approveContractor" and task["formKey"] == "contractorForm.js"
    )
    assert task["description"] == "Approve or reject (no user name) requested by openidm-admin"
    listed = get(
        launcher,
        "processinstance?_queryId=filtered-query"
        "&processDefinitionKey=contractorOnboarding&var-foo=bar",
    )
    assert data["_id"] in [item["_id"] for item in listed["result"]]


def test_contractor_accepted_ends_with_the_user_provisioned(launcher, demo_api):
    status, _, data = post(
        launcher,
        "processinstance",
        {
            "_key": "contractorOnboarding",
            "_businessKey": "contractor-42",
            "userName": "jdoe",
            "givenName": "Jane",
            "sn": "Doe",
            "mail": "jdoe@example.com",
            "startDate": "2026-12-01T09:00:00.000Z",
            "provisioningApi": demo_api.url,
        },
    )
    assert status == 201, data
    [task] = get(launcher, f"processinstance/{data['_id']}")["tasks"]
    complete(task["_id"], decision="accept")
    # the HTTP and mail tasks run as jobs after the commit; then the instance ends
    assert wait_until(
        lambda: get(launcher, f"processinstance/history/{data['_id']}")["endTime"] is not None
    )
    ended = get(launcher, f"processinstance/{data['_id']}")  # as IDM: finished ones read too
    assert ended["endTime"] is not None
    [done] = ended["tasks"]
    assert done["taskLocalVariables"] == {"decision": "accept"} and done["endTime"] is not None
    history = get(launcher, f"processinstance/history/{data['_id']}")
    assert history["businessKey"] == "contractor-42" and history["endActivityId"] == "end"
    assert history["processVariables"]["outcome"] == "accepted"
    assert history["processVariables"]["provisionedUser"]["mail"] == "jdoe@example.com"
    finished = get(
        launcher,
        "processinstance/history?_queryId=filtered-query&finished=true"
        "&processInstanceBusinessKey=contractor-42",
    )
    assert [item["_id"] for item in finished["result"]] == [data["_id"]]


def test_role_request_two_levels_with_a_called_security_review(launcher):
    status, _, data = post(
        launcher,
        "processinstance?_action=create",
        {"_key": "roleRequest", "role": "payroll-admin", "sensitivity": "high"},
    )
    assert status == 201, data
    [manager_task] = get(launcher, f"processinstance/{data['_id']}")["tasks"]
    assert manager_task["taskDefinitionKey"] == "managerApproval"
    complete(manager_task["_id"], managerDecision="approve")
    parent = get(launcher, f"processinstance/{data['_id']}")
    # waiting in the call activity: the only task is the finished approval
    assert [(t["taskDefinitionKey"], t["endTime"] is not None) for t in parent["tasks"]] == [
        ("managerApproval", True)
    ]
    called = get(
        launcher, f"processinstance?_queryId=filtered-query&superProcessInstanceId={data['_id']}"
    )
    [review] = called["result"]
    assert review["processDefinitionKey"] == "securityReview"
    assert review["processVariables"] == {"role": "payroll-admin", "requester": "openidm-admin"}
    [security_task] = get(launcher, f"processinstance/{review['_id']}")["tasks"]
    assert (
        security_task["description"] == "openidm-admin asks for the sensitive role payroll-admin."
    )
    complete(security_task["_id"], securityDecision="approve")
    history = get(launcher, f"processinstance/history/{data['_id']}")
    assert history["endActivityId"] == "granted"
    assert history["processVariables"]["grantedRole"] == "payroll-admin"
    review_history = get(launcher, f"processinstance/history/{review['_id']}")
    assert review_history["superProcessInstanceId"] == data["_id"]


def test_role_request_normal_role_skips_security_and_rejection_ends(launcher):
    status, _, normal = post(
        launcher,
        "processinstance",
        {"_key": "roleRequest", "role": "wiki-editor", "sensitivity": "normal"},
    )
    assert status == 201
    [task] = get(launcher, f"processinstance/{normal['_id']}")["tasks"]
    complete(task["_id"], managerDecision="approve")
    assert get(launcher, f"processinstance/history/{normal['_id']}")["endActivityId"] == "granted"
    status, _, refused = post(
        launcher, "processinstance", {"_key": "roleRequest", "role": "root", "sensitivity": "high"}
    )
    [task] = get(launcher, f"processinstance/{refused['_id']}")["tasks"]
    complete(task["_id"], managerDecision="reject")
    history = get(launcher, f"processinstance/history/{refused['_id']}")
    assert history["endActivityId"] == "rejected"
    assert "grantedRole" not in history["processVariables"]
