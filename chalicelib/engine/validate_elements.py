"""Per-element validation rules; the element registry (:mod:`chalicelib.engine.registry`)
names each kind's own check.

Which event definition may appear where follows Flowable's table (``bpmn-semantics.md``
§1.1). Constructs we parse but do not run are errors (``DECISIONS.md`` "BPMN scope"): link,
conditional, compensation and cancel events; complex gateways; transaction and ad-hoc
sub-processes; business rule and send tasks; typed service tasks (mail, http, camel, ...);
``flowable:class`` anywhere; script languages other than JavaScript and JUEL; standard loops
(Flowable ignores them silently, which would run the activity once: we refuse instead).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.engine import elements as el
from chalicelib.engine.parts import Listener, MultiInstance, StandardLoop
from chalicelib.engine.problems import ProblemCode as P
from chalicelib.engine.timers import (
    RepeatingInterval,
    parse_time_cycle,
    parse_time_date,
    parse_time_duration,
)
from chalicelib.engine.validate_support import ProcessChecker

__all__ = [
    "Check",
    "check_element",
    "check_listeners",
    "check_form",
    "SCRIPT_LANGUAGES",
    "check_event",
    "check_user_task",
    "check_script_task",
    "check_service_task",
    "check_send_task",
    "check_call_activity",
    "check_sub_process",
    "no_extra_checks",
    "unsupported",
]

#: Script languages we run: JavaScript (sandboxed) and JUEL (as an expression).
SCRIPT_LANGUAGES = frozenset({"javascript", "js", "ecmascript", "juel"})

_UNSUPPORTED_EVENTS = {
    el.LinkDefinition: "link",
    el.ConditionalDefinition: "conditional",
    el.CompensateDefinition: "compensation",
    el.CancelDefinition: "cancel",
}
_NONE = type(None)
_WHERE_ALLOWED = {
    "process start": (_NONE, el.TimerDefinition, el.MessageDefinition, el.SignalDefinition),
    "event sub-process start": (
        el.TimerDefinition,
        el.MessageDefinition,
        el.SignalDefinition,
        el.ErrorDefinition,
        el.EscalationDefinition,
    ),
    "sub-process start": (_NONE,),
    "intermediate catch": (el.TimerDefinition, el.MessageDefinition, el.SignalDefinition),
    "boundary": (
        el.TimerDefinition,
        el.MessageDefinition,
        el.SignalDefinition,
        el.ErrorDefinition,
        el.EscalationDefinition,
    ),
    "intermediate throw": (_NONE, el.SignalDefinition, el.EscalationDefinition),
    "end": (_NONE, el.ErrorDefinition, el.EscalationDefinition, el.TerminateDefinition),
}
_KIND = {
    el.TimerDefinition: "timer",
    el.MessageDefinition: "message",
    el.SignalDefinition: "signal",
    el.ErrorDefinition: "error",
    el.EscalationDefinition: "escalation",
    el.TerminateDefinition: "terminate",
    _NONE: "none",
}


# --- events --------------------------------------------------------------------------------


def _location(c: ProcessChecker, node: el.FlowNode) -> str:
    if isinstance(node, el.StartEvent):
        scope = c.model.elements.get(node.parent_id) if node.parent_id else None
        if scope is None:
            return "process start"
        if isinstance(scope, el.SubProcess) and scope.triggered_by_event:
            return "event sub-process start"
        return "sub-process start"
    return {
        el.EndEvent: "end",
        el.IntermediateCatchEvent: "intermediate catch",
        el.IntermediateThrowEvent: "intermediate throw",
        el.BoundaryEvent: "boundary",
    }[type(node)]


def check_event(c: ProcessChecker, node) -> None:
    """Events: which event definitions may appear where, and each definition's own rules."""
    where = _location(c, node)
    definitions = node.event_definitions
    if len(definitions) > 1:
        c.add(
            P.MULTIPLE_EVENT_DEFINITIONS,
            f"an event ({where}) with {len(definitions)} event "
            "definitions (BPMN 'multiple') is not supported",
            node,
        )
        return
    definition = definitions[0] if definitions else None
    if definition is None:
        if where == "boundary":
            c.add(P.BOUNDARY_NO_DEFINITION, "a boundary event needs an event definition", node)
        elif where == "intermediate catch":
            c.add(
                P.CATCH_NO_DEFINITION, "an intermediate catch event needs an event definition", node
            )
        elif where == "event sub-process start":
            c.add(
                P.EVENT_SUBPROCESS_START,
                "the start event of an event sub-process needs "
                "an event definition (timer, message, signal, error or escalation)",
                node,
            )
        return
    kind = _UNSUPPORTED_EVENTS.get(type(definition))
    if kind:
        c.add(
            P.UNSUPPORTED_EVENT,
            f"{kind} events are not supported by this engine",
            node,
            at=definition,
        )
        return
    if not isinstance(definition, _WHERE_ALLOWED[where]):
        code = (
            P.SUBPROCESS_START_NOT_NONE
            if where == "sub-process start"
            else P.EVENT_DEFINITION_NOT_HERE
        )
        article = "an" if where[0] in "aeiou" else "a"
        c.add(
            code,
            f"a {_KIND.get(type(definition), 'event-registry')} event definition is not supported on "
            f"{article} {where} event",
            node,
            at=definition,
        )
        return
    _check_definition(c, node, definition, where)


