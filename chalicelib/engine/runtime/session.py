"""Sessions: apply one command to the instances it touches, atomically.

A :class:`Session` holds the instances it has loaded or created (a call activity touches the
calling and the called instance in one command). The service layer gives it three callbacks:

- ``resolve_key(key) -> (definition_id, model)``: the latest definition of a key (call
  activities);
- ``load_definition(definition_id) -> model``: the (cached) model of a definition;
- ``load_instance(instance_id) -> InstanceState``: an instance not yet in the session (the
  parent of a called instance that ends, a child to delete with its parent).

:meth:`Session.execute` runs the command and every automatic step after it. If anything
fails, every instance is rolled back to exactly what it was and the error propagates
(``ProcessFailure`` for the process's own failures): nothing to commit, no effects. On success
:class:`CommandResult` lists every instance changed or created (commit each one's
``changes()``, then ``mark_clean()``) and the effects.

:func:`execute` is the one-instance shortcut ``execute(definition, state, command, clock)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from chalicelib.clock import Clock
from chalicelib.engine.model import ProcessDefinitionModel
from chalicelib.engine.registry import KINDS
from chalicelib.engine.runtime import (
    event_commands,
    events,
    flow,
    history,
    instances,
    listeners,
    migration,
)
from chalicelib.engine.runtime.behaviours import (
    action_tasks,
    gateways,
    multi_instance,
    scopes,
    user_task,
)
from chalicelib.engine.runtime.behaviours.table import dispatch_table
from chalicelib.engine.runtime.bounds import check_changes, check_command
from chalicelib.engine.runtime.commands import (
    UPDATABLE_TASK_FIELDS,
    Command,
    CompleteTask,
    DeleteInstance,
    SetVariables,
    StartProcess,
    Trigger,
    UpdateTask,
)
from chalicelib.engine.runtime.context import DEFAULT_MAX_STEPS, InstanceContext, Runtime
from chalicelib.engine.runtime.effects import Effect, HistoryLevel, TaskAssigned
from chalicelib.engine.runtime.errors import DefinitionNotFound, NotWaiting, UnknownTarget
from chalicelib.engine.runtime.hooks import Hooks
from chalicelib.engine.runtime.records import SubscriptionType
from chalicelib.engine.runtime.state import InstanceState
from chalicelib.engine.runtime.variables import set_variable, set_variable_local
from chalicelib.ids import instance_of
from chalicelib.limits import DEFAULT_LIMITS, Limits

__all__ = [
    "Session",
    "CommandResult",
    "execute",
    "DefinitionResolver",
    "DefinitionLoader",
    "InstanceLoader",
    "HOOKS",
]

#: The session's callbacks (see the module doc); each answers None when there is none.
DefinitionResolver = Callable[[str], "tuple[str, ProcessDefinitionModel] | None"]
DefinitionLoader = Callable[[str], ProcessDefinitionModel | None]
InstanceLoader = Callable[[str], InstanceState | None]

#: The higher-layer operations :mod:`.flow` calls (built once; see :mod:`.hooks`).
HOOKS = Hooks(
    behaviours=dispatch_table(KINDS),
    start_multi_instance=multi_instance.start,
    multi_instance_completed=multi_instance.instance_completed,
    subscribe_boundary=events.subscribe_boundary,
    recheck_inclusive_joins=gateways.recheck_inclusive_joins,
    call_out_values=scopes.out_values,
    called_instance_completed=scopes.called_instance_completed,
)


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What one command did: the instances it changed or created, and its effects."""

    instance_id: str
    instances: Mapping[str, InstanceState]
    created: tuple[str, ...]
    effects: tuple[Effect, ...]

    @property
    def state(self) -> InstanceState:
        """The state of the instance the command was aimed at (or started)."""
        return self.instances[self.instance_id]


