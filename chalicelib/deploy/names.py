"""Logical ids and names shared by the merge template, the policies and the post-processing.

Chalice names its resources after ``app.py``: the API function is ``APIHandler`` (role
``ApiHandlerRole``), an event handler ``on_job_message`` becomes ``OnJobMessage`` (role
``OnJobMessageRole``, SQS event ``OnJobMessageSqsEventSource``), ``on_event_message``
``OnEventMessage``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = [
    "API",
    "JOB_HANDLER",
    "EVENT_HANDLER",
    "SWEEP_HANDLER",
    "Function",
    "FUNCTIONS",
    "camel",
    "JOBS_QUEUE",
    "JOBS_DLQ",
    "EVENTS_QUEUE",
    "EVENTS_DLQ",
    "API_STAGE",
    "outbound_queue_prefix",
]

API = "RestAPI"
JOB_HANDLER = "on_job_message"
#: the ``app.py`` handler bound to the inbound events queue (``WORKFLOW_EVENTS_QUEUE``)
EVENT_HANDLER = "on_event_message"
SWEEP_HANDLER = "sweep_due_jobs"
JOBS_QUEUE = "JobsQueue"
JOBS_DLQ = "JobsDeadLetterQueue"
EVENTS_QUEUE = "EventsQueue"
EVENTS_DLQ = "EventsDeadLetterQueue"
#: ``api_gateway_stage`` of ``.chalice/config.json``
API_STAGE = "api"


def camel(name: str) -> str:
    """``on_job_message`` -> ``OnJobMessage`` (how Chalice names a handler's resources)."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def outbound_queue_prefix(app_name: str, stage: str) -> str:
    """The names a stage's outbound sqs channels' ``destination`` queues start with
    (``workflow-dev-out-``): the only queues, besides the jobs queue, a role may send to
    (channels are deployed at run time, so the template grants by this prefix)."""
    return f"{app_name}-{stage}-out-"


@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda function of the template: its logical id, role and short name."""

    logical_id: str
    role: str
    short: str


class Function(Enum):
    """The four functions Chalice packages."""

    API = FunctionSpec("APIHandler", "ApiHandlerRole", "api")
    WORKER = FunctionSpec(camel(JOB_HANDLER), f"{camel(JOB_HANDLER)}Role", "worker")
    EVENTS = FunctionSpec(camel(EVENT_HANDLER), f"{camel(EVENT_HANDLER)}Role", "events")
    SWEEP = FunctionSpec(camel(SWEEP_HANDLER), f"{camel(SWEEP_HANDLER)}Role", "sweep")

    @property
    def spec(self) -> FunctionSpec:
        return self.value

    @property
    def log_group(self) -> str:
        """Logical id of the function's log group."""
        return f"{self.spec.logical_id}LogGroup"


FUNCTIONS = tuple(Function)
