"""One script in a fresh, limited QuickJS context (see the package docs)."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import quickjs

from .errors import failure
from .js import fresh_prelude
from .values import outcome, read_globals

__all__ = ["attempt"]

#: How the binding refuses a rope string (a long concatenation) as a value for Python.
_ROPE = "Unknown quickjs tag"


def attempt(
    source: str,
    payload: str,
    budget_s: float,
    time_limit_s: float,
    memory_limit_bytes: int,
    auto_store: bool,
    activity_id: str | None,
    logger: logging.Logger | None,
    *,
    need_result: bool = True,
) -> dict[str, Any]:
    """Run ``source`` once in a fresh context reading ``payload`` (:func:`.values.envelope`)
    under a QuickJS budget of ``budget_s``; returns :func:`.values.outcome`.

    The script runs as a script (``Context.eval``). When its value is a string QuickJS holds
    as a rope, which the binding cannot convert ("Unknown quickjs tag: -6"), and the value is
    needed, it runs once more in a new fresh context through the prelude's runner
    (``__wf_run``: global code by an indirect eval, the value kept in QuickJS and read back
    as JSON), as pooled scripts run: nothing of the first run was read back, so this is safe.

    Raises :class:`~chalicelib.errors.ProcessFailure`, or :class:`.errors.EarlyInterrupt`
    when the budget ran out before the script's own thread used its share of the limit.
    """
    arguments = (
        source,
        payload,
        budget_s,
        time_limit_s,
        memory_limit_bytes,
        auto_store,
        activity_id,
        logger,
        need_result,
    )
    try:
        return _once(*arguments, value_in_js=False)
    except _RopeValue:
        return _once(*arguments, value_in_js=True)


class _RopeValue(Exception):
    """The script's value is a rope string the binding cannot hand to Python."""


def _once(
    source: str,
    payload: str,
    budget_s: float,
    time_limit_s: float,
    memory_limit_bytes: int,
    auto_store: bool,
    activity_id: str | None,
    logger: logging.Logger | None,
    need_result: bool,
    *,
    value_in_js: bool,
) -> dict[str, Any]:
    context = quickjs.Context()
    context.set_memory_limit(memory_limit_bytes)
    started, in_script = time.thread_time(), False
    try:
        context.set("__wf_input", payload)
        bound = json.loads(context.eval(fresh_prelude()))
        context.set_time_limit(budget_s)
        started, in_script = time.thread_time(), True
        value = None
        if value_in_js:
            context.get("__wf_run")(source)
        else:
            try:
                value = context.eval(source)
            except TypeError as exc:
                if not str(exc).startswith(_ROPE):
                    raise
                if need_result:
                    raise _RopeValue from None
        in_script = False  # from here on a line number would point into our own code
        now = context.eval(read_globals(bound)) if auto_store and bound else None
        collect = context.get("__wf_collect")
        collected = json.loads(collect(now, need_result, value_in_js, value))
    except quickjs.JSException as exc:
        own_cpu = time.thread_time() - started
        raise failure(
            exc,
            context,
            own_cpu,
            time_limit_s,
            memory_limit_bytes,
            activity_id,
            logger,
            with_line=in_script,
        ) from None
    return outcome(collected)
