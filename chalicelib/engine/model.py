"""The immutable definition model: a parsed BPMN document and its processes.

:class:`Definitions` is one document (one deployment resource). Each executable process
becomes a :class:`ProcessDefinitionModel`, keyed by the process id (the definition *key*).
Flow nodes live in one flat, document-ordered mapping per process; nesting is expressed by
each node's ``parent_id``, and the model offers the indexes the executor needs (outgoing and
incoming flows, children of a scope, boundary events of an activity).

Mappings are read-only views (``MappingProxyType``); every element is a frozen dataclass.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from chalicelib.engine.elements import (
    BoundaryEvent,
    FlowNode,
    StartEvent,
    SubProcess,
    UserTask,
)
from chalicelib.engine.parts import DataObject, FormProperty
from chalicelib.engine.problems import Problem

__all__ = [
    "SequenceFlow",
    "Message",
    "Signal",
    "ErrorDeclaration",
    "Escalation",
    "Bounds",
    "Shape",
    "Edge",
    "Diagram",
    "ProcessDefinitionModel",
    "Definitions",
    "frozen_map",
]

_EMPTY: Mapping = MappingProxyType({})


def _empty() -> Mapping:
    return _EMPTY


def frozen_map(items: Mapping | None = None) -> Mapping:
    """A read-only copy of ``items`` (insertion order kept)."""
    return MappingProxyType(dict(items or {}))


#: Flowable's history levels in order (``<flowable:historyLevel>`` values; the engine's
#: ``HistoryLevel`` has one member per name)
HISTORY_LEVELS = ("none", "instance", "task", "activity", "audit", "full")


@dataclass(frozen=True, slots=True, kw_only=True)
class SequenceFlow:
    """``sequenceFlow``; ``condition`` is the ``conditionExpression`` text, if any."""

    id: str
    source_ref: str | None
    target_ref: str | None
    name: str | None = None
    condition: str | None = None
    condition_language: str | None = None
    skip_expression: str | None = None
    parent_id: str | None = None
    execution_listeners: tuple = ()
    line: int = 0
    column: int = 0
    #: ``<flowable:includeInHistory>true</...>`` (as on flow nodes)
    include_in_history: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """A ``<message id name>`` declaration."""

    id: str
    name: str | None = None
    line: int = 0
    column: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Signal:
    """A ``<signal id name flowable:scope>`` declaration."""

    id: str
    name: str | None = None
    scope: str = "global"
    line: int = 0
    column: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorDeclaration:
    """An ``<error id name errorCode>`` declaration."""

    id: str
    name: str | None = None
    error_code: str | None = None
    line: int = 0
    column: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Escalation:
    """An ``<escalation id name escalationCode>`` declaration."""

    id: str
    name: str | None = None
    escalation_code: str | None = None
    line: int = 0
    column: int = 0


@dataclass(frozen=True, slots=True)
class Bounds:
    """``dc:Bounds`` of a shape."""

    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Shape:
    """``bpmndi:BPMNShape`` for the element ``bpmn_element``."""

    id: str | None
    bpmn_element: str
    bounds: Bounds | None = None
    is_expanded: bool | None = None
    is_horizontal: bool | None = None
    label_bounds: Bounds | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Edge:
    """``bpmndi:BPMNEdge`` for the flow ``bpmn_element``, with its waypoints."""

    id: str | None
    bpmn_element: str
    waypoints: tuple[tuple[float, float], ...] = ()
    label_bounds: Bounds | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Diagram:
    """Diagram interchange of the first ``BPMNDiagram``s, keyed by ``bpmnElement`` id."""

    shapes: Mapping[str, Shape] = field(default_factory=_empty)
    edges: Mapping[str, Edge] = field(default_factory=_empty)

    @property
    def is_empty(self) -> bool:
        """True when the document carries no diagram interchange (no PNG can be drawn)."""
        return not self.shapes and not self.edges


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessDefinitionModel:
    """One ``<process>``: the definition key is its id."""

    key: str
    name: str | None = None
    documentation: str | None = None
    is_executable: bool = True
    candidate_starter_users: tuple[str, ...] = ()
    candidate_starter_groups: tuple[str, ...] = ()
    #: ``<flowable:historyLevel>`` of the process (``none`` ... ``full``, lower case), or None:
    #: the service's level then applies
    history_level: str | None = None
    elements: Mapping[str, FlowNode] = field(default_factory=_empty)
    flows: Mapping[str, SequenceFlow] = field(default_factory=_empty)
    #: ``<dataObject>``s with a name, by scope (``None``: the process, else a sub-process id)
    data_objects: Mapping[str | None, tuple[DataObject, ...]] = field(default_factory=_empty)
    line: int = 0
    column: int = 0
    _outgoing: Mapping[str, tuple[SequenceFlow, ...]] = field(
        default_factory=_empty, init=False, repr=False, compare=False
    )
    _incoming: Mapping[str, tuple[SequenceFlow, ...]] = field(
        default_factory=_empty, init=False, repr=False, compare=False
    )
    _children: Mapping[str | None, tuple[str, ...]] = field(
        default_factory=_empty, init=False, repr=False, compare=False
    )
    _boundaries: Mapping[str, tuple[BoundaryEvent, ...]] = field(
        default_factory=_empty, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        outgoing: dict[str, list[SequenceFlow]] = {}
        incoming: dict[str, list[SequenceFlow]] = {}
        for flow in self.flows.values():
            if flow.source_ref:
                outgoing.setdefault(flow.source_ref, []).append(flow)
            if flow.target_ref:
                incoming.setdefault(flow.target_ref, []).append(flow)
        children: dict[str | None, list[str]] = {}
        boundaries: dict[str, list[BoundaryEvent]] = {}
        for node in self.elements.values():
            children.setdefault(node.parent_id, []).append(node.id)
            if isinstance(node, BoundaryEvent) and node.attached_to:
                boundaries.setdefault(node.attached_to, []).append(node)
        for name, value in (
            ("_outgoing", outgoing),
            ("_incoming", incoming),
            ("_children", children),
            ("_boundaries", boundaries),
        ):
            object.__setattr__(
                self, name, MappingProxyType({key: tuple(items) for key, items in value.items()})
            )

    def outgoing(self, node_id: str) -> tuple[SequenceFlow, ...]:
        """Flows leaving ``node_id``, in document order."""
        return self._outgoing.get(node_id, ())

    def incoming(self, node_id: str) -> tuple[SequenceFlow, ...]:
        """Flows arriving at ``node_id``, in document order."""
        return self._incoming.get(node_id, ())

    def children(self, scope_id: str | None = None) -> tuple[FlowNode, ...]:
        """Flow nodes directly inside a sub-process (``None``: the process level)."""
        return tuple(self.elements[i] for i in self._children.get(scope_id, ()))

    def boundary_events(self, activity_id: str) -> tuple[BoundaryEvent, ...]:
        """Boundary events attached to ``activity_id``."""
        return self._boundaries.get(activity_id, ())

    def node(self, node_id: str | None) -> FlowNode:
        """The flow node with that id (``KeyError`` when there is none, or no id)."""
        if node_id is None:
            raise KeyError(node_id)
        return self.elements[node_id]

    def start_events(self, scope_id: str | None = None) -> tuple[StartEvent, ...]:
        """Start events directly inside a scope (``None``: the process level)."""
        return tuple(node for node in self.children(scope_id) if isinstance(node, StartEvent))

    @property
    def initial_start_event(self) -> StartEvent | None:
        """The process-level none start event (what ``processinstance?_action=create`` uses)."""
        for node in self.start_events(None):
            if not node.event_definitions:
                return node
        return None

    @property
    def start_form_key(self) -> str | None:
        """``formKey`` of the initial start event."""
        start = self.initial_start_event
        return start.form_key if start else None

    @property
    def start_form_properties(self) -> tuple[FormProperty, ...]:
        """``formProperty`` list of the initial start event."""
        start = self.initial_start_event
        return start.form_properties if start else ()

    @property
    def user_tasks(self) -> tuple[UserTask, ...]:
        """Every user task of the process, sub-processes included (task definitions)."""
        return tuple(node for node in self.elements.values() if isinstance(node, UserTask))

    def form_keys(self) -> tuple[str, ...]:
        """Every distinct ``formKey`` referenced by start events and user tasks, in order."""
        keys: dict[str, None] = {}
        for node in self.elements.values():
            key = getattr(node, "form_key", None)
            if key:
                keys.setdefault(key, None)
        return tuple(keys)

    def scope_chain(self, node_id: str) -> Iterator[SubProcess]:
        """Enclosing sub-processes of ``node_id``, innermost first."""
        parent = self.elements[node_id].parent_id if node_id in self.elements else None
        while parent is not None and parent in self.elements:
            scope = self.elements[parent]
            yield scope  # type: ignore[misc]
            parent = scope.parent_id


@dataclass(frozen=True, slots=True, kw_only=True)
class Definitions:
    """A parsed BPMN document. ``problems`` are what the parser itself found."""

    id: str | None = None
    target_namespace: str | None = None
    resource_name: str | None = None
    processes: Mapping[str, ProcessDefinitionModel] = field(default_factory=_empty)
    messages: Mapping[str, Message] = field(default_factory=_empty)
    signals: Mapping[str, Signal] = field(default_factory=_empty)
    errors: Mapping[str, ErrorDeclaration] = field(default_factory=_empty)
    escalations: Mapping[str, Escalation] = field(default_factory=_empty)
    diagram: Diagram = field(default_factory=Diagram)
    problems: tuple[Problem, ...] = ()

    @property
    def category(self) -> str | None:
        """The process definition category: Flowable uses the ``targetNamespace``."""
        return self.target_namespace

    @property
    def executable_processes(self) -> tuple[ProcessDefinitionModel, ...]:
        """The processes a deployment creates definitions for."""
        return tuple(p for p in self.processes.values() if p.is_executable)

    def form_keys(self) -> tuple[str, ...]:
        """Every distinct ``formKey`` of the executable processes (resources to deploy with it)."""
        keys: dict[str, None] = {}
        for process in self.executable_processes:
            for key in process.form_keys():
                keys.setdefault(key, None)
        return tuple(keys)
