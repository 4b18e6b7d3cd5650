"""README walkthrough, step 7: ``contractorOnboarding``'s approval calls an HTTP endpoint and
sends a mail. Through the real launcher (what ``make run`` serves) with the stand-in
provisioning API (``chalicelib/local/demo_api.py``) on a free port: the HTTP task's job POSTs the
account with the bearer token from the settings, the mail task's job sends the welcome mail
through SES (moto), then the instance ends with the account in its history."""

from __future__ import annotations

import email
from email import policy

import pytest

from tests.support.launcher import WF, get_json, post_json, running_launcher, wait_until
from tests.support.rest import JSON_HEADERS as ADMIN

TOKEN = "walkthrough-token"


@pytest.fixture(scope="module")
def demo_api():
    from chalicelib.local.demo_api import DemoApi

    api = DemoApi("127.0.0.1", 0, TOKEN).start()
    yield api
    api.stop()


@pytest.fixture(scope="module")
def service(demo_api):
    with running_launcher(
        deploy_workflows=True,
        WORKFLOW_HTTP_ALLOW=f"{demo_api.url}/",
        WORKFLOW_HTTP_SECRET_PROVISIONING=TOKEN,
    ) as running:
        yield running.url + WF


def _sent_mails() -> list:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)


def test_approval_provisions_the_account_over_http_and_mails_the_contractor(service, demo_api):
    status, _, started = post_json(
        f"{service}/processinstance?_action=create",
        {
            "_key": "contractorOnboarding",
            "userName": "jdoe",
            "givenName": "Jane",
            "sn": "Doe",
            "mail": "jdoe@example.com",
            "startDate": "2026-12-01",
            "provisioningApi": demo_api.url,
        },
        ADMIN,
    )
    assert status == 201, started
    iid = started["_id"]
    query = f"taskinstance?_queryId=filtered-query&processInstanceId={iid}"
    [task] = get_json(f"{service}/{query}")["result"]
    status, _, _ = post_json(
        f"{service}/taskinstance/{task['_id']}?_action=complete", {"decision": "accept"}, ADMIN
    )
    assert status == 200

    def ended() -> bool:
        return get_json(f"{service}/processinstance/history/{iid}").get("endTime") is not None

    assert wait_until(ended, timeout=30)
    [account] = demo_api.accounts  # POSTed once, with the token from the settings
    assert account["userName"] == "jdoe" and account["mail"] == "jdoe@example.com"
    history = get_json(f"{service}/processinstance/history/{iid}")
    variables = history["processVariables"]
    assert variables["provisionedAccount"]["_id"] == account["_id"]
    assert TOKEN not in str(history)  # the secret is a setting, never a variable
    mails = [m for m in _sent_mails() if "jdoe@example.com" in str(m.destinations)]
    assert len(mails) == 1
    message = email.message_from_string(mails[0].raw_data, policy=policy.default)
    assert message["Subject"] == "Welcome, Jane" and message["From"] == "workflow@example.com"
    assert "Your account jdoe is ready from 2026-12-01." in message.get_content()
