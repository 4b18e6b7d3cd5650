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

    Raises :class:`~chalicelib.errors.ProcessFailure`, or :class:`.errors.EarlyInterrupt`
    when the budget ran out before the script's own thread used its share of the limit.
    """
    context = quickjs.Context()
    context.set_memory_limit(memory_limit_bytes)
    started, in_script = time.thread_time(), False
    try:
        context.set("__wf_input", payload)
        bound = json.loads(context.eval(fresh_prelude()))
        context.set_time_limit(budget_s)
        started, in_script = time.thread_time(), True
        value = context.eval(source)
        in_script = False  # from here on a line number would point into our own code
        now = context.eval(read_globals(bound)) if auto_store and bound else None
        collected = json.loads(context.get("__wf_collect")(now, value if need_result else None))
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