def _check_definition(c: ProcessChecker, node, definition, where: str) -> None:
    d = c.definitions
    if isinstance(definition, el.TimerDefinition):
        _check_timer(c, node, definition)
    elif isinstance(definition, el.EventRegistryDefinition):
        return  # the event type is checked at deploy (service.definitions.event_registry)
    elif isinstance(definition, el.MessageDefinition):
        if not definition.message_ref:
            c.add(P.MESSAGE_REF_MISSING, "attribute 'messageRef' is required", node, at=definition)
        elif definition.message_ref not in d.messages:
            c.add(
                P.MESSAGE_REF_INVALID,
                f"invalid messageRef '{definition.message_ref}': no "
                "<message> with that id is declared",
                node,
                at=definition,
            )
    elif isinstance(definition, el.SignalDefinition):
        if not definition.signal_ref:
            c.add(P.SIGNAL_REF_MISSING, "attribute 'signalRef' is required", node, at=definition)
        elif definition.signal_ref not in d.signals:
            c.add(
                P.SIGNAL_REF_INVALID,
                f"invalid signalRef '{definition.signal_ref}': no "
                "<signal> with that id is declared",
                node,
                at=definition,
            )
    elif isinstance(definition, el.ErrorDefinition):
        if where == "end" and not definition.error_code:
            c.add(
                P.ERROR_CODE_MISSING,
                "an error end event needs an errorRef (the error code it throws)",
                node,
                at=definition,
            )
        if where == "boundary" and not node.cancel_activity:
            c.add(
                P.INVALID_VALUE,
                "an error boundary event is always interrupting; cancelActivity='false' is ignored",
                node,
                at=definition,
                warning=True,
            )
    elif isinstance(definition, el.EscalationDefinition):
        if where in ("end", "intermediate throw") and not definition.escalation_code:
            c.add(
                P.ERROR_CODE_MISSING,
                "an escalation throw needs an escalationRef",
                node,
                at=definition,
            )


def _check_timer(c: ProcessChecker, node, timer: el.TimerDefinition) -> None:
    values = [
        (name, value)
        for name, value in (
            ("timeDate", timer.time_date),
            ("timeDuration", timer.time_duration),
            ("timeCycle", timer.time_cycle),
        )
        if value
    ]
    if not values:
        c.add(
            P.TIMER_MISSING,
            "a timer needs one of timeDate, timeDuration or timeCycle",
            node,
            at=timer,
        )
        return
    if len(values) > 1:
        c.add(
            P.INVALID_VALUE,
            f"a timer with {' and '.join(n for n, _ in values)}: only {values[0][0]} is used",
            node,
            at=timer,
            warning=True,
        )
    parsers = {
        "timeDate": parse_time_date,
        "timeDuration": parse_time_duration,
        "timeCycle": parse_time_cycle,
    }
    for name, value in values + ([("endDate", timer.end_date)] if timer.end_date else []):
        if c.is_expression(value):
            c.expression(value, node, f"timer {name}", at=timer)
            continue
        try:
            (parsers.get(name) or parse_time_date)(value)
        except ValueError as exc:
            c.add(P.TIMER_INVALID, f"invalid timer {name}: {exc}", node, at=timer)


# --- activities ----------------------------------------------------------------------------


