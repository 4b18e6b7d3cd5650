"""Request lines and metrics: the log lines a request, a command and a job run write, with
their fields as JSON keys and their metrics in CloudWatch's embedded metric format."""

from __future__ import annotations

import json
import logging

import pytest

from chalicelib import ids
from chalicelib.observability import METRICS_LOGGER, REQUEST_LOGGER, JsonFormatter
from chalicelib.service.jobs import actions
from chalicelib.service.jobs.items import new_job
from chalicelib.service.jobs.runners import RUNNERS
from chalicelib.storage.ports import Put, Table
from tests.support.jobs import TIMER, deploy_and_start
from tests.support.rest import ADMIN
from tests.support.tasks import deploy_onboard, start

WF = "/openidm/workflow"


def lines(caplog, logger: str) -> list[dict]:
    """The JSON lines ``logger``'s records format to (as CloudWatch receives them)."""
    formatter = JsonFormatter()
    return [json.loads(formatter.format(r)) for r in caplog.records if r.name == logger]


def metric_names(line: dict) -> set[str]:
    [directive] = line["_aws"]["CloudWatchMetrics"]
    assert directive["Dimensions"] == [["stage"]] and line["stage"]
    names = {metric["Name"] for metric in directive["Metrics"]}
    assert all(isinstance(line[name], (int, float)) for name in names)  # EMF: values beside
    return names


def totals(caplog) -> dict[str, float]:
    found: dict[str, float] = {}
    for line in lines(caplog, METRICS_LOGGER):
        for name in metric_names(line):
            found[name] = found.get(name, 0) + line[name]
    return found


def test_request_line_has_its_fields_as_keys_and_emf_metrics(client, caplog):
    caplog.set_level(logging.INFO)
    response = client.http.get(
        f"{WF}/processdefinition?_queryFilter=true", headers=dict(ADMIN, **{"X-Request-Id": "r-1"})
    )
    assert response.status_code == 200
    [line] = lines(caplog, REQUEST_LOGGER)
    assert line["method"] == "GET"
    assert line["path"] == "/openidm/workflow/processdefinition"
    assert line["status"] == 200
    assert isinstance(line["ms"], float)
    assert line["correlationId"] == "r-1"
    assert line["caller"] == "openidm-admin"
    assert line["dynamodbRequests"] >= 1
    assert metric_names(line) == {"RequestLatency", "DynamoDBRequests"}
    assert line["DynamoDBRequests"] == line["dynamodbRequests"]
    assert {"time", "level", "logger", "message"} <= set(line)


def test_unauthenticated_request_line_has_no_caller(client, caplog):
    caplog.set_level(logging.INFO)
    assert client.http.get(f"{WF}/job?_queryFilter=true").status_code == 401
    [line] = lines(caplog, REQUEST_LOGGER)
    assert line["status"] == 401 and line["caller"] is None and line["dynamodbRequests"] == 0


def test_started_completed_and_ended_instances_are_counted(client, container, caplog):
    caplog.set_level(logging.INFO)
    definition = deploy_onboard(container)
    instance_id, task_id = start(container, definition, who="x")
    assert totals(caplog) == {"InstancesStarted": 1}
    caplog.clear()
    response = client.http.delete(f"{WF}/processinstance/{instance_id}", headers=ADMIN)
    assert response.status_code == 200, response.body
    assert totals(caplog).get("InstancesEnded") == 1


def test_task_completion_is_counted(client, container, caplog):
    caplog.set_level(logging.INFO)
    definition = deploy_onboard(container)
    _, task_id = start(container, definition, who="x")
    caplog.clear()
    response = client.http.post(
        f"{WF}/taskinstance/{task_id}?_action=complete",
        headers=dict(ADMIN, **{"Content-Type": "application/json"}),
        body=json.dumps({"decision": "accept"}),
    )
    assert response.status_code == 200, response.body
    assert totals(caplog).get("TaskCompletions") == 1


def test_a_timer_run_reports_its_lateness_and_the_run(client, container, caplog):
    caplog.set_level(logging.INFO)
    deploy_and_start(container, TIMER, "escalate")
    listing = client.http.get(f"{WF}/job?_queryId=filtered-query&timersOnly=true", headers=ADMIN)
    [job] = json.loads(listing.body)["result"]
    container.clock.advance(hours=1, seconds=3)
    caplog.clear()
    assert actions.run_job(container, job["_id"]) == "executed"
    found = totals(caplog)
    assert found["TimerLateness"] == pytest.approx(3000, abs=1)
    assert found["JobRuns"] == 1 and "JobFailures" not in found


def test_failures_and_dead_letters_are_counted(container, caplog, monkeypatch):
    def boom(container, item):
        raise ValueError("no such variable")

    monkeypatch.setitem(RUNNERS, "boom", boom)
    caplog.set_level(logging.INFO)
    instance = ids.new_id()
    now = container.clock.now()
    job_id = ids.child_id(instance)
    item = new_job(
        job_id=job_id, handler_type="boom", created=now, due=now, instance_id=instance, retries=1
    )
    container.store.transact([Put(Table.RUNTIME, item)])
    assert actions.execute(container, job_id)["status"] == "deadletter"
    assert totals(caplog) == {"JobRuns": 1, "JobFailures": 1, "JobsDeadLettered": 1}


@pytest.fixture
def lambda_logging(monkeypatch):
    """The API as Lambda runs it (``AWS_LAMBDA_FUNCTION_NAME`` set): the first request
    configures JSON logging on stdout; the loggers are put back afterwards."""
    from chalicelib import observability

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "workflow-dev-api")
    names = ("workflow", METRICS_LOGGER, REQUEST_LOGGER)
    saved = {
        name: (logging.getLogger(name).handlers[:], logging.getLogger(name).level) for name in names
    }
    propagate = logging.getLogger("workflow").propagate
    monkeypatch.setattr(observability, "_configured", False)
    yield
    for name, (handlers, level) in saved.items():
        logging.getLogger(name).handlers[:] = handlers
        logging.getLogger(name).setLevel(level)
    logging.getLogger("workflow").propagate = propagate


def test_in_lambda_the_request_line_is_json_on_stdout(client, lambda_logging, capsys):
    capsys.readouterr()
    assert client.http.get(f"{WF}/job?_queryFilter=true", headers=ADMIN).status_code == 200
    [line] = [
        json.loads(text)
        for text in capsys.readouterr().out.splitlines()
        if text.startswith("{") and '"workflow.request"' in text
    ]
    assert line["caller"] == "openidm-admin" and line["status"] == 200
    assert metric_names(line) == {"RequestLatency", "DynamoDBRequests"}
