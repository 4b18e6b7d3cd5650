"""Validation problems and the XML syntax error of the BPMN parser.

A :class:`Problem` is one line of the ``validate_bpmn`` answer (``api-reference.md`` §3.7,
``DECISIONS.md``): ``{problem, defaultDescription, activityId, activityName,
processDefinitionId, xmlLineNumber, xmlColumnNumber, isWarning}``. Problem codes follow
Flowable's ``Problems`` constants where Flowable has one (``flowable-...``), and the same
style otherwise. Line and column are 1-based; 0 means "unknown".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from chalicelib.errors import BadRequest

__all__ = ["ProblemCode", "Problem", "BpmnSyntaxError"]


class ProblemCode(str, enum.Enum):
    """Every problem the parser and the validator can report."""

    # XML and document shape
    XML_SYNTAX = "bpmn-xml-syntax"
    XML_FORBIDDEN = "bpmn-xml-forbidden"
    NOT_BPMN = "bpmn-not-definitions"
    MALFORMED_ELEMENT = "bpmn-malformed-element"
    UNKNOWN_ELEMENT = "bpmn-unknown-element"
    DUPLICATE_ID = "bpmn-duplicate-id"
    # processes
    NO_EXECUTABLE_PROCESS = "flowable-process-definition-not-executable"
    PROCESS_NOT_EXECUTABLE = "bpmn-process-not-executable"
    NO_START_EVENT = "bpmn-process-no-start-event"
    MULTIPLE_NONE_START = "flowable-start-event-multiple-found"
    DUPLICATE_MESSAGE_START = "bpmn-message-start-duplicate-name"
    UNREACHABLE = "bpmn-unreachable-element"
    # flows and gateways
    FLOW_INVALID_SOURCE = "flowable-seq-flow-invalid-src"
    FLOW_INVALID_TARGET = "flowable-seq-flow-invalid-target"
    FLOW_CROSSES_SCOPE = "bpmn-seq-flow-crosses-scope"
    GATEWAY_NO_OUTGOING = "flowable-gateway-no-outgoing-seq-flow"
    DEFAULT_FLOW_NOT_OUTGOING = "bpmn-default-flow-not-outgoing"
    CONDITION_ON_DEFAULT_FLOW = "flowable-exclusive-gateway-condition-on-seq-flow"
    FLOWS_WITHOUT_CONDITION = "flowable-exclusive-gateway-seq-flow-without-conditions"
    EVENT_GATEWAY_TARGET = "flowable-event-gateway-only-connected-to-intermediate-events"
    # events
    BOUNDARY_NO_ATTACHMENT = "bpmn-boundary-event-invalid-attached-to"
    BOUNDARY_NO_DEFINITION = "flowable-boundary-event-no-event-definition"
    CATCH_NO_DEFINITION = "flowable-intermediate-catch-event-no-eventdefinition"
    EVENT_DEFINITION_NOT_HERE = "bpmn-event-definition-not-supported-here"
    MULTIPLE_EVENT_DEFINITIONS = "bpmn-event-multiple-definitions"
    SUBPROCESS_START_NOT_NONE = "flowable-subprocess-start-event-event-definition-not-allowed"
    EVENT_SUBPROCESS_START = "flowable-event-subprocess-invalid-start-event-definition"
    TIMER_MISSING = "flowable-event-timer-missing-configuration"
    TIMER_INVALID = "bpmn-event-timer-invalid-value"
    MESSAGE_REF_MISSING = "flowable-message-event-missing-message-ref"
    MESSAGE_REF_INVALID = "flowable-message-event-invalid-message-ref"
    SIGNAL_REF_MISSING = "flowable-signal-event-missing-signal-ref"
    SIGNAL_REF_INVALID = "flowable-signal-event-invalid-signal-ref"
    SIGNAL_SCOPE_INVALID = "flowable-signal-invalid-scope"
    ERROR_CODE_MISSING = "flowable-error-missing-error-code"
    # activities
    CALLED_ELEMENT_MISSING = "flowable-call-activity-missing-called-element"
    MULTI_INSTANCE_MISSING = "flowable-multi-instance-missing-collection"
    SERVICE_IMPLEMENTATION_MISSING = "flowable-servicetask-missing-implementation"
    SCRIPT_MISSING = "flowable-scripttask-missing-script"
    SCRIPT_LANGUAGE_MISSING = "bpmn-scripttask-missing-language"
    LISTENER_IMPLEMENTATION_MISSING = "flowable-listener-implementation-missing"
    INVALID_VALUE = "bpmn-invalid-attribute-value"
    HTTP_TASK_NO_METHOD = "flowable-http-task-no-request-method"
    HTTP_TASK_NO_URL = "flowable-http-task-no-request-url"
    MAIL_TASK_NO_RECIPIENT = "flowable-mail-task-no-recipient"
    MAIL_TASK_NO_CONTENT = "flowable-mail-task-no-content"
    EXTERNAL_WORKER_NO_TOPIC = "flowable-external-worker-task-no-topic"
    # expressions
    EXPRESSION_SYNTAX = "bpmn-expression-syntax"
    CONDITION_NOT_EXPRESSION = "bpmn-condition-not-expression"
    # constructs we parse but do not run (DECISIONS.md "BPMN scope")
    UNSUPPORTED_ELEMENT = "bpmn-unsupported-element"
    UNSUPPORTED_EVENT = "bpmn-unsupported-event-definition"
    UNSUPPORTED_SCRIPT_LANGUAGE = "bpmn-unsupported-script-language"
    UNSUPPORTED_TASK_TYPE = "bpmn-unsupported-task-type"
    UNSUPPORTED_JAVA_CLASS = "bpmn-unsupported-java-class"
    UNSUPPORTED_JAVA_EXPRESSION = "bpmn-unsupported-java-expression"
    UNSUPPORTED_EXPRESSION_LANGUAGE = "bpmn-unsupported-expression-language"


@dataclass(frozen=True, slots=True)
class Problem:
    """One validation finding, located by element id and source position."""

    code: ProblemCode
    description: str
    activity_id: str | None = None
    activity_name: str | None = None
    process_key: str | None = None
    line: int = 0
    column: int = 0
    is_warning: bool = False

    def as_warning(self) -> Problem:
        """The same finding, downgraded to a warning."""
        return Problem(
            self.code,
            self.description,
            self.activity_id,
            self.activity_name,
            self.process_key,
            self.line,
            self.column,
            True,
        )

    def to_json(self) -> dict[str, Any]:
        """The ``validate_bpmn`` item shape (``DECISIONS.md``)."""
        return {
            "problem": self.code.value,
            "defaultDescription": self.description,
            "activityId": self.activity_id,
            "activityName": self.activity_name,
            "processDefinitionId": self.process_key,
            "xmlLineNumber": self.line,
            "xmlColumnNumber": self.column,
            "isWarning": self.is_warning,
        }


class BpmnSyntaxError(BadRequest):
    """The document is not well-formed XML, or is XML we refuse (DOCTYPE, too big, too deep)."""

    def __init__(
        self,
        message: str,
        line: int = 0,
        column: int = 0,
        code: ProblemCode = ProblemCode.XML_SYNTAX,
    ):
        self.line = line
        self.column = column
        self.problem_code = code
        where = f" (line {line}, column {column})" if line else ""
        super().__init__(
            f"Invalid BPMN XML{where}: {message}",
            {"problem": code.value, "xmlLineNumber": line, "xmlColumnNumber": column},
        )
        self.reason_text = message

    def to_problem(self) -> Problem:
        """This error as a validation problem (``validate_bpmn`` answers 200 with it)."""
        return Problem(self.problem_code, self.reason_text, line=self.line, column=self.column)
