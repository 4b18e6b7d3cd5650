"""README "Walkthrough: a timer and a message with curl", command by command, over HTTP against
the real launcher (what ``make run`` serves, ``workflow/`` deployed at start)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.env import REPO
from tests.support.launcher import WF, get_json, post_json, running_launcher, wait_until
from tests.support.rest import ADMIN

JSON = dict(ADMIN, **{"Content-Type": "application/json"})
SAMPLE = REPO / "workflow" / "reminder.bpmn20.xml"


@pytest.fixture(scope="module")
def service():
    """The workflow routes' base URL of a launcher that deployed ``workflow/`` at start (as
    ``make run``), ticking every 0.2 s."""
    with running_launcher(deploy_workflows=True, WORKFLOW_LOCAL_TICK_SECONDS="0.2") as running:
        yield running.url + WF


def post(url: str, body: dict | None = None, expected: int = 200) -> dict:
    """POST ``body`` (default ``{}``) as the admin; asserts the ``expected`` status, returns
    the body."""
    status, _, answer = post_json(url, body or {}, JSON)
    assert status == expected, answer
    return answer


def test_the_sample_is_deployed_at_start(service):
    found = get_json(f"{service}/processdefinition?_queryFilter=key%20eq%20%22reminder%22")
    assert [d["key"] for d in found["result"]] == ["reminder"]


def test_walkthrough_timer_and_message(service):
    # 1. deploy (again) through a model: POST model with the file as bpmnXML, then deploy
    model = post(
        f"{service}/model", {"name": "reminder", "bpmnXML": SAMPLE.read_text()}, expected=201
    )
    deployed = post(f"{service}/model/{model['_id']}?_action=deploy")
    assert deployed["duplicate"] is False
    assert deployed["processDefinitionIds"][0].startswith("reminder:2:")
    versions = get_json(f"{service}/processdefinition?_queryFilter=key%20eq%20%22reminder%22")
    assert sorted(d["version"] for d in versions["result"]) == [1, 2]

    # 2. start it with a business key
    started = post(
        f"{service}/processinstance?_action=create",
        {"_key": "reminder", "_businessKey": "invoice-42", "amount": 120},
        expected=201,
    )
    instance = started["_id"]
    assert started["processDefinitionId"].startswith("reminder:2:")

    # 3. its timer, due in an hour
    timers = get_json(
        f"{service}/job?_queryId=filtered-query&timersOnly=true&processInstanceId={instance}"
    )
    [timer] = timers["result"]
    assert timer["jobType"] == "timer" and timer["elementId"] == "reminderDue"
    due = datetime.fromisoformat(timer["dueDate"].replace("Z", "+00:00"))
    assert timedelta(minutes=59) < due - datetime.now(UTC) <= timedelta(hours=1)

    # 4. fire it now instead of waiting: the reminder is sent, the instance still waits
    fired = post(f"{service}/job/{timer['_id']}?_action=execute")
    assert fired == {"_id": timer["_id"], "status": "executed"}
    assert (
        get_json(
            f"{service}/job?_queryId=filtered-query&timersOnly=true&processInstanceId={instance}"
        )["result"]
        == []
    )
    running = get_json(f"{service}/processinstance/{instance}")
    assert running["processVariables"]["remindersSent"] == 1

    # 5. the payment arrives: a message by business key ends the wait
    delivered = post(
        f"{service}/execution?_action=message",
        {
            "messageName": "paymentReceived",
            "businessKey": "invoice-42",
            "processVariables": {"paidAmount": 120},
        },
    )
    assert delivered["status"] == "delivered"
    assert delivered["processInstanceId"] == instance

    # 6. the instance has ended at "paid"
    finished = get_json(f"{service}/processinstance/history/{instance}")
    assert finished["endTime"] is not None and finished["endActivityId"] == "paid"
    assert finished["processVariables"] == {
        "amount": 120,
        "paid": True,
        "paidAmount": 120,
        "remindersSent": 1,
        "startUserId": "openidm-admin",
    }
    assert (
        get_json(f"{service}/job?_queryId=filtered-query&processInstanceId={instance}")["result"]
        == []
    )


def test_a_due_timer_fires_by_itself(service):
    """The worker fires a timer on its own when it is due ("or wait")."""
    bpmn = SAMPLE.read_text().replace("PT1H", "PT1S").replace('id="reminder"', 'id="quick"')
    model = post(f"{service}/model", {"name": "quick", "bpmnXML": bpmn}, expected=201)
    post(f"{service}/model/{model['_id']}?_action=deploy")
    instance = post(f"{service}/processinstance?_action=create", {"_key": "quick"}, expected=201)[
        "_id"
    ]
    began = time.monotonic()
    assert wait_until(
        lambda: (
            get_json(f"{service}/processinstance/{instance}")["processVariables"].get(
                "remindersSent"
            )
            == 1
        ),
        timeout=15,
    ), "the timer never fired"
    assert time.monotonic() - began < 10
