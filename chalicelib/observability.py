"""Logging and metrics: one JSON object per line, and CloudWatch embedded metric format (EMF).

* ``JsonFormatter``: ``{"time", "level", "logger", "message"}`` plus the record's ``fields``
  (``log.info(..., extra={"fields": {...}})``) as their own top-level keys: the request line
  has ``method``, ``path``, ``status``, ``ms``, ``correlationId``, ``caller`` and
  ``dynamodbRequests``, so Logs Insights filters on them without parsing the message.
* ``metrics(...)``: the fields of an EMF document, ``{"_aws": {...}, "<Name>": value,
  "stage": ...}``. A log line carrying them is a metric datapoint in CloudWatch (namespace
  ``WORKFLOW_METRICS_NAMESPACE``, default ``Workflow``; dimension ``stage``), with no API call
  and no library: Powertools' Metrics would do the same at a cold-start cost
  (``docs/deploying.md``, Metrics).
* ``emit_metrics(...)``: log one line carrying them, on ``workflow.metrics`` (or
  ``workflow.request``, the request lines). Both loggers stay at INFO whatever ``LOG_LEVEL``
  says, so ``LOG_LEVEL=WARNING`` quietens the logs but never drops a metric.

Nothing here reads the environment at import time.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Mapping
from typing import Any

__all__ = [
    "configure_logging",
    "JsonFormatter",
    "metrics",
    "emit_metrics",
    "METRICS_LOGGER",
    "REQUEST_LOGGER",
    "UNITS",
    "DEFAULT_NAMESPACE",
]

METRICS_LOGGER = "workflow.metrics"
#: one line per HTTP request (``api.http.envelope_middleware``)
REQUEST_LOGGER = "workflow.request"
#: loggers kept at INFO whatever ``LOG_LEVEL`` says: their lines carry metrics
ALWAYS_INFO = (METRICS_LOGGER, REQUEST_LOGGER)
DEFAULT_NAMESPACE = "Workflow"
#: the unit of every metric the service emits (anything else is a Count)
UNITS = {
    "RequestLatency": "Milliseconds",
    "DynamoDBRequests": "Count",
    "InstancesStarted": "Count",
    "InstancesEnded": "Count",
    "TaskCompletions": "Count",
    "JobRuns": "Count",
    "JobFailures": "Count",
    "JobsDeadLettered": "Count",
    "TimerLateness": "Milliseconds",
}
#: the standard keys of a line: ``fields`` never replace them
_STANDARD = ("time", "level", "logger", "message", "exception")


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message"[, "exception"]}`` and the record's ``fields``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            for key, value in fields.items():
                if key not in _STANDARD:
                    entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def metrics(values: Mapping[str, float], *, timestamp_ms: int | None = None) -> dict[str, Any]:
    """The EMF fields of ``values`` (metric name -> value), dimension ``stage``."""
    stage = os.environ.get("WORKFLOW_STAGE", "").strip() or "local"
    namespace = os.environ.get("WORKFLOW_METRICS_NAMESPACE", "").strip() or DEFAULT_NAMESPACE
    document: dict[str, Any] = {
        "_aws": {
            "Timestamp": timestamp_ms if timestamp_ms is not None else int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": [["stage"]],
                    "Metrics": [
                        {"Name": name, "Unit": UNITS.get(name, "Count")} for name in values
                    ],
                }
            ],
        },
        "stage": stage,
    }
    document.update(values)
    return document


def emit_metrics(
    message: str,
    values: Mapping[str, float],
    *,
    logger: str = METRICS_LOGGER,
    keep_zero: bool = False,
    **fields: Any,
) -> None:
    """Log ``message`` on ``logger`` with ``values`` as EMF and ``fields`` beside (zero values
    are left out unless ``keep_zero``; nothing left: no line)."""
    kept = {name: value for name, value in values.items() if value or keep_zero}
    if not kept:
        return
    target = logging.getLogger(logger)
    if target.level == logging.NOTSET:  # before configure_logging (Chalice sets ERROR above)
        target.setLevel(logging.INFO)
    target.info(message, extra={"fields": {**fields, **metrics(kept)}})


_configured = False


def configure_logging(level: str = "INFO") -> None:
    """Send the service's logs to stdout as JSON lines (once per process)."""
    global _configured
    if _configured:
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("workflow")
    root.handlers[:] = [handler]
    root.setLevel(level.upper() if isinstance(level, str) else level)
    root.propagate = False
    for name in ALWAYS_INFO:
        logging.getLogger(name).setLevel(logging.INFO)
    _configured = True
