"""README "Walkthrough: a timer and a message with curl", command by command, over HTTP against
the real launcher (what ``make run`` serves, ``workflow/`` deployed at start)."""
from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta, timezone

import pytest

from tests.conftest import ADMIN, REPO, TEST_ENV
from tests.e2e.test_launcher import call, free_port, wait_until

WF = "/openidm/workflow"
JSON = dict(ADMIN, **{"Content-Type": "application/json"})
SAMPLE = REPO / "workflow" / "reminder.bpmn20.xml"


@pytest.fixture(scope="module")
def service():
    from chalicelib import aws, bootstrap, settings
    from chalicelib.local.launcher import Launcher

    saved = dict(os.environ)
    os.environ.update(TEST_ENV)  # whatever earlier tests left in the environment
    os.environ["WORKFLOW_LOCAL_TICK_SECONDS"] = "0.2"
    running = Launcher("127.0.0.1", free_port()).start()  # deploys workflow/, as make run
    try:
        yield running.url + WF
    finally:
        running.stop()
        os.environ.clear()
        os.environ.update(saved)
        settings.reset_settings()
        bootstrap.reset_container()
        aws.reset_clients()


def get(url: str) -> dict:
    status, _, body = call(url, headers=ADMIN)
    assert status == 200, body
    return body


def post(url: str, body: dict | None = None, expected: int = 200) -> dict:
    status, _, answer = call(url, "POST", JSON, json.dumps(body or {}).encode())
    assert status == expected, answer
    return answer


def test_the_sample_is_deployed_at_start(service):
    found = get(f'{service}/processdefinition?_queryFilter=key%20eq%20%22reminder%22')
    assert [d["key"] for d in found["result"]] == ["reminder"]


def test_walkthrough_timer_and_message(service):
    # 1. deploy (again) through a model: POST model with the file as bpmnXML, then deploy
    model = post(f"{service}/model", {"name": "reminder", "bpmnXML": SAMPLE.read_text()},
                 expected=201)
    deployed = post(f"{service}/model/{model['_id']}?_action=deploy")
    assert deployed["duplicate"] is False
    assert deployed["processDefinitionIds"][0].startswith("reminder:2:")
    versions = get(f'{service}/processdefinition?_queryFilter=key%20eq%20%22reminder%22')
    assert sorted(d["version"] for d in versions["result"]) == [1, 2]

    # 2. start it with a business key
    started = post(f"{service}/processinstance?_action=create",
                   {"_key": "reminder", "_businessKey": "invoice-42", "amount": 120},
                   expected=201)
    instance = started["_id"]
    assert started["processDefinitionId"].startswith("reminder:2:")

    # 3. its timer, due in an hour
    timers = get(f"{service}/job?_queryId=filtered-query&timersOnly=true"
                 f"&processInstanceId={instance}")
    [timer] = timers["result"]
    assert timer["jobType"] == "timer" and timer["elementId"] == "reminderDue"
    due = datetime.fromisoformat(timer["dueDate"].replace("Z", "+00:00"))
    assert timedelta(minutes=59) < due - datetime.now(timezone.utc) <= timedelta(hours=1)

    # 4. fire it now instead of waiting: the reminder is sent, the instance still waits
    fired = post(f"{service}/job/{timer['_id']}?_action=execute")
    assert fired == {"_id": timer["_id"], "status": "executed"}
    assert get(f"{service}/job?_queryId=filtered-query&timersOnly=true"
               f"&processInstanceId={instance}")["result"] == []
    running = get(f"{service}/processinstance/{instance}")
    assert running["processVariables"]["remindersSent"] == 1

    # 5. the payment arrives: a message by business key ends the wait
    delivered = post(f"{service}/execution?_action=message",
                     {"messageName": "paymentReceived", "businessKey": "invoice-42",
                      "processVariables": {"paidAmount": 120}})
    assert delivered["status"] == "delivered"
    assert delivered["processInstanceId"] == instance

    # 6. the instance has ended at "paid"
    finished = get(f"{service}/processinstance/history/{instance}")
    assert finished["endTime"] is not None and finished["endActivityId"] == "paid"
    assert finished["processVariables"] == {
        "amount": 120, "paid": True, "paidAmount": 120, "remindersSent": 1,
        "startUserId": "openidm-admin"}
    assert get(f"{service}/job?_queryId=filtered-query&processInstanceId={instance}"
               )["result"] == []


def test_a_due_timer_fires_by_itself(service):
    """The worker fires a timer on its own when it is due ("or wait")."""
    bpmn = SAMPLE.read_text().replace("PT1H", "PT1S").replace('id="reminder"', 'id="quick"')
    model = post(f"{service}/model", {"name": "quick", "bpmnXML": bpmn}, expected=201)
    post(f"{service}/model/{model['_id']}?_action=deploy")
    instance = post(f"{service}/processinstance?_action=create", {"_key": "quick"},
                    expected=201)["_id"]
    began = time.monotonic()
    assert wait_until(lambda: get(f"{service}/processinstance/{instance}")[
        "processVariables"].get("remindersSent") == 1, timeout=15), "the timer never fired"
    assert time.monotonic() - began < 10

