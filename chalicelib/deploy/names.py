"""Logical ids and names shared by the merge template, the policies and the post-processing.

Chalice names its resources after ``app.py``: the API function is ``APIHandler`` (role
``ApiHandlerRole``), an event handler ``on_job_message`` becomes ``OnJobMessage`` (role
``OnJobMessageRole``, SQS event ``OnJobMessageSqsEventSource``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = [
    "API",
    "JOB_HANDLER",
    "SWEEP_HANDLER",
    "Function",
    "FUNCTIONS",
    "camel",
    "JOBS_QUEUE",
    "JOBS_DLQ",
    "API_STAGE",
]

API = "RestAPI"
JOB_HANDLER = "on_job_message"
SWEEP_HANDLER = "sweep_due_jobs"
JOBS_QUEUE = "JobsQueue"
JOBS_DLQ = "JobsDeadLetterQueue"
#: ``api_gateway_stage`` of ``.chalice/config.json``
API_STAGE = "api"


def camel(name: str) -> str:
    """``on_job_message`` -> ``OnJobMessage`` (how Chalice names a handler's resources)."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda function of the template: its logical id, role and short name."""

    logical_id: str
    role: str
    short: str


class Function(Enum):
    """The three functions Chalice packages."""

    API = FunctionSpec("APIHandler", "ApiHandlerRole", "api")
    WORKER = FunctionSpec(camel(JOB_HANDLER), f"{camel(JOB_HANDLER)}Role", "worker")
    SWEEP = FunctionSpec(camel(SWEEP_HANDLER), f"{camel(SWEEP_HANDLER)}Role", "sweep")

    @property
    def spec(self) -> FunctionSpec:
        return self.value

    @property
    def log_group(self) -> str:
        """Logical id of the function's log group."""
        return f"{self.spec.logical_id}LogGroup"


FUNCTIONS = tuple(Function)
