"""``parse_bpmn``: BPMN 2.0 XML to the immutable :class:`~chalicelib.engine.model.Definitions`.

The only exception it raises is :class:`~chalicelib.engine.problems.BpmnSyntaxError`, for XML
that is malformed or refused (see :mod:`chalicelib.engine.xmlsafe`). Everything else that is
odd about a document (a wrong root element, an element without id, a duplicate id, an
unknown BPMN element) becomes a :class:`~chalicelib.engine.problems.Problem` in
``Definitions.problems``, and :func:`chalicelib.engine.validate.validate` reports it together
with its own findings.

``isExecutable`` absent means executable, as in Flowable.
"""

from __future__ import annotations

import math
import re
from collections import deque
from datetime import UTC, datetime
from typing import Any

from lxml import etree

from chalicelib.engine.elements import FlowNode
from chalicelib.engine.model import (
    HISTORY_LEVELS,
    Bounds,
    Definitions,
    Diagram,
    Edge,
    ErrorDeclaration,
    Escalation,
    Message,
    ProcessDefinitionModel,
    SequenceFlow,
    Shape,
    Signal,
    frozen_map,
)
from chalicelib.engine.parse_nodes import build_node, parse_listeners
from chalicelib.engine.parse_support import (
    BPMN_NS,
    BPMNDI_NS,
    DC_NS,
    DI_NS,
    Locator,
    ParseContext,
    bpmn,
    bpmn_children,
    child_text,
    ext_attr,
    ext_children,
    ext_text,
    include_in_history,
    local_name,
    namespace,
    split_list,
)
from chalicelib.engine.parts import DataObject
from chalicelib.engine.problems import ProblemCode
from chalicelib.engine.registry import BY_TAG
from chalicelib.engine.xmlsafe import DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, parse_xml, to_bytes

__all__ = ["parse_bpmn"]

#: BPMN elements that may appear in a process or sub-process and carry no behaviour for us.
_IGNORED = frozenset(
    {
        "documentation",
        "extensionElements",
        "laneSet",
        "lane",
        "dataObjectReference",
        "dataStoreReference",
        "textAnnotation",
        "association",
        "group",
        "ioSpecification",
        "property",
        "dataInputAssociation",
        "dataOutputAssociation",
        "incoming",
        "outgoing",
        "auditing",
        "monitoring",
        "multiInstanceLoopCharacteristics",
        "standardLoopCharacteristics",
        "correlationSubscription",
        "resourceRole",
        "performer",
        "potentialOwner",
        "humanPerformer",
    }
)
_SCOPES = frozenset({"subProcess", "transaction", "adHocSubProcess"})


