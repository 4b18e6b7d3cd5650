"""Execution listeners (``start``/``end``/``take``) and task listeners
(``create``/``assignment``/``complete``/``delete``), with ``expression`` or
``delegateExpression`` implementations, evaluated by the safe JUEL evaluator.

A ``delegateExpression`` is resolved like an expression (its side effects, such as
``${execution.setVariable(...)}``, happen); there are no Java delegates to call, so a value it
returns is ignored. ``class`` listeners are refused at deploy; here they are a safety net.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from chalicelib.engine.elements import FlowNode
from chalicelib.engine.model import SequenceFlow
from chalicelib.engine.parts import Listener
from chalicelib.engine.runtime.context import InstanceContext, Runtime
from chalicelib.engine.runtime.errors import UnsupportedElement
from chalicelib.engine.runtime.records import ExecutionRecord
from chalicelib.engine.runtime.variables import eval_text

__all__ = ["execution_listeners", "task_listeners"]


def _run(
    rt: Runtime,
    ic: InstanceContext,
    execution_id: str,
    element_id: str,
    listener: Listener,
    extras: Mapping[str, Any] | None,
) -> None:
    text = listener.expression or listener.delegate_expression
    if text is None:
        raise UnsupportedElement(
            element_id,
            f"a '{listener.event}' listener needs an "
            f"expression or delegateExpression (class listeners are not "
            f"supported)",
        )
    eval_text(rt, ic, execution_id, text, activity_id=element_id, extras=extras)


def execution_listeners(
    rt: Runtime,
    ic: InstanceContext,
    execution: ExecutionRecord,
    element: FlowNode | SequenceFlow,
    listeners: Iterable[Listener],
    event: str,
) -> None:
    """Run the element's execution listeners registered for ``event``."""
    for listener in listeners:
        if (listener.event or "").lower() == event:
            _run(rt, ic, execution.id, element.id, listener, None)


def task_listeners(
    rt: Runtime,
    ic: InstanceContext,
    execution_id: str,
    element_id: str,
    listeners: Iterable[Listener],
    event: str,
    task: Mapping[str, Any],
) -> None:
    """Run the user task's task listeners for ``event``; ``task`` is visible as ``task``."""
    for listener in listeners:
        if (listener.event or "").lower() == event:
            _run(rt, ic, execution_id, element_id, listener, {"task": dict(task)})
