"""One small frozen dataclass per BPMN element kind (``bpmn-semantics.md`` §1.1-1.3).

The executor will dispatch behaviour through a table keyed on these classes, so the hierarchy
stays flat: :class:`FlowNode` holds what every node has, :class:`Activity` adds what every
activity has, and each concrete kind adds its own fields. Attribute values are kept as written
(expressions are parsed by the validator and, later, by the evaluator's cache).

``line``/``column`` locate the element's start tag in the source (1-based; 0 = unknown).
``parent_id`` is the enclosing sub-process id, or ``None`` at process level.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.engine.parts import (
    CallMapping,
    FieldExtension,
    FormProperty,
    Listener,
    LoopCharacteristics,
)

__all__ = [
    "ACTION_HANDLERS",
    "EXTERNAL_WORKER",
    "is_action_task",
    "TimerDefinition",
    "MessageDefinition",
    "EventRegistryDefinition",
    "EVENT_REGISTRY_PREFIX",
    "SignalDefinition",
    "ErrorDefinition",
    "EscalationDefinition",
    "TerminateDefinition",
    "ConditionalDefinition",
    "CompensateDefinition",
    "CancelDefinition",
    "LinkDefinition",
    "EventDefinition",
    "FlowNode",
    "Activity",
    "StartEvent",
    "EndEvent",
    "IntermediateCatchEvent",
    "IntermediateThrowEvent",
    "BoundaryEvent",
    "UserTask",
    "ManualTask",
    "Task",
    "ScriptTask",
    "ServiceTask",
    "ReceiveTask",
    "SendTask",
    "BusinessRuleTask",
    "ExclusiveGateway",
    "ParallelGateway",
    "InclusiveGateway",
    "EventBasedGateway",
    "ComplexGateway",
    "SubProcess",
    "Transaction",
    "AdHocSubProcess",
    "CallActivity",
    "EVENT_CLASSES",
    "GATEWAY_CLASSES",
    "SCOPE_CLASSES",
]


# --- event definitions ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class TimerDefinition:
    """``timerEventDefinition``: exactly one of date, duration or cycle is expected."""

    time_date: str | None = None
    time_duration: str | None = None
    time_cycle: str | None = None
    end_date: str | None = None  # flowable:endDate on <timeCycle>
    business_calendar: str | None = None
    line: int = 0
    column: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageDefinition:
    """``messageEventDefinition``; ``message_name`` is the declared name (or the ref itself)."""

    message_ref: str | None = None
    message_name: str | None = None
    line: int = 0
    column: int = 0


#: the subscription name of an event-registry event (``message_name`` of its definition)
EVENT_REGISTRY_PREFIX = "eventRegistry:"


@dataclass(frozen=True, slots=True, kw_only=True)
class EventRegistryDefinition(MessageDefinition):
    """``<flowable:eventType>`` on a start, catch or boundary event or a receive task: waits
    (through a message subscription named ``eventRegistry:<key>``) for an event of the event
    registry. ``correlation``: ``(name, value expression)``; ``out_parameters``: ``(source
    payload field, target variable, transient)``."""

    event_type: str = ""
    correlation: tuple[tuple[str, str], ...] = ()
    out_parameters: tuple[tuple[str, str, bool], ...] = ()
    #: a process start event's ``startEventCorrelationConfiguration`` (None: startNewInstance)
    start_configuration: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalDefinition:
    """``signalEventDefinition``; ``scope`` is ``global`` or ``processInstance``."""

    signal_ref: str | None = None
    signal_name: str | None = None
    scope: str = "global"
    line: int = 0
    column: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorDefinition:
    """``errorEventDefinition``; ``error_code`` from the ``<error>`` (or the ref, as Flowable)."""

    error_ref: str | None = None
    error_code: str | None = None
    line: int = 0
    column: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class EscalationDefinition:
    """``escalationEventDefinition``; ``escalation_code`` resolved like error codes."""

    escalation_ref: str | None = None
    escalation_code: str | None = None
    line: int = 0
    column: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class TerminateDefinition:
    """``terminateEventDefinition`` (``flowable:terminateAll`` and
    ``flowable:terminateMultiInstance`` kept)."""

    terminate_all: bool = False
    terminate_multi_instance: bool = False
    line: int = 0
    column: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ConditionalDefinition:
    """``conditionalEventDefinition`` with its ``condition`` text (not executed)."""

    condition: str | None = None
    line: int = 0
    column: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class CompensateDefinition:
    """``compensateEventDefinition`` (not executed)."""

    activity_ref: str | None = None
    wait_for_completion: bool = True
    line: int = 0
    column: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelDefinition:
    """``cancelEventDefinition`` (not executed)."""

    line: int = 0
    column: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkDefinition:
    """``linkEventDefinition`` (not executed)."""

    name: str | None = None
    line: int = 0
    column: int = 0


EventDefinition = (
    TimerDefinition
    | MessageDefinition
    | SignalDefinition
    | ErrorDefinition
    | EscalationDefinition
    | TerminateDefinition
    | ConditionalDefinition
    | CompensateDefinition
    | CancelDefinition
    | LinkDefinition
)


# --- common bases --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowNode:
    """What every flow node has."""

    id: str
    name: str | None = None
    documentation: str | None = None
    parent_id: str | None = None
    line: int = 0
    column: int = 0
    execution_listeners: tuple[Listener, ...] = ()
    async_before: bool = False
    async_after: bool = False
    exclusive: bool = True
    failed_job_retry_time_cycle: str | None = None
    #: ``<flowable:includeInHistory>true</...>``: its historic activity instances are kept
    #: even below the ``activity`` history level (not at ``none``)
    include_in_history: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Activity(FlowNode):
    """What every activity (task, sub-process, call activity) adds."""

    default_flow: str | None = None
    loop: LoopCharacteristics | None = None
    is_for_compensation: bool = False
    skip_expression: str | None = None


# --- events --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class StartEvent(FlowNode):
    """``startEvent``; no definitions = none start. Event sub-process starts use ``is_interrupting``."""

    event_definitions: tuple[EventDefinition, ...] = ()
    is_interrupting: bool = True
    initiator: str | None = None
    form_key: str | None = None
    form_properties: tuple[FormProperty, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class EndEvent(FlowNode):
    """``endEvent``: none, error, escalation, terminate, cancel, message, signal."""

    event_definitions: tuple[EventDefinition, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class IntermediateCatchEvent(FlowNode):
    """``intermediateCatchEvent``: timer, message, signal (conditional, link: not executed)."""

    event_definitions: tuple[EventDefinition, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class IntermediateThrowEvent(FlowNode):
    """``intermediateThrowEvent``; no definitions = pass-through."""

    event_definitions: tuple[EventDefinition, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class BoundaryEvent(FlowNode):
    """``boundaryEvent`` on ``attached_to``; interrupting when ``cancel_activity``."""

    attached_to: str | None = None
    cancel_activity: bool = True
    event_definitions: tuple[EventDefinition, ...] = ()


# --- tasks ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class UserTask(Activity):
    """``userTask`` with its Flowable assignment, form and listener attributes."""

    assignee: str | None = None
    owner: str | None = None
    candidate_users: tuple[str, ...] = ()
    candidate_groups: tuple[str, ...] = ()
    priority: str | None = None
    due_date: str | None = None
    business_calendar: str | None = None
    category: str | None = None
    form_key: str | None = None
    form_properties: tuple[FormProperty, ...] = ()
    task_listeners: tuple[Listener, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ManualTask(Activity):
    """``manualTask``: passes straight through."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Task(Activity):
    """Plain ``task``: passes straight through."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ScriptTask(Activity):
    """``scriptTask``; ``script_format`` as written (checked by the validator)."""

    script_format: str | None = None
    script: str | None = None
    result_variable: str | None = None
    auto_store_variables: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceTask(Activity):
    """``serviceTask``: one of expression, delegate expression, class or type."""

    expression: str | None = None
    delegate_expression: str | None = None
    class_name: str | None = None
    type: str | None = None
    result_variable: str | None = None
    use_local_scope_for_result_variable: bool = False
    triggerable: bool = False
    fields: tuple[FieldExtension, ...] = ()
    #: ``flowable:type="send-event"``: the event type, channels and ``(source, target)``
    #: in-parameters; ``trigger_event``: send-and-receive, the reply it waits for
    event_type: str | None = None
    channel_keys: tuple[str, ...] = ()
    event_in_parameters: tuple[tuple[str, str], ...] = ()
    trigger_event_type: str | None = None
    trigger_event: EventRegistryDefinition | None = None
    #: ``flowable:type="external-worker"``: the topic (may be an expression), whether the job
    #: carries no variables (``doNotIncludeVariables``), and the ``externalWorkerInParameter``
    #: / ``externalWorkerOutParameter`` mappings
    topic: str | None = None
    do_not_include_variables: bool = False
    worker_in_parameters: tuple[CallMapping, ...] = ()
    worker_out_parameters: tuple[CallMapping, ...] = ()
    #: the HTTP task's extensions this engine does not run (``httpRequestHandler``,
    #: ``httpResponseHandler``, ``mapException``), kept for the validator to refuse
    unsupported_extensions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceiveTask(Activity):
    """``receiveTask``: a wait state released by a trigger, or by its message when it has a
    ``messageRef`` (``message_name`` is the declared name, else the ref)."""

    message_ref: str | None = None
    message_name: str | None = None
    event_registry: EventRegistryDefinition | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SendTask(Activity):
    """``sendTask``: executed only as Flowable's mail task (``flowable:type="mail"``)."""

    type: str | None = None
    class_name: str | None = None
    expression: str | None = None
    delegate_expression: str | None = None
    message_ref: str | None = None
    fields: tuple[FieldExtension, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class BusinessRuleTask(Activity):
    """``businessRuleTask`` (not executed)."""

    class_name: str | None = None
    type: str | None = None
    result_variable: str | None = None


# --- gateways ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ExclusiveGateway(FlowNode):
    """``exclusiveGateway``: first true condition in document order, else the default."""

    default_flow: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ParallelGateway(FlowNode):
    """``parallelGateway``: conditions ignored; joins wait for every incoming flow."""


@dataclass(frozen=True, slots=True, kw_only=True)
class InclusiveGateway(FlowNode):
    """``inclusiveGateway``: every true condition, else the default."""

    default_flow: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EventBasedGateway(FlowNode):
    """``eventBasedGateway``: waits for the first of the following catch events."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ComplexGateway(FlowNode):
    """``complexGateway`` (not executed)."""

    default_flow: str | None = None


# --- scopes --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SubProcess(Activity):
    """Embedded ``subProcess``; an event sub-process when ``triggered_by_event``."""

    triggered_by_event: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Transaction(Activity):
    """``transaction`` sub-process (not executed)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AdHocSubProcess(Activity):
    """``adHocSubProcess`` (not executed)."""

    ordering: str | None = None
    completion_condition: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CallActivity(Activity):
    """``callActivity`` with Flowable's in/out mappings."""

    called_element: str | None = None
    called_element_type: str | None = None
    in_mappings: tuple[CallMapping, ...] = ()
    out_mappings: tuple[CallMapping, ...] = ()
    inherit_variables: bool = False
    business_key: str | None = None
    inherit_business_key: bool = False
    process_instance_name: str | None = None


EVENT_CLASSES = (
    StartEvent,
    EndEvent,
    IntermediateCatchEvent,
    IntermediateThrowEvent,
    BoundaryEvent,
)
GATEWAY_CLASSES = (
    ExclusiveGateway,
    ParallelGateway,
    InclusiveGateway,
    EventBasedGateway,
    ComplexGateway,
)
#: Elements that contain other flow elements.
SCOPE_CLASSES = (SubProcess, Transaction, AdHocSubProcess)


# --- action tasks --------------------------------------------------------------------------

#: ``flowable:type`` of the tasks that act on the world through a job -> the job's handler type
#: (``runtime/behaviours/action_tasks.py``; the runners are the service's ``service/actions/``)
ACTION_HANDLERS: dict[str, str] = {
    "http": "http-task",
    "mail": "mail-task",
    "external-worker": "external-worker",
}
EXTERNAL_WORKER = "external-worker"


def is_action_task(node: object) -> bool:
    """An HTTP, mail or external worker task (a send task only as a mail task)."""
    kind = getattr(node, "type", None)
    if isinstance(node, SendTask):
        return kind == "mail"
    return isinstance(node, ServiceTask) and kind in ACTION_HANDLERS
