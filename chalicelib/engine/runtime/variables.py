"""Variables per scope, and the expression scope of an execution.

Variables live on executions (one record per ``(execution id, name)``); a read walks from the
execution up its parents to the root (the instance), the first holder wins. A non-local write
goes to the nearest execution up the chain that already holds the name, else to the root, as
Flowable's ``setVariable``. Nothing is ever copied per task or per step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.engine.expressions import has_expression
from chalicelib.engine.expressions.evaluate import UndefinedName, evaluate, evaluate_condition
from chalicelib.engine.runtime import history
from chalicelib.engine.runtime.context import InstanceContext, Runtime
from chalicelib.engine.runtime.records import VariableRecord
from chalicelib.limits import check_variable

__all__ = [
    "MISSING",
    "get_variable",
    "set_variable",
    "set_variable_local",
    "remove_variable",
    "visible_variables",
    "delete_scope_variables",
    "ExecutionScope",
    "eval_text",
    "eval_condition",
]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


#: Returned by :func:`get_variable` when no execution up the chain holds the name.
MISSING: Any = _Missing()


def _chain(ic: InstanceContext, execution_id: str | None):
    """Execution ids from ``execution_id`` up to the root."""
    executions = ic.state.executions
    current = executions.get(execution_id) if execution_id else None
    if current is None:
        yield ic.id
        return
    while current is not None:
        yield current.id
        current = executions.get(current.parent_id) if current.parent_id else None


def get_variable(ic: InstanceContext, execution_id: str | None, name: str) -> Any:
    """The value seen from ``execution_id`` (:data:`MISSING` when none)."""
    variables = ic.state.variables
    for scope_id in _chain(ic, execution_id):
        record = variables.get(scope_id, {}).get(name)
        if record is not None:
            return record.value
    return MISSING


def set_variable(
    rt: Runtime, ic: InstanceContext, execution_id: str | None, name: str, value: Any
) -> None:
    """Set where it is already defined up the chain, else on the instance (root)."""
    variables = ic.state.variables
    target = ic.id
    for scope_id in _chain(ic, execution_id):
        if name in variables.get(scope_id, {}):
            target = scope_id
            break
    set_variable_local(rt, ic, target, name, value)


def set_variable_local(
    rt: Runtime,
    ic: InstanceContext,
    scope_id: str,
    name: str,
    value: Any,
    *,
    task_id: str | None = None,
) -> None:
    """Set a variable on exactly that execution (held to the input limits: its name, nesting
    and size; ``LimitExceeded`` otherwise, and the command writes nothing)."""
    check_variable(name, value, rt.limits)
    ic.state.put(VariableRecord(scope_id=scope_id, name=name, value=value))
    history.variable_set(rt, ic, scope_id, name, value, task_id=task_id)


def remove_variable(rt: Runtime, ic: InstanceContext, execution_id: str | None, name: str) -> None:
    """Remove the nearest definition of ``name`` up the chain (if any)."""
    variables = ic.state.variables
    for scope_id in _chain(ic, execution_id):
        record = variables.get(scope_id, {}).get(name)
        if record is not None:
            ic.state.remove(record)
            return


def visible_variables(ic: InstanceContext, execution_id: str | None) -> dict[str, Any]:
    """Every variable visible from the execution (inner scopes shadow outer ones)."""
    out: dict[str, Any] = {}
    variables = ic.state.variables
    for scope_id in _chain(ic, execution_id):
        for name, record in variables.get(scope_id, {}).items():
            out.setdefault(name, record.value)
    return out


def delete_scope_variables(ic: InstanceContext, scope_id: str) -> None:
    """Drop the variables owned by one execution (it ends, or its scope is left)."""
    for record in list(ic.state.variables.get(scope_id, {}).values()):
        ic.state.remove(record)


class ExecutionScope:
    """What an expression sees from an execution: :class:`Scope` and :class:`ExecutionFacade`.

    ``extras`` adds names in front of the variables (``task`` in task listeners,
    ``authenticatedUserId``).
    """

    def __init__(
        self,
        rt: Runtime,
        ic: InstanceContext,
        execution_id: str | None,
        extras: Mapping[str, Any] | None = None,
    ):
        self.rt = rt
        self.ic = ic
        self.execution_id = execution_id
        self.extras = extras or {}
        self.execution = self

    # Scope
    def resolve(self, name: str) -> Any:
        """Extras first, then the variables up the chain; :class:`UndefinedName` otherwise."""
        if name in self.extras:
            return self.extras[name]
        value = get_variable(self.ic, self.execution_id, name)
        if value is MISSING:
            raise UndefinedName(name)
        return value

    # ExecutionFacade
    def get_variable(self, name: str) -> Any:
        value = get_variable(self.ic, self.execution_id, name)
        return None if value is MISSING else value

    def get_variable_local(self, name: str) -> Any:
        record = self.ic.state.local_variables(self._own()).get(name)
        return record.value if record is not None else None

    def has_variable(self, name: str) -> bool:
        return get_variable(self.ic, self.execution_id, name) is not MISSING

    def has_variable_local(self, name: str) -> bool:
        return name in self.ic.state.local_variables(self._own())

    def get_variables(self) -> dict[str, Any]:
        return visible_variables(self.ic, self.execution_id)

    def set_variable(self, name: str, value: Any) -> None:
        set_variable(self.rt, self.ic, self.execution_id, name, value)

    def set_variable_local(self, name: str, value: Any) -> None:
        set_variable_local(self.rt, self.ic, self._own(), name, value)

    def get_process_instance_id(self) -> str:
        return self.ic.id

    def get_id(self) -> str:
        return self._own()

    def get_current_activity_id(self) -> str | None:
        execution = self.ic.execution(self.execution_id)
        return execution.activity_id if execution is not None else None

    def get_process_business_key(self) -> str | None:
        return self.ic.state.header.business_key

    def _own(self) -> str:
        return self.execution_id or self.ic.id


def eval_text(
    rt: Runtime,
    ic: InstanceContext,
    execution_id: str | None,
    text: str | None,
    *,
    activity_id: str | None = None,
    extras: Mapping[str, Any] | None = None,
    expected: type | None = None,
) -> Any:
    """Evaluate attribute text: plain text without ``${`` is returned as written."""
    if text is None:
        return None
    if not has_expression(text):
        return text
    scope = ExecutionScope(rt, ic, execution_id, extras)
    return evaluate(text, scope, expected=expected, activity_id=activity_id)  # type: ignore[arg-type]


def eval_condition(
    rt: Runtime,
    ic: InstanceContext,
    execution_id: str | None,
    text: str,
    *,
    activity_id: str | None = None,
) -> bool:
    """Evaluate a condition (must give a boolean; a plain ``true`` text is accepted)."""
    if not has_expression(text):
        stripped = text.strip().lower()
        if stripped in ("true", "false"):
            return stripped == "true"
    return evaluate_condition(
        text,
        ExecutionScope(rt, ic, execution_id),  # type: ignore[arg-type]
        activity_id=activity_id,
    )