def check_listeners(c: ProcessChecker, owner, listeners: tuple[Listener, ...], kind: str) -> None:
    """Execution or task listeners: expression and delegate expression only."""
    for listener in listeners:
        if listener.class_name:
            c.add(
                P.UNSUPPORTED_JAVA_CLASS,
                f"{kind} listener class '{listener.class_name}': "
                "Java classes are not supported (use an expression)",
                owner,
                at=listener,
            )
        elif listener.type:
            c.add(
                P.UNSUPPORTED_TASK_TYPE,
                f"{kind} listener of type '{listener.type}' is not supported",
                owner,
                at=listener,
            )
        elif not (listener.expression or listener.delegate_expression):
            c.add(
                P.LISTENER_IMPLEMENTATION_MISSING,
                f"a {kind} listener needs an expression or a delegateExpression",
                owner,
                at=listener,
            )
        c.expressions(
            owner,
            [
                (f"{kind} listener expression", listener.expression),
                (f"{kind} listener delegateExpression", listener.delegate_expression),
            ],
            at=listener,
        )
        for item in listener.fields:
            c.expression(item.expression, owner, f"field '{item.name}'", at=item)


def _check_activity(c: ProcessChecker, node: el.Activity) -> None:
    loop = node.loop
    if isinstance(loop, MultiInstance):
        if not (loop.loop_cardinality or loop.collection or loop.loop_data_input_ref):
            c.add(
                P.MULTI_INSTANCE_MISSING,
                "a multi-instance activity needs a loopCardinality or a collection",
                node,
                at=loop,
            )
        c.expressions(
            node,
            [
                ("loopCardinality", loop.loop_cardinality),
                ("collection", loop.collection),
                ("completionCondition", loop.completion_condition),
            ],
            at=loop,
        )
    elif isinstance(loop, StandardLoop):
        c.add(
            P.UNSUPPORTED_ELEMENT,
            "standard loops (standardLoopCharacteristics) are not supported; use multi-instance",
            node,
            at=loop,
        )
    if node.is_for_compensation:
        c.add(
            P.UNSUPPORTED_ELEMENT,
            "compensation handlers (isForCompensation) are not supported",
            node,
        )
    c.expression(node.skip_expression, node, "skipExpression")


def check_user_task(c: ProcessChecker, node: el.UserTask) -> None:
    """User task: its expressions (assignee, candidates, due date, ...), form and listeners."""
    c.expressions(
        node,
        [
            ("assignee", node.assignee),
            ("owner", node.owner),
            ("priority", node.priority),
            ("dueDate", node.due_date),
            ("category", node.category),
            ("formKey", node.form_key),
        ],
    )
    for user in node.candidate_users:
        c.expression(user, node, "candidateUsers")
    for group in node.candidate_groups:
        c.expression(group, node, "candidateGroups")
    if node.priority and not c.is_expression(node.priority):
        try:
            int(node.priority.strip())
        except ValueError:
            c.add(P.INVALID_VALUE, f"priority '{node.priority}' is not an integer", node)
    if node.due_date and not c.is_expression(node.due_date):
        try:
            parse_time_date(node.due_date)
        except ValueError:
            try:
                parse_time_duration(node.due_date)
            except ValueError:
                c.add(
                    P.INVALID_VALUE,
                    f"dueDate '{node.due_date}' is neither an ISO-8601 date-time nor a duration",
                    node,
                )
    check_listeners(c, node, node.task_listeners, "task")
    check_form(c, node, node.form_properties)


def check_form(c: ProcessChecker, node, properties) -> None:
    """Form property expressions and enum values."""
    for prop in properties:
        c.expressions(
            node,
            [
                (f"form property '{prop.id}' expression", prop.expression),
                (f"form property '{prop.id}' default", prop.default),
            ],
            at=prop,
        )
        if not prop.id:
            c.add(P.INVALID_VALUE, "a form property needs an id", node, at=prop)
        if prop.type == "enum" and not prop.values:
            c.add(
                P.INVALID_VALUE,
                f"enum form property '{prop.id}' has no values",
                node,
                at=prop,
                warning=True,
            )