class Session:
    """Instances in memory for a unit of work, and the command runner."""

    def __init__(
        self,
        *,
        clock: Clock,
        resolve_key: DefinitionResolver | None = None,
        load_definition: DefinitionLoader | None = None,
        load_instance: InstanceLoader | None = None,
        history_level: HistoryLevel | str | None = None,
        max_steps: int = DEFAULT_MAX_STEPS,
        script_time_limit_s: float | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ):
        self.clock = clock
        self._resolve_key = resolve_key
        self._load_definition = load_definition
        self._load_instance = load_instance
        self.history_level = HistoryLevel.parse(history_level)
        self.max_steps = max_steps
        self.script_time_limit_s = script_time_limit_s
        self.limits = limits
        self._contexts: dict[str, InstanceContext] = {}
        self._touched: dict[str, InstanceContext] | None = None
        self._created: list[str] = []

    # --- instances --------------------------------------------------------------------------

    def add(self, state: InstanceState, model: ProcessDefinitionModel | None = None) -> None:
        """Put an already loaded instance into the session."""
        model = model or self.definition(state.header.definition_id)
        self._contexts[state.id] = InstanceContext(
            state, model, state.header.definition_id, self.history_level
        )

    def register(
        self,
        state: InstanceState,
        model: ProcessDefinitionModel,
        definition_id: str,
        *,
        created: bool = False,
    ) -> InstanceContext:
        """Used by the engine for an instance it creates during a command."""
        context = InstanceContext(state, model, definition_id, self.history_level)
        self._contexts[state.id] = context
        if self._touched is not None:
            self._touched[state.id] = context
        if created:
            self._created.append(state.id)
        return context

    def context_of(self, instance_id: str) -> InstanceContext:
        """The instance's context, loading it when needed; starts its undo journal."""
        context = self._contexts.get(instance_id)
        if context is None:
            if self._load_instance is None:
                raise UnknownTarget(f"Process instance {instance_id} is not loaded")
            state = self._load_instance(instance_id)
            if state is None:
                raise UnknownTarget(f"Process instance {instance_id} not found")
            self.add(state)
            context = self._contexts[instance_id]
        if self._touched is not None and instance_id not in self._touched:
            self._touched[instance_id] = context
            if instance_id not in self._created:
                context.state.begin()
        return context

    def state(self, instance_id: str) -> InstanceState:
        """A loaded instance's state."""
        return self._contexts[instance_id].state

    @property
    def states(self) -> Mapping[str, InstanceState]:
        """Every instance in the session."""
        return {key: context.state for key, context in self._contexts.items()}

    def resolve_key(self, key: str) -> tuple[str, ProcessDefinitionModel]:
        """The latest definition of ``key``: ``(definition_id, model)``."""
        if self._resolve_key is None:
            raise DefinitionNotFound(f"No process definition found for key '{key}'")
        resolved = self._resolve_key(key)
        if resolved is None:
            raise DefinitionNotFound(f"No process definition found for key '{key}'")
        return resolved

    def definition(self, definition_id: str) -> ProcessDefinitionModel:
        """The (cached) model of a definition (``DefinitionNotFound`` when there is none)."""
        model = self._load_definition(definition_id) if self._load_definition else None
        if model is None:
            raise DefinitionNotFound(f"Process definition {definition_id} not found")
        return model

    # --- commands ---------------------------------------------------------------------------

    def execute(self, command: Command) -> CommandResult:
        """Apply ``command`` and run to quiescence; all or nothing (see the module doc)."""
        rt = Runtime(
            self,
            self.clock,
            self.history_level,
            hooks=HOOKS,
            max_steps=self.max_steps,
            script_time_limit_s=self.script_time_limit_s,
            limits=self.limits,
        )
        check_command(command, self.limits)
        self._touched, self._created = {}, []
        try:
            target = _HANDLERS[type(command)](self, rt, command)
            rt.run()
            for context in self._touched.values():
                check_changes(context.state, self.limits)
        except BaseException:
            for instance_id, context in self._touched.items():
                if instance_id in self._created:
                    self._contexts.pop(instance_id, None)
                else:
                    context.state.rollback()
            self._touched, self._created = None, []
            raise
        touched, created = self._touched, tuple(self._created)
        self._touched, self._created = None, []
        changed = {}
        for instance_id, context in touched.items():
            context.state.end()
            if instance_id in created or not context.state.changes().is_empty:
                changed[instance_id] = context.state
        if target not in changed and target in self._contexts:
            changed[target] = self._contexts[target].state
        return CommandResult(target, changed, created, tuple(rt.effects))

    def find_instance_of_execution(self, execution_id: str) -> str:
        """The id of the loaded instance that has this execution (``UnknownTarget``)."""
        for instance_id, context in self._contexts.items():
            if execution_id in context.state.executions:
                return instance_id
        raise UnknownTarget(f"Execution {execution_id} not found")


def _start(session: Session, rt: Runtime, command: StartProcess) -> str:
    model = session.definition(command.definition_id)
    context = instances.new_instance(
        rt,
        model,
        command.definition_id,
        instance_id=command.instance_id,
        business_key=command.business_key,
        start_user_id=command.initiator,
        name=command.name,
    )
    instances.start_instance(rt, context, dict(command.variables), command.initiator)
    return context.id


def _open_task(session: Session, rt: Runtime, task_id: str) -> tuple[InstanceContext, Any]:
    """The context and record of an open task (``UnknownTarget`` when there is none)."""
    instance_id = instance_of(task_id)
    if instance_id is None:
        instance_id = next(
            (i for i, c in session._contexts.items() if task_id in c.state.tasks), None
        )
    if instance_id is None:
        raise UnknownTarget(f"Task {task_id} not found")
    context = rt.instance(instance_id)
    task = context.state.tasks.get(task_id)
    if task is None:
        raise UnknownTarget(f"Task {task_id} not found")
    return context, task


