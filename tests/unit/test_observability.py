"""JSON log lines and the embedded metric format, without AWS."""

from __future__ import annotations

import json
import logging

from chalicelib.observability import JsonFormatter, metrics


def record(**fields) -> logging.LogRecord:
    made = logging.LogRecord("workflow.x", logging.INFO, __file__, 1, "hello %s", ("you",), None)
    made.fields = fields
    return made


def test_fields_become_keys_and_never_replace_the_standard_ones():
    line = json.loads(JsonFormatter().format(record(method="GET", message="no", status=200)))
    assert line["message"] == "hello you" and line["logger"] == "workflow.x"
    assert line["method"] == "GET" and line["status"] == 200


def test_emf_document(monkeypatch):
    monkeypatch.setenv("WORKFLOW_STAGE", "prod")
    monkeypatch.setenv("WORKFLOW_METRICS_NAMESPACE", "Acme/Workflow")
    document = metrics({"JobRuns": 1, "TimerLateness": 250.0}, timestamp_ms=5)
    assert document["_aws"] == {
        "Timestamp": 5,
        "CloudWatchMetrics": [
            {
                "Namespace": "Acme/Workflow",
                "Dimensions": [["stage"]],
                "Metrics": [
                    {"Name": "JobRuns", "Unit": "Count"},
                    {"Name": "TimerLateness", "Unit": "Milliseconds"},
                ],
            }
        ],
    }
    assert document["stage"] == "prod" and document["JobRuns"] == 1
