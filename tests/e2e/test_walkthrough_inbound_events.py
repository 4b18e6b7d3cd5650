"""docs/walkthroughs.md "Events over SQS": the launcher deploys ``workflow/events/`` (a process
with its ``.event`` and ``.channel`` files) and polls the events queue; SendMessage starts an
instance, a second message correlated by ``userName`` moves it on."""

from __future__ import annotations

import json

import pytest

from tests.support.launcher import WF, get_json, post_json, running_launcher, wait_until
from tests.support.rest import ADMIN


@pytest.fixture(scope="module")
def service():
    with running_launcher(deploy_workflows=True) as running:
        yield running.url + WF


def _send(body: dict) -> None:
    from chalicelib import aws
    from chalicelib.settings import get_settings

    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=get_settings().events_queue)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))


def _instances(service: str) -> list[dict]:
    query = "processinstance?_queryFilter=processDefinitionKey%20eq%20%22contractorHired%22"
    return get_json(f"{service}/{query}")["result"]


def test_an_event_starts_an_instance_and_a_correlated_event_moves_it_on(service):
    _send(
        {
            "eventType": "contractorHired",
            "userName": "jdoe",
            "mail": "jdoe@example.com",
            "startDate": "2026-12-01",
        }
    )
    assert wait_until(lambda: len(_instances(service)) == 1)
    [instance] = _instances(service)
    _send({"eventType": "accountApproved", "userName": "someone-else", "approvedBy": "x"})
    _send({"eventType": "accountApproved", "userName": "jdoe", "approvedBy": "alice"})

    def task_open() -> bool:
        query = f"taskinstance?_queryId=filtered-query&processInstanceId={instance['_id']}"
        return [t["name"] for t in get_json(f"{service}/{query}")["result"]] == [
            "Prepare workstation"
        ]

    assert wait_until(task_open)
    found = get_json(f"{service}/processinstance/{instance['_id']}")
    variables = found.get("processVariables") or found.get("variables") or found
    assert variables["userName"] == "jdoe" and variables["approvedBy"] == "alice"

    # the workstation is ready: the send event task's message is on provisioning's queue
    query = f"taskinstance?_queryId=filtered-query&processInstanceId={instance['_id']}"
    [task] = get_json(f"{service}/{query}")["result"]
    headers = dict(ADMIN, **{"Content-Type": "application/json"})
    status, _, _ = post_json(f"{service}/taskinstance/{task['_id']}?_action=complete", {}, headers)
    assert status == 200
    from chalicelib import aws

    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName="workflow-provisioning")["QueueUrl"]
    received: list[dict] = []

    def message_arrived() -> bool:
        found = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        received.extend(json.loads(m["Body"]) for m in found)
        return bool(received)

    assert wait_until(message_arrived)
    assert received[0]["eventType"] == "contractorReady" and received[0]["userName"] == "jdoe"