def _complete(session: Session, rt: Runtime, command: CompleteTask) -> str:
    context, task = _open_task(session, rt, command.task_id)
    user_task.complete(rt, context, task, dict(command.variables), command.user_id)
    return context.id


def _update_task(session: Session, rt: Runtime, command: UpdateTask) -> str:
    unknown = set(command.changes) - UPDATABLE_TASK_FIELDS
    if unknown:
        raise ValueError(
            f"UpdateTask cannot change {sorted(unknown)}; only {sorted(UPDATABLE_TASK_FIELDS)}"
        )
    context, task = _open_task(session, rt, command.task_id)
    updated = replace(task, **dict(command.changes), revision=task.revision + 1)
    context.state.put(updated)
    history.task_updated(rt, context, updated)
    if updated.assignee and updated.assignee != task.assignee:
        rt.emit(TaskAssigned(context.id, updated.id, updated.assignee))
        node = context.node(task.task_definition_key)
        listeners.task_listeners(
            rt,
            context,
            task.execution_id,
            node.id,
            getattr(node, "task_listeners", ()),
            "assignment",
            user_task.task_view(updated),
        )
    return context.id


def _trigger(session: Session, rt: Runtime, command: Trigger) -> str:
    instance_id = command.instance_id or session.find_instance_of_execution(command.execution_id)
    context = rt.instance(instance_id)
    execution = context.execution(command.execution_id)
    if execution is None:
        raise UnknownTarget(f"Execution {command.execution_id} not found")
    waiting = any(
        s.type is SubscriptionType.TRIGGER for s in context.state.subscriptions_of(execution.id)
    )
    node = context.node(execution.activity_id) if execution.activity_id else None
    behaviour = rt.behaviour(node) if node is not None else None
    if not waiting or behaviour is None or behaviour.trigger is None:
        raise NotWaiting(f"Execution {command.execution_id} is not waiting for a trigger")
    behaviour.trigger(rt, context, execution, node, dict(command.variables))
    return instance_id


def _delete(session: Session, rt: Runtime, command: DeleteInstance) -> str:
    context = rt.instance(command.instance_id)
    if context.state.header.status.is_ended:
        raise UnknownTarget(f"Process instance {command.instance_id} has already ended")
    flow.end_instance(
        rt, context, delete_reason=command.delete_reason or "deleted", notify_parent=False
    )
    return context.id


def _set_variables(session: Session, rt: Runtime, command: SetVariables) -> str:
    context = rt.instance(command.instance_id)
    if context.state.header.status.is_ended:
        raise UnknownTarget(f"Process instance {command.instance_id} has already ended")
    execution_id = command.execution_id or context.id
    if context.execution(execution_id) is None:
        raise UnknownTarget(f"Execution {execution_id} not found")
    for name, value in command.variables.items():
        if command.local or execution_id == context.id:
            set_variable_local(rt, context, execution_id, name, value)
        else:
            set_variable(rt, context, execution_id, name, value)
    return context.id


_HANDLERS: dict[type, Callable[[Session, Runtime, Any], str]] = {
    StartProcess: _start,
    CompleteTask: _complete,
    Trigger: _trigger,
    DeleteInstance: _delete,
    SetVariables: _set_variables,
    UpdateTask: _update_task,
    **event_commands.HANDLERS,  # events, timers and async jobs
    **migration.HANDLERS,  # process instance migration
    **action_tasks.HANDLERS,  # the outcome of an HTTP, mail or external worker task's job
}


def execute(
    definition: ProcessDefinitionModel,
    state: InstanceState | None,
    command: Command,
    clock: Clock,
    *,
    resolve_key: DefinitionResolver | None = None,
    load_definition: DefinitionLoader | None = None,
    load_instance: InstanceLoader | None = None,
    history_level: HistoryLevel | str | None = None,
) -> tuple[InstanceState, tuple[Effect, ...]]:
    """Apply one command to one instance: ``(new_state, effects)``.

    ``state`` is None for :class:`StartProcess`. The state object is updated in place and
    returned; when the command fails it is left exactly as it was and the error propagates.
    Other instances touched (call activities) need the callbacks; use :class:`Session` to
    get all of them back.
    """

    def definitions(definition_id: str) -> ProcessDefinitionModel:
        if load_definition is not None and (
            state is None or definition_id != state.header.definition_id
        ):
            found = load_definition(definition_id)
            if found is not None:
                return found
        return definition

    session = Session(
        clock=clock,
        resolve_key=resolve_key,
        load_definition=definitions,
        load_instance=load_instance,
        history_level=history_level,
    )
    if state is not None:
        session.add(state, definition)
    result = session.execute(command)
    return result.state, result.effects