def check_script_task(c: ProcessChecker, node: el.ScriptTask) -> None:
    """Script task: a language we run, and a script."""
    language = (node.script_format or "").lower()
    if not language:
        c.add(
            P.SCRIPT_LANGUAGE_MISSING,
            "a script task needs a scriptFormat (javascript or juel)",
            node,
        )
    elif language not in SCRIPT_LANGUAGES:
        c.add(
            P.UNSUPPORTED_SCRIPT_LANGUAGE,
            f"scriptFormat '{node.script_format}' is not "
            "supported: scripts must be JavaScript (javascript, js, ecmascript) or juel",
            node,
        )
    if node.script is None:
        c.add(P.SCRIPT_MISSING, "a script task needs a <script>", node)
    elif language == "juel":
        c.expression(node.script.strip(), node, "juel script")


def check_service_task(c: ProcessChecker, node: el.ServiceTask) -> None:
    """Service task: an expression or delegate expression; no Java class, no typed task."""
    if node.class_name:
        c.add(
            P.UNSUPPORTED_JAVA_CLASS,
            f"class '{node.class_name}': Java classes are not "
            "supported (use an expression or a delegateExpression)",
            node,
        )
    elif node.type == "send-event" and node.event_type:
        if node.trigger_event_type and not node.triggerable:
            c.add(
                P.UNSUPPORTED_TASK_TYPE,
                "a send event task with triggerEventType must be flowable:triggerable",
                node,
            )
        elif not node.channel_keys:
            c.add(
                P.UNSUPPORTED_TASK_TYPE,
                "a send event task needs flowable:channelKey (the outbound channel)",
                node,
            )
    elif node.type in ACTION_FIELDS:
        check_action_task(c, node)
    elif node.type:
        c.add(
            P.UNSUPPORTED_TASK_TYPE, f"service tasks of type '{node.type}' are not supported", node
        )
    elif not (node.expression or node.delegate_expression):
        c.add(
            P.SERVICE_IMPLEMENTATION_MISSING,
            "a service task needs an expression or a delegateExpression",
            node,
        )
    c.expressions(
        node, [("expression", node.expression), ("delegateExpression", node.delegate_expression)]
    )
    for item in node.fields:
        c.expression(item.expression, node, f"field '{item.name}'", at=item)


def unsupported(what: str) -> Callable[[ProcessChecker, el.FlowNode], None]:
    """A check refusing every element of a kind this engine does not run."""

    def check(c: ProcessChecker, node: el.FlowNode) -> None:
        c.add(P.UNSUPPORTED_ELEMENT, f"{what} are not supported by this engine", node)

    return check


def check_send_task(c: ProcessChecker, node: el.SendTask) -> None:
    """Send task: run only as Flowable's mail task (``flowable:type="mail"``)."""
    if node.type == "mail" and not node.class_name:
        check_action_task(c, node)
        for item in node.fields:
            c.expression(item.expression, node, f"field '{item.name}'", at=item)
        return
    suffix = f" (type '{node.type}')" if node.type else ""
    c.add(
        P.UNSUPPORTED_TASK_TYPE,
        f"send tasks{suffix} are not supported by this engine (a mail task is)",
        node,
    )


#: the ``flowable:field`` names each action task type reads (Flowable's names)
ACTION_FIELDS: dict[str, frozenset[str]] = {
    "http": frozenset(
        {
            "requestMethod",
            "requestUrl",
            "requestHeaders",
            "requestBody",
            "requestBodyEncoding",
            "requestTimeout",
            "disallowRedirects",
            "failStatusCodes",
            "handleStatusCodes",
            "ignoreException",
            "saveRequestVariables",
            "saveResponseParameters",
            "saveResponseParametersTransient",
            "saveResponseVariableAsJson",
            "responseVariableName",
            "resultVariablePrefix",
        }
    ),
    "mail": frozenset(
        {
            "to",
            "from",
            "subject",
            "cc",
            "bcc",
            "text",
            "textVar",
            "html",
            "htmlVar",
            "charset",
            "ignoreException",
            "exceptionVariableName",
            "headers",
        }
    ),
    "external-worker": frozenset(),
}