def parse_bpmn(
    xml: bytes | str,
    *,
    resource_name: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> Definitions:
    """Parse a BPMN 2.0 document (flowable:/activiti:/camunda: dialects).

    Raises :class:`~chalicelib.engine.problems.BpmnSyntaxError` only for malformed or refused
    XML; every other defect is a problem in the returned ``Definitions.problems``.
    """
    data = to_bytes(xml, max_bytes)
    root = parse_xml(data, max_bytes=max_bytes, max_depth=max_depth)
    encoding = root.getroottree().docinfo.encoding or "utf-8"
    try:
        source = data.decode(encoding, errors="replace")
    except LookupError:
        source = data.decode("utf-8", errors="replace")
    ctx = ParseContext(Locator(source))
    if root.tag != bpmn("definitions"):
        ctx.report(
            ProblemCode.NOT_BPMN,
            f"the root element is <{local_name(root)}> in namespace "
            f"'{namespace(root)}', not a BPMN 2.0 <definitions> ({BPMN_NS})",
            root,
        )
        return Definitions(resource_name=resource_name, problems=tuple(ctx.problems))

    _declarations(root, ctx)
    processes: dict[str, ProcessDefinitionModel] = {}
    for node in bpmn_children(root, "process"):
        process = _process(node, ctx)
        if process is not None:
            processes[process.key] = process
    ctx.process_key = None
    return Definitions(
        id=root.get("id"),
        target_namespace=root.get("targetNamespace"),
        resource_name=resource_name,
        processes=frozen_map(processes),
        messages=frozen_map(ctx.messages),
        signals=frozen_map(ctx.signals),
        errors=frozen_map(ctx.errors),
        escalations=frozen_map(ctx.escalations),
        diagram=_diagram(root),
        problems=tuple(ctx.problems),
    )


def _declarations(root: etree._Element, ctx: ParseContext) -> None:
    """Messages, signals, errors and escalations declared at the definitions level."""
    for node in root:
        name = local_name(node)
        if namespace(node) != BPMN_NS or name not in ("message", "signal", "error", "escalation"):
            continue
        ident = ctx.claim_id(node)
        if ident is None:
            continue
        line, column = ctx.where(node)
        where = {"line": line, "column": column}
        if name == "message":
            ctx.messages[ident] = Message(id=ident, name=node.get("name"), **where)
        elif name == "signal":
            scope = ext_attr(node, "scope") or "global"
            ctx.signals[ident] = Signal(id=ident, name=node.get("name"), scope=scope, **where)
        elif name == "error":
            ctx.errors[ident] = ErrorDeclaration(
                id=ident, name=node.get("name"), error_code=node.get("errorCode"), **where
            )
        else:
            ctx.escalations[ident] = Escalation(
                id=ident, name=node.get("name"), escalation_code=node.get("escalationCode"), **where
            )


def _process(node: etree._Element, ctx: ParseContext) -> ProcessDefinitionModel | None:
    ctx.process_key = None
    key = ctx.claim_id(node)
    if key is None:
        return None
    ctx.process_key = key
    elements: dict[str, FlowNode] = {}
    flows: dict[str, SequenceFlow] = {}
    data_objects: dict[str | None, list[DataObject]] = {}
    # Breadth-first over nested scopes: no recursion, whatever the nesting depth.
    pending: deque[tuple[etree._Element, str | None]] = deque([(node, None)])
    while pending:
        container, parent_id = pending.popleft()
        for child in container:
            if not isinstance(child.tag, str) or namespace(child) != BPMN_NS:
                continue  # vendor extensions and comments
            name = local_name(child)
            if name == "dataObject":
                data = _data_object(child, ctx)
                if data is not None:
                    data_objects.setdefault(parent_id, []).append(data)
                continue
            if name in _IGNORED:
                continue
            if name == "sequenceFlow":
                flow = _flow(child, parent_id, ctx)
                if flow is not None:
                    flows[flow.id] = flow
                continue
            kind = BY_TAG.get(name)
            if kind is None:
                ctx.report(
                    ProblemCode.UNKNOWN_ELEMENT,
                    f"<{name}> is not an element this engine knows; it is ignored",
                    child,
                    warning=True,
                )
                continue
            ident = ctx.claim_id(child, generate=True)
            if ident is None:
                continue
            elements[ident] = build_node(child, ident, parent_id, ctx, kind.element, kind.build)
            if name in _SCOPES:
                pending.append((child, ident))
    line, column = ctx.where(node)
    executable = (node.get("isExecutable") or "true").strip().lower() != "false"
    return ProcessDefinitionModel(
        key=key,
        name=node.get("name"),
        documentation=child_text(node, "documentation"),
        is_executable=executable,
        candidate_starter_users=split_list(ext_attr(node, "candidateStarterUsers")),
        candidate_starter_groups=split_list(ext_attr(node, "candidateStarterGroups")),
        history_level=_history_level(node, ctx),
        elements=frozen_map(elements),
        flows=frozen_map(flows),
        data_objects=frozen_map({scope: tuple(items) for scope, items in data_objects.items()}),
        line=line,
        column=column,
    )


_DATETIME = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})T(\d{1,2}):(\d{1,2}):(\d{1,2})")
_INTEGER = re.compile(r"[+-]?\d+")
#: Java's ``Integer`` and ``Long`` ranges (``valueOf`` refuses what is outside)
_RANGES = {"int": 2**31, "long": 2**63}


