"""What the lower layers of the runtime need from the higher ones, passed in (no import).

The runtime is a mutually recursive interpreter: :mod:`.flow` runs the behaviour of the node
a token arrives at, and behaviours call back into :mod:`.flow` to leave it. The import graph
still goes one way only::

    records, state, effects, errors, commands, hooks     (data)
      <- context                                         (agenda, instance access)
      <- history, variables, listeners, subscriptions, jobs
      <- flow                                            (moving tokens)
      <- errors_events, events, instances
      <- behaviours/*                                    (one module per family of kinds)
      <- migration, event_commands
      <- session                                         (builds the Hooks, runs commands)

Where :mod:`.flow` must call a behaviour-level operation (run a node's behaviour, start a
multi-instance, subscribe a boundary event, re-check inclusive joins, hand a called instance's
values back), it calls it through the :class:`Hooks` the session gives the
:class:`~.context.Runtime`: a table of plain functions built once per process, not per step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Behaviour", "Hooks"]


@dataclass(frozen=True, slots=True)
class Behaviour:
    """What happens when a token arrives at a node (``execute(rt, ic, execution, node)``), and
    for wait states released by the trigger command, ``trigger(rt, ic, execution, node,
    variables)``. No inheritance between behaviours: each is a pair of plain functions."""

    execute: Callable[..., None]
    trigger: Callable[..., None] | None = None


@dataclass(frozen=True, slots=True)
class Hooks:
    """The operations of the higher layers that :mod:`.flow` calls (each takes ``rt`` first).

    - ``behaviours``: element class -> :class:`Behaviour` (the dispatch table);
    - ``start_multi_instance(rt, ic, execution, node)``: a token arrived at a multi-instance
      activity;
    - ``multi_instance_completed(rt, ic, execution, node)``: one instance of it is done;
    - ``subscribe_boundary(rt, ic, listener, boundary)``: a boundary event's listener
      execution was created;
    - ``recheck_inclusive_joins(rt, ic, scope_id)``: a token of the scope vanished;
    - ``call_out_values(rt, called) -> dict``: the values a completed called instance hands
      back to its call activity;
    - ``called_instance_completed``: an agenda operation ``(rt, instance_id, execution_id,
      values)`` that lets the call activity continue.
    """

    behaviours: Mapping[type, Behaviour]
    start_multi_instance: Callable[..., None]
    multi_instance_completed: Callable[..., None]
    subscribe_boundary: Callable[..., None]
    recheck_inclusive_joins: Callable[..., None]
    call_out_values: Callable[..., dict[str, Any]]
    called_instance_completed: Callable[..., None]
