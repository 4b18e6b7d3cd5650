"""The element registry: one row per BPMN flow-node kind, the one place to add a kind.

A row names everything the engine does with a kind: its BPMN tag, its model class
(:mod:`.elements`), the builder of its class-specific fields (:mod:`.parse_nodes`), its own
validation check (:mod:`.validate_elements`; :func:`~.validate_elements.no_extra_checks`
when it has none beyond the common rules) and its behaviour, by name, in the runtime's
table (:data:`chalicelib.engine.runtime.behaviours.table.BEHAVIOURS`), or else the reason it
is never executed. The parser reads :data:`BY_TAG`, the validator :data:`BY_CLASS`, and the
runtime builds its dispatch table from :data:`KINDS` (SpiffWorkflow's ``PARSER_CLASSES``
habit, with the validator and the behaviour in the same row).

Behaviours are named rather than imported so that parsing and validating never load the
runtime, and the runtime depends on this module, not the other way round.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from chalicelib.engine import elements as el
from chalicelib.engine import parse_nodes as build
from chalicelib.engine import validate_elements as check
from chalicelib.engine.parse_nodes import Builder
from chalicelib.engine.validate_elements import Check

__all__ = ["ElementKind", "KINDS", "BY_TAG", "BY_CLASS", "REFUSED_BY_VALIDATION"]

#: The reason of the kinds validation refuses (``DECISIONS.md`` "BPMN scope").
REFUSED_BY_VALIDATION = "not supported: validation refuses it, so it never runs"


@dataclass(frozen=True, slots=True)
class ElementKind:
    """One BPMN flow-node kind: ``tag`` (local name), ``element`` (model class), ``build``
    (parser), ``check`` (validator), and ``behaviour`` (a name in the runtime's behaviour
    table) or ``not_executed`` (why it has none)."""

    tag: str
    element: type[el.FlowNode]
    build: Builder
    check: Check
    behaviour: str | None = None
    not_executed: str | None = None


def _refused(tag: str, element: type[el.FlowNode], builder: Builder, why: Check) -> ElementKind:
    return ElementKind(tag, element, builder, why, not_executed=REFUSED_BY_VALIDATION)


#: Every kind the parser knows, in the order of the BPMN specification's chapters.
KINDS: tuple[ElementKind, ...] = (
    # events
    ElementKind(
        "startEvent", el.StartEvent, build.build_start_event, check.check_event, "start_event"
    ),
    ElementKind("endEvent", el.EndEvent, build.build_event, check.check_event, "end_event"),
    ElementKind(
        "intermediateCatchEvent",
        el.IntermediateCatchEvent,
        build.build_event,
        check.check_event,
        "intermediate_catch_event",
    ),
    ElementKind(
        "intermediateThrowEvent",
        el.IntermediateThrowEvent,
        build.build_event,
        check.check_event,
        "intermediate_throw_event",
    ),
    ElementKind(
        "boundaryEvent",
        el.BoundaryEvent,
        build.build_boundary_event,
        check.check_event,
        "boundary_event",
    ),
    # tasks
    ElementKind("userTask", el.UserTask, build.build_user_task, check.check_user_task, "user_task"),
    ElementKind(
        "manualTask",
        el.ManualTask,
        build.build_no_extra_fields,
        check.no_extra_checks,
        "pass_through",
    ),
    ElementKind(
        "task", el.Task, build.build_no_extra_fields, check.no_extra_checks, "pass_through"
    ),
    ElementKind(
        "scriptTask",
        el.ScriptTask,
        build.build_script_task,
        check.check_script_task,
        "script_task",
    ),
    ElementKind(
        "serviceTask",
        el.ServiceTask,
        build.build_service_task,
        check.check_service_task,
        "service_task",
    ),
    ElementKind(
        "receiveTask",
        el.ReceiveTask,
        build.build_receive_task,
        check.no_extra_checks,
        "receive_task",
    ),
    ElementKind("sendTask", el.SendTask, build.build_send_task, check.check_send_task, "send_task"),
    _refused(
        "businessRuleTask",
        el.BusinessRuleTask,
        build.build_business_rule_task,
        check.unsupported("business rule tasks"),
    ),
    # gateways
    ElementKind(
        "exclusiveGateway",
        el.ExclusiveGateway,
        build.build_default_flow_only,
        check.no_extra_checks,
        "exclusive_gateway",
    ),
    ElementKind(
        "parallelGateway",
        el.ParallelGateway,
        build.build_no_extra_fields,
        check.no_extra_checks,
        "parallel_gateway",
    ),
    ElementKind(
        "inclusiveGateway",
        el.InclusiveGateway,
        build.build_default_flow_only,
        check.no_extra_checks,
        "inclusive_gateway",
    ),
    ElementKind(
        "eventBasedGateway",
        el.EventBasedGateway,
        build.build_no_extra_fields,
        check.no_extra_checks,
        "event_based_gateway",
    ),
    _refused(
        "complexGateway",
        el.ComplexGateway,
        build.build_default_flow_only,
        check.unsupported("complex gateways"),
    ),
    # scopes
    ElementKind(
        "subProcess",
        el.SubProcess,
        build.build_sub_process,
        check.check_sub_process,
        "sub_process",
    ),
    _refused(
        "transaction",
        el.Transaction,
        build.build_no_extra_fields,
        check.unsupported("transaction sub-processes"),
    ),
    _refused(
        "adHocSubProcess",
        el.AdHocSubProcess,
        build.build_ad_hoc_sub_process,
        check.unsupported("ad-hoc sub-processes"),
    ),
    ElementKind(
        "callActivity",
        el.CallActivity,
        build.build_call_activity,
        check.check_call_activity,
        "call_activity",
    ),
)

#: BPMN tag local name -> its kind (the parser's table).
BY_TAG: Mapping[str, ElementKind] = {kind.tag: kind for kind in KINDS}

#: Model class -> its kind (the validator's table).
BY_CLASS: Mapping[type, ElementKind] = {kind.element: kind for kind in KINDS}