def _data_value(kind: str, text: str) -> Any:
    """Flowable's ``ValuedDataObject.setValue`` for each type; ValueError when Java's
    ``valueOf`` would throw (the deployment then fails, as in Flowable)."""
    if kind == "string":
        return text
    if kind == "boolean":
        return text.lower() == "true"  # Boolean.valueOf
    if kind in _RANGES:
        if not _INTEGER.fullmatch(text) or not -_RANGES[kind] <= int(text) < _RANGES[kind]:
            raise ValueError(text)
        return int(text)
    if kind == "double":
        number = float(text)
        if not math.isfinite(number):
            raise ValueError(text)
        return number
    # datetime: SimpleDateFormat("yyyy-MM-dd'T'HH:mm:ss") reads a prefix; unparseable: no value
    match = _DATETIME.match(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _data_object(node: etree._Element, ctx: ParseContext) -> DataObject | None:
    """A ``<dataObject>`` as Flowable's ``ValuedDataObjectXMLConverter`` reads it: the type
    from ``itemSubjectRef`` (``xsd:string`` when it has no prefix), the value from
    ``<flowable:value>``. An unknown type is skipped with a warning (Flowable logs it)."""
    ident = (node.get("id") or "").strip()
    ref = (node.get("itemSubjectRef") or "").strip()
    kind = ref.split(":", 1)[1] if ":" in ref else "string"
    ref = ref if ":" in ref else "xsd:string"
    line, column = ctx.where(node)
    if kind not in ("string", "int", "long", "double", "boolean", "datetime"):
        ctx.report(
            ProblemCode.INVALID_VALUE,
            f"data object '{ident}' has an unsupported itemSubjectRef '{ref}'; it is ignored",
            node,
            warning=True,
        )
        return None
    value = None
    for element in ext_children(node, "value"):
        text = "".join(element.itertext())
        if text:
            try:
                value = _data_value(kind, text)
            except ValueError:
                ctx.report(
                    ProblemCode.INVALID_VALUE,
                    f"data object '{ident}': '{text}' is not a valid {ref} value",
                    element,
                )
        break
    return DataObject(
        id=ident,
        name=node.get("name"),
        item_subject_ref=ref,
        value=value,
        line=line,
        column=column,
    )


def _history_level(node: etree._Element, ctx: ParseContext) -> str | None:
    """The process's ``<flowable:historyLevel>``. An unknown value is reported as a warning and
    ignored: the service's level applies, as Flowable falls back to its engine's level."""
    text = ext_text(node, "historyLevel")
    if text is None:
        return None
    if text.lower() in HISTORY_LEVELS:
        return text.lower()
    ctx.report(
        ProblemCode.INVALID_VALUE,
        f"historyLevel '{text}' is not one of {', '.join(HISTORY_LEVELS)}; the "
        f"service's history level applies",
        ext_children(node, "historyLevel")[0],
        warning=True,
    )
    return None


def _flow(node: etree._Element, parent_id: str | None, ctx: ParseContext) -> SequenceFlow | None:
    ident = ctx.claim_id(node, generate=True, quiet=True)
    if ident is None:
        return None
    condition = language = None
    for expression in bpmn_children(node, "conditionExpression"):
        condition = "".join(expression.itertext()).strip() or None
        language = expression.get("language")
        break
    line, column = ctx.where(node)
    return SequenceFlow(
        id=ident,
        source_ref=(node.get("sourceRef") or "").strip() or None,
        target_ref=(node.get("targetRef") or "").strip() or None,
        name=node.get("name"),
        condition=condition,
        condition_language=language,
        skip_expression=ext_attr(node, "skipExpression"),
        parent_id=parent_id,
        execution_listeners=parse_listeners(node, ctx),
        line=line,
        column=column,
        include_in_history=include_in_history(node),
    )


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _bounds(node: etree._Element | None) -> Bounds | None:
    if node is None:
        return None
    values = [_number(node.get(name)) for name in ("x", "y", "width", "height")]
    if any(value is None for value in values):
        return None
    return Bounds(*values)  # type: ignore[arg-type]


def _optional_bool(value: str | None) -> bool | None:
    return None if value is None else value.strip().lower() == "true"


def _diagram(root: etree._Element) -> Diagram:
    """Shapes and edges of every ``BPMNDiagram``; the first one per element wins."""
    shapes: dict[str, Shape] = {}
    edges: dict[str, Edge] = {}
    for node in root.iter(f"{{{BPMNDI_NS}}}BPMNShape", f"{{{BPMNDI_NS}}}BPMNEdge"):
        element = (node.get("bpmnElement") or "").strip()
        if not element:
            continue
        label = node.find(f"{{{BPMNDI_NS}}}BPMNLabel/{{{DC_NS}}}Bounds")
        if local_name(node) == "BPMNShape":
            if element not in shapes:
                shapes[element] = Shape(
                    id=node.get("id"),
                    bpmn_element=element,
                    bounds=_bounds(node.find(f"{{{DC_NS}}}Bounds")),
                    is_expanded=_optional_bool(node.get("isExpanded")),
                    is_horizontal=_optional_bool(node.get("isHorizontal")),
                    label_bounds=_bounds(label),
                )
        elif element not in edges:
            points = []
            for point in node.iterfind(f"{{{DI_NS}}}waypoint"):
                x, y = _number(point.get("x")), _number(point.get("y"))
                if x is not None and y is not None:
                    points.append((x, y))
            edges[element] = Edge(
                id=node.get("id"),
                bpmn_element=element,
                waypoints=tuple(points),
                label_bounds=_bounds(label),
            )
    return Diagram(shapes=frozen_map(shapes), edges=frozen_map(edges))