def check_action_task(c: ProcessChecker, node: el.ServiceTask | el.SendTask) -> None:
    """HTTP, mail and external worker tasks: the fields each needs, and no field it would
    silently ignore (attachments, request/response handlers: Java or Groovy)."""
    kind = node.type or ""
    names = {item.name for item in node.fields}
    known = ACTION_FIELDS[kind]
    for name in sorted(names - known):
        c.add(
            P.UNSUPPORTED_TASK_TYPE,
            f"field '{name}' is not supported on a {kind} task"
            + (f" (supported: {', '.join(sorted(known))})" if known else ""),
            node,
        )
    if kind == "http":
        for tag in getattr(node, "unsupported_extensions", ()):
            c.add(
                P.UNSUPPORTED_TASK_TYPE,
                f"flowable:{tag} is not supported on an HTTP task (it runs a Java class or a "
                "script; handle the response with the task's variables and boundary events)",
                node,
            )
        if "requestMethod" not in names:
            c.add(P.HTTP_TASK_NO_METHOD, "an HTTP task needs the field requestMethod", node)
        if "requestUrl" not in names:
            c.add(P.HTTP_TASK_NO_URL, "an HTTP task needs the field requestUrl", node)
    elif kind == "mail":
        if not names & {"to", "cc", "bcc"}:
            c.add(P.MAIL_TASK_NO_RECIPIENT, "a mail task needs the field to, cc or bcc", node)
        if not names & {"text", "textVar", "html", "htmlVar"}:
            c.add(
                P.MAIL_TASK_NO_CONTENT,
                "a mail task needs the field text, textVar, html or htmlVar",
                node,
            )
    elif kind == "external-worker" and isinstance(node, el.ServiceTask):
        if not (node.topic or "").strip():
            c.add(P.EXTERNAL_WORKER_NO_TOPIC, "an external worker task needs flowable:topic", node)
        else:
            c.expressions(node, [("topic", node.topic)])


def check_call_activity(c: ProcessChecker, node: el.CallActivity) -> None:
    """Call activity: a called element, and valid in/out mappings."""
    if not node.called_element:
        c.add(P.CALLED_ELEMENT_MISSING, "a call activity needs a calledElement", node)
    c.expressions(
        node,
        [
            ("calledElement", node.called_element),
            ("businessKey", node.business_key),
            ("processInstanceName", node.process_instance_name),
        ],
    )
    for mapping in node.in_mappings + node.out_mappings:
        if not (mapping.target or mapping.target_expression):
            c.add(P.INVALID_VALUE, "an in/out mapping needs a target", node, at=mapping)
        c.expressions(
            node,
            [
                ("sourceExpression", mapping.source_expression),
                ("targetExpression", mapping.target_expression),
            ],
            at=mapping,
        )


def check_sub_process(c: ProcessChecker, node: el.SubProcess) -> None:
    """Sub-process: its start events (exactly one; an event sub-process has no flows)."""
    starts = c.model.start_events(node.id)
    if node.triggered_by_event:
        if c.model.incoming(node.id) or c.model.outgoing(node.id):
            c.add(P.INVALID_VALUE, "an event sub-process cannot have sequence flows", node)
        if len(starts) != 1:
            c.add(
                P.EVENT_SUBPROCESS_START,
                f"an event sub-process needs exactly one start event, not {len(starts)}",
                node,
            )
    elif not starts:
        c.add(P.NO_START_EVENT, "a sub-process needs a start event", node)
    elif len(starts) > 1:
        c.add(P.MULTIPLE_NONE_START, "a sub-process must have exactly one start event", node)


def no_extra_checks(c: ProcessChecker, node: el.FlowNode) -> None:
    """A kind with no rules of its own (the common rules still run)."""


#: A kind's own check (the registry names one per kind; :func:`check_element` runs it).
Check = Callable[[ProcessChecker, Any], None]


def check_element(c: ProcessChecker, node: el.FlowNode, check: Check) -> None:
    """Run every element-level rule for one flow node: its kind's own ``check`` (from the
    element registry), then the rules of every activity, start event and flow node."""
    check(c, node)
    if isinstance(node, el.Activity):
        _check_activity(c, node)
    if isinstance(node, el.StartEvent):
        check_form(c, node, node.form_properties)
        c.expression(node.form_key, node, "formKey")
    check_listeners(c, node, node.execution_listeners, "execution")
    retry = node.failed_job_retry_time_cycle
    if retry and not c.is_expression(retry):
        try:
            if not isinstance(parse_time_cycle(retry), RepeatingInterval):
                raise ValueError("a retry cycle must be an ISO-8601 repeating interval")
        except ValueError as exc:
            c.add(P.INVALID_VALUE, f"invalid failedJobRetryTimeCycle: {exc}", node)
    elif retry:
        c.expression(retry, node, "failedJobRetryTimeCycle")
