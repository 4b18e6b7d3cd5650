"""``validate``: every problem of a parsed BPMN document, with element id, line and column.

What is an error and what is a warning:

- A deployment needs at least one executable process (``isExecutable`` absent means
  executable, as in Flowable). None at all is an error.
- In an executable process, every structural defect and every construct we parse but do not
  run (``DECISIONS.md`` "BPMN scope", see :mod:`chalicelib.engine.validate_elements`) is an
  error: never "accept now, fail later".
- A non-executable process (``isExecutable="false"``, most MIWG models) is parsed and checked
  with the same rules, but is never deployed, so all its findings are **warnings**, plus one
  warning saying it will not be deployed. Flowable skips such processes the same way.
- Unreachable elements, exclusive gateways with several unconditioned flows, odd but harmless
  values: warnings.

Locations: ``line`` is the line of the element's start tag; ``column`` the 1-based column of
its ``<`` (found by scanning the source line, see :class:`~chalicelib.engine.parse_support.Locator`),
0 when unknown. Problems come back sorted by line and column.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from chalicelib.engine import elements as el
from chalicelib.engine.model import Definitions
from chalicelib.engine.parser import parse_bpmn
from chalicelib.engine.problems import BpmnSyntaxError, Problem
from chalicelib.engine.problems import ProblemCode as P
from chalicelib.engine.registry import BY_CLASS
from chalicelib.engine.validate_elements import check_element, check_listeners
from chalicelib.engine.validate_support import ProcessChecker

__all__ = ["validate", "validate_bpmn", "ValidationReport"]


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """Outcome of :func:`validate_bpmn`; ``definitions`` is ``None`` when the XML was refused."""

    definitions: Definitions | None
    errors: tuple[Problem, ...]
    warnings: tuple[Problem, ...]

    @property
    def valid(self) -> bool:
        """True when there is no error (warnings do not block a deployment)."""
        return not self.errors

    def to_json(self) -> dict[str, Any]:
        """The ``model?_action=validate_bpmn`` response body."""
        return {
            "valid": self.valid,
            "errors": [p.to_json() for p in self.errors],
            "warnings": [p.to_json() for p in self.warnings],
        }


def validate_bpmn(xml: bytes | str, *, resource_name: str | None = None) -> ValidationReport:
    """Parse and validate; refused or malformed XML becomes an error instead of an exception."""
    try:
        definitions = parse_bpmn(xml, resource_name=resource_name)
    except BpmnSyntaxError as exc:
        return ValidationReport(None, (exc.to_problem(),), ())
    problems = validate(definitions)
    return ValidationReport(
        definitions,
        tuple(p for p in problems if not p.is_warning),
        tuple(p for p in problems if p.is_warning),
    )


def validate(definitions: Definitions) -> list[Problem]:
    """Every problem of the document: the parser's and the validator's, errors and warnings."""
    document = ProcessChecker(definitions, None)
    _check_document(document)
    problems = list(definitions.problems) + document.problems
    for process in definitions.processes.values():
        checker = ProcessChecker(definitions, process)
        _check_process(checker)
        for node in process.elements.values():
            check_element(checker, node, BY_CLASS[type(node)].check)
        problems.extend(checker.problems)
    non_executable = {
        key for key, process in definitions.processes.items() if not process.is_executable
    }
    problems = [
        p.as_warning() if p.process_key in non_executable and not p.is_warning else p
        for p in problems
    ]
    return sorted(problems, key=lambda p: (p.line, p.column, p.is_warning))


def _check_document(c: ProcessChecker) -> None:
    d = c.definitions
    if d.processes and not d.executable_processes:
        c.add(
            P.NO_EXECUTABLE_PROCESS,
            "all process definitions are set to be non-executable "
            "(isExecutable='false'): there is nothing to deploy",
        )
    elif not d.processes and not any(p.code is P.NOT_BPMN for p in d.problems):
        c.add(P.NO_EXECUTABLE_PROCESS, "the document contains no <process>")
    for signal in d.signals.values():
        if signal.scope not in ("global", "processInstance"):
            c.add(
                P.SIGNAL_SCOPE_INVALID,
                f"signal scope '{signal.scope}' must be 'global' or 'processInstance'",
                signal,
            )


def _check_process(c: ProcessChecker) -> None:
    process = c.model
    if not process.is_executable:
        c.add(
            P.PROCESS_NOT_EXECUTABLE,
            f"process '{process.key}' is not executable "
            "(isExecutable='false'): it is checked but will not be deployed",
            at=process,
            warning=True,
        )
    starts = process.start_events(None)
    if not starts:
        c.add(P.NO_START_EVENT, f"process '{process.key}' has no start event", at=process)
    if sum(1 for s in starts if not s.event_definitions) > 1:
        c.add(
            P.MULTIPLE_NONE_START,
            "multiple none start events are not supported",
            [s for s in starts if not s.event_definitions][1],
        )
    names = Counter(
        d.message_name
        for s in starts
        for d in s.event_definitions
        if isinstance(d, el.MessageDefinition) and d.message_name
    )
    for name, count in names.items():
        if count > 1:
            c.add(
                P.DUPLICATE_MESSAGE_START,
                f"{count} message start events wait for the same message '{name}'",
                at=process,
            )
    _check_flows(c)
    _check_gateways_and_defaults(c)
    _check_boundaries(c)
    _check_reachability(c)


def _check_flows(c: ProcessChecker) -> None:
    elements = c.model.elements
    for flow in c.model.flows.values():
        source, target = elements.get(flow.source_ref or ""), elements.get(flow.target_ref or "")
        if source is None:
            c.add(
                P.FLOW_INVALID_SOURCE,
                f"invalid source '{flow.source_ref}' of sequence flow "
                f"'{flow.id}': no such flow node",
                flow,
            )
        if target is None:
            c.add(
                P.FLOW_INVALID_TARGET,
                f"invalid target '{flow.target_ref}' of sequence flow "
                f"'{flow.id}': no such flow node",
                flow,
            )
        for end in (source, target):
            if end is not None and end.parent_id != flow.parent_id:
                c.add(
                    P.FLOW_CROSSES_SCOPE,
                    f"sequence flow '{flow.id}' connects '{end.id}', "
                    "which is in another (sub-)process",
                    flow,
                )
        if flow.condition is not None and not isinstance(
            source, (el.ParallelGateway, el.EventBasedGateway)
        ):
            _check_condition(c, flow)
        check_listeners(c, flow, flow.execution_listeners, "execution")
        c.expression(flow.skip_expression, flow, "skipExpression")


def _check_condition(c: ProcessChecker, flow) -> None:
    language = (flow.condition_language or "").strip().lower()
    if language and language not in ("juel", "uel", "http://www.omg.org/spec/uel/2.2"):
        c.add(
            P.UNSUPPORTED_EXPRESSION_LANGUAGE,
            f"condition language '{flow.condition_language}'"
            " is not supported: conditions are JUEL expressions",
            flow,
        )
    elif not c.is_expression(flow.condition):
        c.add(
            P.CONDITION_NOT_EXPRESSION,
            f"condition '{flow.condition}' is not an expression: write it as ${{...}}",
            flow,
        )
    else:
        c.expression(flow.condition, flow, "condition")


def _check_gateways_and_defaults(c: ProcessChecker) -> None:
    process = c.model
    for node in process.elements.values():
        outgoing = process.outgoing(node.id)
        if isinstance(node, el.ParallelGateway) and not outgoing:
            c.add(
                P.GATEWAY_NO_OUTGOING,
                "parallel gateway without outgoing sequence flow: each joined branch ends here",
                node,
                warning=True,
            )
        elif isinstance(node, el.GATEWAY_CLASSES) and not outgoing:
            c.add(
                P.GATEWAY_NO_OUTGOING, "a gateway needs at least one outgoing sequence flow", node
            )
        default = getattr(node, "default_flow", None)
        if default:
            flow = process.flows.get(default)
            if flow is None or flow.source_ref != node.id:
                c.add(
                    P.DEFAULT_FLOW_NOT_OUTGOING,
                    f"default flow '{default}' is not an outgoing sequence flow of this element",
                    node,
                )
            elif flow.condition and isinstance(node, (el.ExclusiveGateway, el.InclusiveGateway)):
                c.add(
                    P.CONDITION_ON_DEFAULT_FLOW,
                    f"the default flow '{default}' must not have a condition",
                    flow,
                )
        if isinstance(node, el.ExclusiveGateway) and len(outgoing) > 1:
            bare = [f.id for f in outgoing if not f.condition and f.id != node.default_flow]
            if bare:
                c.add(
                    P.FLOWS_WITHOUT_CONDITION,
                    "exclusive gateway has outgoing flows without "
                    f"a condition ({', '.join(bare)}): the first one in document order is "
                    "always taken",
                    node,
                    warning=True,
                )
        if isinstance(node, el.EventBasedGateway):
            for flow in outgoing:
                target = process.elements.get(flow.target_ref or "")
                if target is not None and not _waits_for_event(target):
                    c.add(
                        P.EVENT_GATEWAY_TARGET,
                        "an event-based gateway may only lead to "
                        f"intermediate catch events or receive tasks, not '{target.id}'",
                        node,
                    )


def _waits_for_event(node: el.FlowNode) -> bool:
    return isinstance(node, el.ReceiveTask) or isinstance(node, el.IntermediateCatchEvent)


def _check_boundaries(c: ProcessChecker) -> None:
    for node in c.model.elements.values():
        if not isinstance(node, el.BoundaryEvent):
            continue
        host = c.model.elements.get(node.attached_to or "")
        if host is None:
            c.add(
                P.BOUNDARY_NO_ATTACHMENT,
                f"boundary event is attached to '{node.attached_to}',"
                " which is not an element of this process",
                node,
            )
        elif not isinstance(host, el.Activity):
            c.add(
                P.BOUNDARY_NO_ATTACHMENT,
                f"boundary event is attached to '{host.id}', which is not an activity",
                node,
            )


def _check_reachability(c: ProcessChecker) -> None:
    """Warn about flow nodes no token can reach (iterative walk, no recursion)."""
    process = c.model
    if not process.start_events(None):
        return  # already an error; every element would be "unreachable"
    reached: set[str] = set()
    pending = [
        n.id
        for n in process.children(None)
        if isinstance(n, el.StartEvent) or _is_event_sub_process(n)
    ]
    while pending:
        node_id = pending.pop()
        if node_id in reached or node_id not in process.elements:
            continue
        reached.add(node_id)
        node = process.elements[node_id]
        pending.extend(f.target_ref for f in process.outgoing(node_id) if f.target_ref)
        pending.extend(b.id for b in process.boundary_events(node_id))
        if isinstance(node, el.SCOPE_CLASSES):
            pending.extend(
                child.id
                for child in process.children(node_id)
                if isinstance(child, el.StartEvent) or _is_event_sub_process(child)
            )
    for node in process.elements.values():
        if node.id not in reached:
            c.add(P.UNREACHABLE, "no start event leads to this element", node, warning=True)


def _is_event_sub_process(node: el.FlowNode) -> bool:
    return isinstance(node, el.SubProcess) and node.triggered_by_event
