"""The HTTP task end to end: deploy, start, the jobs worker runs the action job against a local
server (``tests/support/http_server.py``) allowed by ``WORKFLOW_HTTP_ALLOW``; what the server
received and what the instance, the job and the history hold afterwards."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from chalicelib.errors import BadRequest
from chalicelib.service.definitions import deploy as deployments
from chalicelib.service.definitions.errors import InvalidDeployment
from chalicelib.storage.ports import Table
from tests.support.executions import drain, job_items, start, variables
from tests.support.http_server import serve
from tests.support.http_tasks import (
    CAP,
    SECRET,
    SSM_SECRET,
    http_process,
    http_settings,
    run,
    the_job,
    waiting_at,
)
from tests.support.jobs import dead_letters, wake


@pytest.fixture
def server():
    yield from serve()


@pytest.fixture
def settings(server):
    return http_settings(server)


def everything_stored(container, instance: str) -> str:
    """Every item of the instance in the runtime, history and dead-letter tables, as text."""
    items = container.store.query(Table.RUNTIME, instance).items
    items += container.store.query(Table.HISTORY, instance).items
    items += dead_letters(container)
    return json.dumps([i.data for i in items], default=str)


def test_get_2xx_saves_the_body(container, server):
    instance = run(container, {"requestMethod": "GET", "requestUrl": f"{server.base}/test"})
    assert "after" in waiting_at(container, instance)
    assert json.loads(variables(container, instance)["callResponseBody"]) == {
        "name": {"firstName": "John", "lastName": "Doe"}
    }
    [request] = server.received
    assert (request.method, request.path) == ("GET", "/test")
    assert request.headers["Host"] == server.base.removeprefix("http://")
    assert job_items(container, instance) == []


def test_post_sends_its_body_and_headers(container, server):
    fields = {
        "requestMethod": "POST",
        "requestUrl": f"{server.base}/api?code=201",
        "requestHeaders": "Content-Type: application/json\nX-Trace: t-1",
        "requestBody": '{"amount": ${amount}}',
        "saveRequestVariables": "true",
        "saveResponseParameters": "true",
        "resultVariablePrefix": "r",
    }
    instance = run(container, fields, {"amount": 12})
    [request] = server.received
    assert request.method == "POST" and request.body == b'{"amount": 12}'
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Trace"] == "t-1"
    found = variables(container, instance)
    assert found["rRequestMethod"] == "POST" and found["rRequestBody"] == '{"amount": 12}'
    assert found["rRequestHeaders"] == "Content-Type: application/json\nX-Trace: t-1"
    assert found["rResponseStatusCode"] == 201 and found["rResponseReason"] == "Created"
    assert found["rResponseProtocol"] == "HTTP/1.1"
    assert "Content-Type: application/json" in found["rResponseHeaders"]
    assert json.loads(found["rResponseBody"])["body"] == '{"amount": 12}'
    assert "after" in waiting_at(container, instance)


def test_fail_status_codes_fail_the_job_then_dead_letter_it(container, server):
    fields = {
        "requestMethod": "GET",
        "requestUrl": f"{server.base}/api/fail?code=503",
        "failStatusCodes": "400, 5XX",
    }
    instance = run(container, fields)
    job = the_job(container, instance)
    assert job["retries"] == 2
    assert job["exceptionMessage"].startswith("HTTP503: GET ")
    assert f"{server.base}/api/fail?code=503" in job["exceptionMessage"]
    assert len(server.received) == 1  # one call per attempt
    for left in (1, 0):
        container.clock.advance(seconds=10)
        wake(job["_id"])
        if left:
            assert the_job(container, instance)["retries"] == left
    assert job_items(container, instance) == []
    [dead] = dead_letters(container)
    assert dead.data["_id"] == job["_id"] and dead.data["exceptionMessage"].startswith("HTTP503")
    assert len(server.received) == 3
    assert "call" in waiting_at(container, instance)  # still at the task


def test_handle_status_codes_throw_the_bpmn_error(container, server):
    fields = {
        "requestMethod": "GET",
        "requestUrl": f"{server.base}/api?code=400",
        "handleStatusCodes": "4XX",
    }
    instance = run(container, fields, catch="HTTP400")
    assert waiting_at(container, instance) == ["caught"]
    assert job_items(container, instance) == []


def test_an_unlisted_status_continues(container, server):
    fields = {"requestMethod": "GET", "requestUrl": f"{server.base}/api?code=404"}
    instance = run(container, fields, catch="HTTP404")
    assert waiting_at(container, instance) == ["after"]


def test_ignore_exception_continues_and_records_the_message(container, server):
    fields = {
        "requestMethod": "GET",
        "requestUrl": "${url}",
        "ignoreException": "true",
    }
    instance = run(container, fields, {"url": "http://127.0.0.1:1/x"})
    assert waiting_at(container, instance) == ["after"]
    message = variables(container, instance)["callErrorMessage"]
    assert "http://127.0.0.1:1/x" in message and "WORKFLOW_HTTP_ALLOW" in message
    assert server.received == []


def test_a_url_outside_the_allow_list_fails_the_job(container, server):
    fields = {"requestMethod": "GET", "requestUrl": "${url}"}
    instance = run(container, fields, {"url": "http://169.254.169.254/latest/meta-data/"})
    message = the_job(container, instance)["exceptionMessage"]
    assert "169.254.169.254" in message and "WORKFLOW_HTTP_ALLOW" in message


def test_a_slow_server_times_out(container, server):
    fields = {
        "requestMethod": "GET",
        "requestUrl": f"{server.base}/api?delay=3000",
        "requestTimeout": "300",
    }
    instance = run(container, fields)
    job = the_job(container, instance)
    assert "timed out after 0.3 s" in job["exceptionMessage"] and job["retries"] == 2


def test_redirects_disallowed_are_the_response(container, server):
    fields = {
        "requestMethod": "GET",
        "requestUrl": f"{server.base}/redirect?to={server.base}/test",
        "disallowRedirects": "true",
        "failStatusCodes": "3XX",
    }
    instance = run(container, fields)
    assert the_job(container, instance)["exceptionMessage"].startswith("HTTP302")
    assert len(server.received) == 1


def test_an_allowed_redirect_is_followed_and_checked(container, server):
    fields = {"requestMethod": "GET", "requestUrl": f"{server.base}/redirect?to=/test"}
    instance = run(container, fields)
    assert json.loads(variables(container, instance)["callResponseBody"])["name"]
    assert [r.path for r in server.received] == ["/redirect?to=/test", "/test"]


def test_a_redirect_to_a_host_not_allowed_is_refused(container, server):
    fields = {
        "requestMethod": "GET",
        "requestUrl": f"{server.base}/redirect?to=http://169.254.169.254/latest/",
    }
    instance = run(container, fields)
    message = the_job(container, instance)["exceptionMessage"]
    assert "http://169.254.169.254/latest/" in message and "WORKFLOW_HTTP_ALLOW" in message
    assert len(server.received) == 1


def test_a_redirect_loop_stops_after_five(container, server):
    instance = run(container, {"requestMethod": "GET", "requestUrl": f"{server.base}/loop"})
    assert "more than 5 redirects" in the_job(container, instance)["exceptionMessage"]
    assert len(server.received) == 6


@pytest.mark.parametrize("path", ["/big?n=5000", "/stream?n=10"])
def test_a_response_past_the_cap_fails_the_job(container, server, path):
    fields = {"requestMethod": "GET", "requestUrl": f"{server.base}{path}"}
    instance = run(container, fields)
    message = the_job(container, instance)["exceptionMessage"]
    assert "WORKFLOW_HTTP_MAX_RESPONSE_BYTES" in message and str(CAP) in message


def test_a_response_under_the_cap_is_kept(container, server):
    fields = {"requestMethod": "GET", "requestUrl": f"{server.base}/big?n={CAP - 100}"}
    instance = run(container, fields)
    assert variables(container, instance)["callResponseBody"] == "x" * (CAP - 100)


def test_a_secret_header_is_sent_and_never_stored(container, server):
    from chalicelib import aws

    aws.client("ssm").put_parameter(Name="/wf/http/vault", Value=SSM_SECRET, Type="SecureString")
    fields = {
        "requestMethod": "GET",
        "requestUrl": f"{server.base}/api?code=200",
        "requestHeaders": "Authorization: Bearer {{secret:TOKEN}}\nX-Vault: {{secret:VAULT}}",
        "saveRequestVariables": "true",
        "saveResponseParameters": "true",
    }
    instance = run(container, fields)
    [request] = server.received
    assert request.headers["Authorization"] == f"Bearer {SECRET}"
    assert request.headers["X-Vault"] == SSM_SECRET
    found = variables(container, instance)
    assert found["callRequestHeaders"] == fields["requestHeaders"]
    # the echoing server put the secret in the response body: that is the endpoint's doing;
    # drop it to check that nothing else holds it
    stored = everything_stored(container, instance).replace(
        json.dumps(found["callResponseBody"])[1:-1], ""
    )
    assert SECRET not in stored and SSM_SECRET not in stored
    assert "{{secret:TOKEN}}" in stored


def test_a_failed_call_keeps_the_secret_out_of_the_job(container, server):
    fields = {
        "requestMethod": "GET",
        "requestUrl": f"{server.base}/api?code=500",
        "requestHeaders": "Authorization: Bearer {{secret:TOKEN}}",
        "failStatusCodes": "5XX",
    }
    instance = run(container, fields)
    assert the_job(container, instance)["exceptionMessage"].startswith("HTTP500")
    assert SECRET not in everything_stored(container, instance)
    assert server.received[0].headers["Authorization"] == f"Bearer {SECRET}"


def test_an_unknown_secret_fails_the_job_naming_it(container, server):
    fields = {
        "requestMethod": "GET",
        "requestUrl": f"{server.base}/test",
        "requestHeaders": "X-Key: {{secret:NOPE}}",
    }
    instance = run(container, fields)
    message = the_job(container, instance)["exceptionMessage"]
    assert "'NOPE'" in message and "WORKFLOW_HTTP_SECRET_NOPE" in message
    assert server.received == []


def test_an_invalid_method_fails_the_job(container, server):
    instance = run(container, {"requestMethod": "TRACE", "requestUrl": f"{server.base}/test"})
    assert "requestMethod 'TRACE' is invalid" in the_job(container, instance)["exceptionMessage"]


def test_deploy_is_refused_while_the_allow_list_is_empty(container, server, monkeypatch):
    monkeypatch.setattr(container, "settings", replace(container.settings, http_allow=()))
    with pytest.raises(InvalidDeployment) as exc:
        deployments.deploy(
            container,
            source="file:http",
            name="http",
            bpmn={
                "http.bpmn20.xml": http_process(
                    {"requestMethod": "GET", "requestUrl": f"{server.base}/"}
                )
            },
        )
    assert isinstance(exc.value, BadRequest)  # answered 400
    [problem] = exc.value.detail["errors"]
    assert problem["problem"] == "http-task-not-allowed" and problem["activityId"] == "call"
    assert "WORKFLOW_HTTP_ALLOW" in problem["defaultDescription"]


def test_failed_job_retry_time_cycle_sets_the_tries_and_the_wait(container, server):
    """``flowable:failedJobRetryTimeCycle="R5/PT7M"`` on the HTTP task: a failing call leaves
    4 of 5 tries, due again 7 minutes later (not the default 3 x 10 s)."""
    from chalicelib.clock import parse_iso

    fields = {
        "requestMethod": "GET",
        "requestUrl": f"{server.base}/api/fail?code=500",
        "failStatusCodes": "5XX",
    }
    xml = http_process(fields).replace(
        '<serviceTask id="call" flowable:type="http">',
        '<serviceTask id="call" flowable:type="http" flowable:failedJobRetryTimeCycle="R5/PT7M">',
    )
    definition = deployments.deploy(
        container, source="file:cycle", name="cycle", bpmn={"http.bpmn20.xml": xml}
    ).definition_ids[0]
    before = container.clock.now()
    instance = start(container, definition, {})
    drain(container)
    job = the_job(container, instance)
    assert job["retries"] == 4 and job["exceptionMessage"].startswith("HTTP500")
    assert (parse_iso(job["dueDate"]) - before).total_seconds() == 7 * 60
    assert len(server.received) == 1
