"""The per-command runtime: an agenda of small operations, the instances touched, the effects.

:class:`Runtime` is created by a :class:`~chalicelib.engine.runtime.session.Session` for one
command. Behaviours never call each other recursively: they *plan* operations
(:meth:`Runtime.plan`) and the agenda loop runs them one by one until nothing is left, i.e.
until every execution sits in a wait state. This keeps the Python stack flat however long the
process runs (a sequential multi-instance of 500 no-op tasks is 500 loop turns, not 500 frames).

:class:`InstanceContext` bundles one instance's state with its definition model.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import InitVar, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.clock import Clock, format_iso
from chalicelib.engine.elements import FlowNode
from chalicelib.engine.model import ProcessDefinitionModel, SequenceFlow
from chalicelib.engine.runtime.effects import Effect, HistoryLevel
from chalicelib.engine.runtime.errors import StepLimitExceeded, UnsupportedElement
from chalicelib.engine.runtime.hooks import Behaviour, Hooks
from chalicelib.engine.runtime.records import ExecutionRecord
from chalicelib.engine.runtime.state import InstanceState
from chalicelib.ids import child_id, new_id
from chalicelib.limits import DEFAULT_LIMITS, Limits

if TYPE_CHECKING:  # the script sandbox loads with the first script, not with the engine
    from chalicelib.engine.scripting import ScriptPool

__all__ = ["InstanceContext", "Runtime", "SessionPort", "DEFAULT_MAX_STEPS"]

#: Agenda operations one command may run before it is refused (an endless loop in a model).
DEFAULT_MAX_STEPS = 1_000_000


@dataclass(slots=True)
class InstanceContext:
    """One instance being worked on: its state, its definition model and definition id, and
    what of it history keeps.

    ``history`` is the definition's own ``historyLevel`` when it has one, else
    ``default_level`` (the service's); the ``keeps_*`` flags are its answers, read at every
    step. A node or flow with ``includeInHistory`` gets activity history below the
    ``activity`` level too (:meth:`keeps_activity`), as Flowable's
    ``isHistoryEnabledForActivity``.
    """

    state: InstanceState
    model: ProcessDefinitionModel
    definition_id: str
    default_level: InitVar[HistoryLevel] = HistoryLevel.AUDIT
    history: HistoryLevel = field(init=False)
    keeps_instances: bool = field(init=False)
    keeps_tasks: bool = field(init=False)
    keeps_activities: bool = field(init=False)
    keeps_variables: bool = field(init=False)
    keeps_details: bool = field(init=False)

    def __post_init__(self, default_level: HistoryLevel) -> None:
        self._set_level(default_level)

    def switch_definition(
        self, model: ProcessDefinitionModel, definition_id: str, default_level: HistoryLevel
    ) -> None:
        """Run the instance on another definition from now on (migration): its model, id and
        history level."""
        self.model, self.definition_id = model, definition_id
        self._set_level(default_level)

    def _set_level(self, default_level: HistoryLevel) -> None:
        own = self.model.history_level
        level = self.history = HistoryLevel.parse(own) if own else default_level
        self.keeps_instances = level.keeps_instances
        self.keeps_tasks = level.keeps_tasks
        self.keeps_activities = level.keeps_activities
        self.keeps_variables = level.keeps_variables
        self.keeps_details = level.keeps_details

    def keeps_activity(self, element: FlowNode | SequenceFlow) -> bool:
        """Whether a historic activity instance is kept for this flow node or sequence flow."""
        return self.keeps_activities or (
            element.include_in_history and self.history is not HistoryLevel.NONE
        )

    @property
    def id(self) -> str:
        """The instance id."""
        return self.state.id

    def node(self, activity_id: str | None) -> FlowNode:
        """The flow node with that id (KeyError when the model has none)."""
        return self.model.elements[activity_id]  # type: ignore[index]

    def execution(self, execution_id: str | None) -> ExecutionRecord | None:
        """A live execution of this instance, or None."""
        return self.state.execution(execution_id)


class SessionPort(Protocol):
    """What the runtime needs of its session (:class:`~.session.Session` implements it)."""

    def context_of(self, instance_id: str) -> InstanceContext:
        """The instance's context, loading it when needed."""
        ...

    def register(
        self,
        state: InstanceState,
        model: ProcessDefinitionModel,
        definition_id: str,
        *,
        created: bool = False,
    ) -> InstanceContext:
        """Put an instance the engine creates during the command into the session."""
        ...

    def resolve_key(self, key: str) -> tuple[str, ProcessDefinitionModel]:
        """The latest definition of ``key``: ``(definition_id, model)``."""
        ...

    def definition(self, definition_id: str) -> ProcessDefinitionModel:
        """The model of a definition."""
        ...

    def find_instance_of_execution(self, execution_id: str) -> str:
        """The id of the loaded instance that has this execution."""
        ...


class Runtime:
    """Agenda, clock, id source, effects and instance access for one command.

    ``hooks`` are the operations of the higher layers (the behaviour table first) that
    :mod:`.flow` calls without importing them (see :mod:`.hooks`)."""

    def __init__(
        self,
        session: SessionPort,
        clock: Clock,
        history_level: HistoryLevel,
        *,
        hooks: Hooks,
        max_steps: int = DEFAULT_MAX_STEPS,
        script_time_limit_s: float | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ):
        self.session = session
        self.clock = clock
        self.hooks = hooks
        self._behaviours = hooks.behaviours
        self.history = history_level  # instances of a definition without its own level
        self.max_steps = max_steps
        self.script_time_limit_s = script_time_limit_s
        #: the input limits every variable set in this command is held to
        self.limits = limits
        self.effects: list[Effect] = []
        self._queue: deque[tuple[Callable[..., Any], tuple]] = deque()
        self._now: datetime | None = None
        self._now_iso: str | None = None  # the command's time is fixed: formatted once
        self._now_ms: int | None = None
        self.steps = 0
        self.transaction_order = 0
        self._script_pool: ScriptPool | None = None

    # --- time and ids -----------------------------------------------------------------------

    def now(self) -> datetime:
        """The command's time: read once from the clock, the same for every step."""
        if self._now is None:
            self._now = self.clock.now()
        return self._now

    def now_iso(self) -> str:
        """:meth:`now` as ISO-8601 UTC with milliseconds (formatted once per command)."""
        text = self._now_iso
        if text is None:
            text = self._now_iso = format_iso(self.now())
        return text  # type: ignore[return-value]

    def now_ms(self) -> int:
        """:meth:`now` as epoch milliseconds (seeds time-ordered ids)."""
        millis = self._now_ms
        if millis is None:
            millis = self._now_ms = int(self.now().timestamp() * 1000)
        return millis

    def new_id(self) -> str:
        """A new time-ordered id."""
        return new_id(self.now_ms())

    def new_child_id(self, instance_id: str) -> str:
        """A task/job id that names its instance."""
        return child_id(instance_id, self.now_ms())

    def script_pool(self) -> ScriptPool:
        """The command's :class:`~chalicelib.engine.scripting.ScriptPool` (made on first use):
        simple scripts of one command share a QuickJS context, never across commands."""
        if self._script_pool is None:
            from chalicelib.engine.scripting import ScriptPool

            self._script_pool = ScriptPool()
        return self._script_pool

    # --- effects and agenda -----------------------------------------------------------------

    def emit(self, effect: Effect) -> None:
        """Record an effect of the command."""
        self.effects.append(effect)

    def plan(self, operation: Callable[..., Any], *args: Any) -> None:
        """Queue ``operation(self, *args)`` to run after what is already planned."""
        self._queue.append((operation, args))

    def plan_first(self, operation: Callable[..., Any], *args: Any) -> None:
        """Queue ``operation(self, *args)`` to run next."""
        self._queue.appendleft((operation, args))

    def run(self) -> None:
        """Run planned operations until none is left (every execution waits)."""
        queue = self._queue
        while queue:
            self.steps += 1
            if self.steps > self.max_steps:
                raise StepLimitExceeded(self.max_steps)
            operation, args = queue.popleft()
            operation(self, *args)

    def behaviour(self, node: FlowNode) -> Behaviour:
        """The behaviour of a node's class; :class:`UnsupportedElement` when there is none."""
        behaviour = self._behaviours.get(type(node))
        if behaviour is None:
            raise UnsupportedElement(
                getattr(node, "id", None),
                f"{type(node).__name__} is not executed by this engine yet",
            )
        return behaviour

    # --- instances --------------------------------------------------------------------------

    def instance(self, instance_id: str) -> InstanceContext:
        """The context of an instance (loaded into the session when needed)."""
        return self.session.context_of(instance_id)
