"""Builders turning one BPMN flow-node element into its model dataclass.

The element registry (:mod:`chalicelib.engine.registry`) names each kind's builder. A builder
returns the keyword arguments specific to that class; :func:`build_node` adds the ones every
flow node and every activity share. Unknown shapes never raise: they become problems on the
:class:`~chalicelib.engine.parse_support.ParseContext`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lxml import etree

from chalicelib.engine import elements as el
from chalicelib.engine.parse_support import (
    BPMN_NS,
    ParseContext,
    bool_attr,
    bpmn_children,
    child_text,
    ext_attr,
    ext_bool,
    ext_children,
    ext_text,
    include_in_history,
    local_name,
    split_list,
)
from chalicelib.engine.parts import (
    CallMapping,
    FieldExtension,
    FormProperty,
    FormValue,
    Listener,
    MultiInstance,
    StandardLoop,
)
from chalicelib.engine.problems import ProblemCode

#: A kind's builder: the keyword arguments specific to its model class.
Builder = Callable[[etree._Element, ParseContext], dict[str, Any]]

__all__ = [
    "Builder",
    "build_node",
    "parse_listeners",
    "strip_prefix",
    "build_start_event",
    "build_event",
    "build_boundary_event",
    "build_user_task",
    "build_no_extra_fields",
    "build_script_task",
    "build_service_task",
    "build_receive_task",
    "build_send_task",
    "build_business_rule_task",
    "build_default_flow_only",
    "build_sub_process",
    "build_ad_hoc_sub_process",
    "build_call_activity",
]


def strip_prefix(ref: str | None, declared) -> str | None:
    """Resolve a QName-style reference (``tns:Message_1``) against declared ids."""
    if not ref:
        return None
    ref = ref.strip()
    if ref not in declared and ":" in ref:
        short = ref.rpartition(":")[2]
        if short in declared:
            return short
    return ref


# --- shared parts --------------------------------------------------------------------------


def _fields(element: etree._Element, ctx: ParseContext) -> tuple[FieldExtension, ...]:
    found = []
    for node in ext_children(element, "field"):
        string_value = node.get("stringValue")
        expression = node.get("expression")
        for child in node:
            text = "".join(child.itertext()).strip()
            if local_name(child) == "string":
                string_value = text
            elif local_name(child) == "expression":
                expression = text
        line, column = ctx.where(node)
        found.append(
            FieldExtension(
                name=node.get("name") or "",
                string_value=string_value,
                expression=expression,
                line=line,
                column=column,
            )
        )
    return tuple(found)


def parse_listeners(
    element: etree._Element, ctx: ParseContext, tag: str = "executionListener"
) -> tuple[Listener, ...]:
    """``<flowable:executionListener>`` (or ``taskListener``) children of the element."""
    found = []
    for node in ext_children(element, tag):
        line, column = ctx.where(node)
        found.append(
            Listener(
                event=node.get("event"),
                class_name=node.get("class"),
                expression=node.get("expression"),
                delegate_expression=node.get("delegateExpression"),
                type=node.get("type"),
                fields=_fields(node, ctx),
                line=line,
                column=column,
            )
        )
    return tuple(found)


def _form_properties(element: etree._Element, ctx: ParseContext) -> tuple[FormProperty, ...]:
    found = []
    for node in ext_children(element, "formProperty"):
        values = tuple(
            FormValue(id=v.get("id") or "", name=v.get("name"))
            for v in node
            if local_name(v) == "value"
        )
        line, column = ctx.where(node)
        found.append(
            FormProperty(
                id=node.get("id") or "",
                name=node.get("name"),
                type=node.get("type"),
                expression=node.get("expression"),
                variable=node.get("variable"),
                default=node.get("default"),
                date_pattern=node.get("datePattern"),
                readable=bool_attr(node, "readable", True),
                writable=bool_attr(node, "writable", True),
                required=bool_attr(node, "required", False),
                values=values,
                line=line,
                column=column,
            )
        )
    for form_data in ext_children(element, "formData"):  # Camunda's form fields
        for node in form_data:
            if local_name(node) != "formField":
                continue
            values = tuple(
                FormValue(id=v.get("id") or "", name=v.get("name"))
                for v in node
                if local_name(v) == "value"
            )
            line, column = ctx.where(node)
            found.append(
                FormProperty(
                    id=node.get("id") or "",
                    name=node.get("label"),
                    type=node.get("type"),
                    default=node.get("defaultValue"),
                    date_pattern=node.get("datePattern"),
                    values=values,
                    line=line,
                    column=column,
                )
            )
    return tuple(found)


def _loop(element: etree._Element, ctx: ParseContext):
    for node in bpmn_children(element, "multiInstanceLoopCharacteristics"):
        line, column = ctx.where(node)
        item = bpmn_children(node, "inputDataItem")
        item_name = (item[0].get("name") or item[0].get("id")) if item else None
        return MultiInstance(
            is_sequential=bool_attr(node, "isSequential", False),
            loop_cardinality=child_text(node, "loopCardinality"),
            collection=ext_attr(node, "collection"),
            element_variable=ext_attr(node, "elementVariable") or item_name,
            element_index_variable=ext_attr(node, "elementIndexVariable"),
            completion_condition=child_text(node, "completionCondition"),
            loop_data_input_ref=child_text(node, "loopDataInputRef"),
            input_data_item=item_name,
            line=line,
            column=column,
        )
    for node in bpmn_children(element, "standardLoopCharacteristics"):
        line, column = ctx.where(node)
        return StandardLoop(
            loop_condition=child_text(node, "loopCondition"),
            loop_maximum=node.get("loopMaximum"),
            test_before=bool_attr(node, "testBefore", False),
            line=line,
            column=column,
        )
    return None


# --- event definitions ---------------------------------------------------------------------


def _event_definitions(
    element: etree._Element, ctx: ParseContext
) -> tuple[el.EventDefinition, ...]:
    found: list[el.EventDefinition] = []
    for node in element:
        name = local_name(node)
        if node.tag != f"{{{BPMN_NS}}}{name}" or not name.endswith("EventDefinition"):
            continue
        line, column = ctx.where(node)
        where = {"line": line, "column": column}
        if name == "timerEventDefinition":
            cycle = bpmn_children(node, "timeCycle")
            found.append(
                el.TimerDefinition(
                    time_date=child_text(node, "timeDate"),
                    time_duration=child_text(node, "timeDuration"),
                    time_cycle=child_text(node, "timeCycle"),
                    end_date=ext_attr(cycle[0], "endDate") if cycle else None,
                    business_calendar=ext_attr(node, "businessCalendarName"),
                    **where,
                )
            )
        elif name == "messageEventDefinition":
            ref = strip_prefix(node.get("messageRef"), ctx.messages)
            message = ctx.messages.get(ref) if ref is not None else None
            found.append(
                el.MessageDefinition(
                    message_ref=ref,
                    message_name=(message.name or message.id) if message else ref,
                    **where,
                )
            )
        elif name == "signalEventDefinition":
            ref = strip_prefix(node.get("signalRef"), ctx.signals)
            signal = ctx.signals.get(ref) if ref is not None else None
            found.append(
                el.SignalDefinition(
                    signal_ref=ref,
                    signal_name=(signal.name or signal.id) if signal else ref,
                    scope=signal.scope if signal else "global",
                    **where,
                )
            )
        elif name == "errorEventDefinition":
            ref = strip_prefix(node.get("errorRef"), ctx.errors)
            error = ctx.errors.get(ref) if ref is not None else None
            code = (error.error_code or error.id) if error else ref
            found.append(el.ErrorDefinition(error_ref=ref, error_code=code, **where))
        elif name == "escalationEventDefinition":
            ref = strip_prefix(node.get("escalationRef"), ctx.escalations)
            escalation = ctx.escalations.get(ref) if ref is not None else None
            code = (escalation.escalation_code or escalation.id) if escalation else ref
            found.append(el.EscalationDefinition(escalation_ref=ref, escalation_code=code, **where))
        elif name == "terminateEventDefinition":
            found.append(
                el.TerminateDefinition(
                    terminate_all=ext_bool(node, "terminateAll"),
                    terminate_multi_instance=ext_bool(node, "terminateMultiInstance"),
                    **where,
                )
            )
        elif name == "conditionalEventDefinition":
            found.append(el.ConditionalDefinition(condition=child_text(node, "condition"), **where))
        elif name == "compensateEventDefinition":
            found.append(
                el.CompensateDefinition(
                    activity_ref=node.get("activityRef"),
                    wait_for_completion=bool_attr(node, "waitForCompletion", True),
                    **where,
                )
            )
        elif name == "cancelEventDefinition":
            found.append(el.CancelDefinition(**where))
        elif name == "linkEventDefinition":
            found.append(el.LinkDefinition(name=node.get("name"), **where))
        else:
            ctx.report(
                ProblemCode.UNKNOWN_ELEMENT,
                f"<{name}> is not a BPMN event definition we know; it is ignored",
                node,
                warning=True,
                activity_id=element.get("id"),
            )
    registry = _event_registry(element, ctx)
    if registry is not None and not found:
        found.append(registry)
    return tuple(found)


def _event_registry(
    element: etree._Element, ctx: ParseContext
) -> el.EventRegistryDefinition | None:
    """``<flowable:eventType>`` with its correlation and out parameters (None without it)."""
    return _registry_event(element, ctx, "eventType", "eventCorrelationParameter")


def _registry_event(
    element: etree._Element, ctx: ParseContext, key_tag: str, correlation_tag: str
) -> el.EventRegistryDefinition | None:
    """The event-registry event ``<flowable:{key_tag}>`` names, its ``correlation_tag``
    parameters and ``eventOutParameter`` mappings (None without the key)."""
    key = ext_text(element, key_tag)
    if not key:
        return None
    line, column = ctx.where(element)
    return el.EventRegistryDefinition(
        message_name=f"{el.EVENT_REGISTRY_PREFIX}{key}",
        event_type=key,
        correlation=tuple(
            (p.get("name") or "", p.get("value") or "")
            for p in ext_children(element, correlation_tag)
        ),
        out_parameters=tuple(
            (
                p.get("source") or "",
                p.get("target") or "",
                (p.get("transient") or "").strip().lower() == "true",
            )
            for p in ext_children(element, "eventOutParameter")
        ),
        start_configuration=ext_text(element, "startEventCorrelationConfiguration") or None,
        line=line,
        column=column,
    )


def build_start_event(node: etree._Element, ctx: ParseContext) -> dict[str, Any]:
    """Start event: event definitions, interrupting, initiator, form."""
    return {
        "event_definitions": _event_definitions(node, ctx),
        "is_interrupting": bool_attr(node, "isInterrupting", True),
        "initiator": ext_attr(node, "initiator"),
        "form_key": ext_attr(node, "formKey"),
        "form_properties": _form_properties(node, ctx),
    }


def build_event(node: etree._Element, ctx: ParseContext) -> dict[str, Any]:
    """End, intermediate catch and throw events: their event definitions."""
    return {"event_definitions": _event_definitions(node, ctx)}


def build_boundary_event(node: etree._Element, ctx: ParseContext) -> dict[str, Any]:
    """Boundary event: event definitions, attached activity, cancelActivity."""
    return {
        "event_definitions": _event_definitions(node, ctx),
        "attached_to": (node.get("attachedToRef") or "").strip() or None,
        "cancel_activity": bool_attr(node, "cancelActivity", True),
    }


def _performers(node) -> tuple[list[str], list[str], str | None]:
    users, groups, assignee = [], [], None
    for tag in ("potentialOwner", "humanPerformer"):
        for owner in bpmn_children(node, tag):
            for assignment in bpmn_children(owner, "resourceAssignmentExpression"):
                text = child_text(assignment, "formalExpression") or ""
                if tag == "humanPerformer":
                    assignee = assignee or text or None
                    continue
                for item in split_list(text):
                    if item.startswith("user(") and item.endswith(")"):
                        users.append(item[5:-1].strip())
                    elif item.startswith("group(") and item.endswith(")"):
                        groups.append(item[6:-1].strip())
                    else:
                        groups.append(item)
    return users, groups, assignee


def build_user_task(node: etree._Element, ctx: ParseContext) -> dict[str, Any]:
    """User task: performers, assignee, candidates, due date, priority, form, listeners."""
    users, groups, performer = _performers(node)
    return {
        "assignee": ext_attr(node, "assignee") or performer,
        "owner": ext_attr(node, "owner"),
        "candidate_users": split_list(ext_attr(node, "candidateUsers")) + tuple(users),
        "candidate_groups": split_list(ext_attr(node, "candidateGroups")) + tuple(groups),
        "priority": ext_attr(node, "priority"),
        "due_date": ext_attr(node, "dueDate"),
        "business_calendar": ext_attr(node, "businessCalendarName"),
        "category": ext_attr(node, "category"),
        "form_key": ext_attr(node, "formKey"),
        "form_properties": _form_properties(node, ctx),
        "task_listeners": parse_listeners(node, ctx, "taskListener"),
    }


def build_no_extra_fields(node: etree._Element, ctx: ParseContext) -> dict[str, Any]:
    """A kind with no fields of its own (explicitly nothing to add)."""
    return {}


def build_script_task(node: etree._Element, ctx: ParseContext) -> dict[str, Any]:
    """Script task: format, script, result variable."""
    scripts = bpmn_children(node, "script")
    script = "".join(scripts[0].itertext()) if scripts else None
    return {
        "script_format": (node.get("scriptFormat") or "").strip() or None,
        "script": script if script and script.strip() else None,
        "result_variable": ext_attr(node, "resultVariable", "resultVariableName"),
        "auto_store_variables": ext_bool(node, "autoStoreVariables"),
    }


def build_service_task(node: etree._Element, ctx: ParseContext) -> dict[str, Any]:
    """Service task: type, expression, delegate expression, fields, result."""
    return {
        "expression": ext_attr(node, "expression"),
        "delegate_expression": ext_attr(node, "delegateExpression"),
        "class_name": ext_attr(node, "class"),
        "type": ext_attr(node, "type"),
        "result_variable": ext_attr(node, "resultVariable", "resultVariableName"),
        "use_local_scope_for_result_variable": ext_bool(node, "useLocalScopeForResultVariable"),
        "triggerable": ext_bool(node, "triggerable"),
        "fields": _fields(node, ctx),
        "event_type": ext_text(node, "eventType"),
        "channel_keys": tuple(
            key.strip()
            for child in ext_children(node, "channelKey")
            for key in (child.text or "").split(",")
            if key.strip()
        ),
        "event_in_parameters": tuple(
            (p.get("source") or "", p.get("target") or "")
            for p in ext_children(node, "eventInParameter")
        ),
        "trigger_event_type": ext_text(node, "triggerEventType"),
        "trigger_event": _trigger_event(node, ctx),
        "topic": ext_attr(node, "topic"),
        "do_not_include_variables": ext_bool(node, "doNotIncludeVariables"),
        "worker_in_parameters": _mappings(node, ctx, "externalWorkerInParameter"),
        "worker_out_parameters": _mappings(node, ctx, "externalWorkerOutParameter"),
        "unsupported_extensions": tuple(
            tag for tag in _UNSUPPORTED_EXTENSIONS if ext_children(node, tag)
        ),
    }


#: Flowable HTTP task extensions that run Java classes or scripts (refused by the validator)
_UNSUPPORTED_EXTENSIONS = ("httpRequestHandler", "httpResponseHandler", "mapException")


def _trigger_event(node: etree._Element, ctx: ParseContext) -> el.EventRegistryDefinition | None:
    """The reply a send-and-receive send event task waits for (``triggerEventType``)."""
    return _registry_event(node, ctx, "triggerEventType", "triggerEventCorrelationParameter")


def build_receive_task(node: etree._Element, ctx: ParseContext) -> dict[str, Any]:
    """Receive task: its message reference."""
    ref = strip_prefix(node.get("messageRef"), ctx.messages)
    declared = ctx.messages.get(ref) if ref else None
    return {
        "message_ref": ref,
        "message_name": (declared.name or declared.id) if declared else ref,
        "event_registry": _event_registry(node, ctx),
    }


def build_send_task(node: etree._Element, ctx: ParseContext) -> dict[str, Any]:
    """Send task: type and operation (validation refuses it)."""
    return {
        "type": ext_attr(node, "type"),
        "class_name": ext_attr(node, "class"),
        "expression": ext_attr(node, "expression"),
        "delegate_expression": ext_attr(node, "delegateExpression"),
        "message_ref": strip_prefix(node.get("messageRef"), ctx.messages),
        "fields": _fields(node, ctx),
    }


def build_business_rule_task(node: etree._Element, ctx: ParseContext) -> dict[str, Any]:
    """Business rule task (validation refuses it)."""
    return {
        "class_name": ext_attr(node, "class"),
        "type": ext_attr(node, "type"),
        "result_variable": ext_attr(node, "resultVariable", "resultVariableName"),
    }


def build_default_flow_only(node: etree._Element, ctx: ParseContext) -> dict[str, Any]:
    """Exclusive, inclusive and complex gateways: the default flow."""
    return {"default_flow": (node.get("default") or "").strip() or None}


def build_sub_process(node: etree._Element, ctx: ParseContext) -> dict[str, Any]:
    """Sub-process: triggered by an event or not."""
    return {"triggered_by_event": bool_attr(node, "triggeredByEvent", False)}


def build_ad_hoc_sub_process(node: etree._Element, ctx: ParseContext) -> dict[str, Any]:
    """Ad-hoc sub-process (validation refuses it)."""
    return {
        "ordering": node.get("ordering"),
        "completion_condition": child_text(node, "completionCondition"),
    }


def _mappings(node, ctx, tag) -> tuple[CallMapping, ...]:
    found = []
    for item in ext_children(node, tag):
        line, column = ctx.where(item)
        found.append(
            CallMapping(
                source=item.get("source"),
                source_expression=item.get("sourceExpression"),
                target=item.get("target"),
                target_expression=item.get("targetExpression"),
                line=line,
                column=column,
            )
        )
    return tuple(found)


def build_call_activity(node: etree._Element, ctx: ParseContext) -> dict[str, Any]:
    """Call activity: called element, business key, in/out mappings."""
    return {
        "called_element": (node.get("calledElement") or "").strip() or None,
        "called_element_type": ext_attr(node, "calledElementType"),
        "in_mappings": _mappings(node, ctx, "in"),
        "out_mappings": _mappings(node, ctx, "out"),
        "inherit_variables": ext_bool(node, "inheritVariables"),
        "business_key": ext_attr(node, "businessKey"),
        "inherit_business_key": ext_bool(node, "inheritBusinessKey"),
        "process_instance_name": ext_attr(node, "processInstanceName"),
    }


def build_node(
    node: etree._Element,
    node_id: str,
    parent_id: str | None,
    ctx: ParseContext,
    cls: type[el.FlowNode],
    builder: Builder,
) -> el.FlowNode:
    """Build the model object ``cls`` for one flow-node element: the fields every flow node
    (and every activity) has, plus what ``builder`` (its kind's, from the element registry)
    returns."""
    line, column = ctx.where(node)
    kwargs: dict[str, Any] = {
        "id": node_id,
        "name": node.get("name"),
        "parent_id": parent_id,
        "documentation": child_text(node, "documentation"),
        "line": line,
        "column": column,
        "execution_listeners": parse_listeners(node, ctx),
        "async_before": ext_bool(node, "async", False, "asyncBefore"),
        "async_after": ext_bool(node, "asyncAfter", False, "asyncLeave"),
        "exclusive": ext_bool(node, "exclusive", True),
        "failed_job_retry_time_cycle": (
            ext_text(node, "failedJobRetryTimeCycle") or ext_attr(node, "failedJobRetryTimeCycle")
        ),
        "include_in_history": include_in_history(node),
    }
    if issubclass(cls, el.Activity):
        kwargs.update(
            default_flow=(node.get("default") or "").strip() or None,
            loop=_loop(node, ctx),
            is_for_compensation=bool_attr(node, "isForCompensation", False),
            skip_expression=ext_attr(node, "skipExpression"),
        )
    kwargs.update(builder(node, ctx))
    return cls(**kwargs)
