"""JavaScript script tasks, run in QuickJS with CPU-time and memory limits and no I/O.

:func:`run_script` gives every script a fresh QuickJS context, or a context shared by the simple
scripts of one command and cleaned after each (see :mod:`.pool`); nothing leaks between
scripts either way.
QuickJS has no ``require``, no ``std``/``os`` modules (only the ``qjs`` shell adds them) and no
network or file access; ``import`` statements are syntax errors and dynamic ``import()`` never
settles, because there is no event loop: promise callbacks do not run.

With a time limit set, QuickJS cannot call back into Python, so ``execution`` is a plain
JavaScript object over a JSON snapshot of the visible variables, and what the script changed
is read back as JSON when it ends:

- ``execution.getVariable(n)`` / ``getVariableLocal(n)`` (null when undefined),
  ``hasVariable(n)`` / ``hasVariableLocal(n)``, ``getVariables()``, ``setVariable(n, v)``,
  ``setVariableLocal(n, v)``, ``removeVariable(n)``, ``getProcessInstanceId()``, ``getId()``,
  ``getCurrentActivityId()``, ``getProcessBusinessKey()`` (or
  ``getProcessInstanceBusinessKey()``). The snapshot holds every visible variable, so the
  ``...Local`` readers see the same values as the others; the engine decides where
  ``setVariableLocal`` writes.
- ``console.log/info/debug/warn/error`` lines are collected (and sent to ``logger``).
- Process variables whose names are JavaScript identifiers are also bound as globals, for
  reading (``amount * 2``). Assigning such a global does **not** set the variable, unless
  ``auto_store=True`` (Flowable's ``autoStoreVariables``): then every bound global whose JSON
  changed is written back. An explicit ``setVariable`` wins over an auto-stored global.
- Values cross as JSON: dates become ISO strings, ``undefined``, functions, ``NaN`` and
  ``Infinity`` become null, BigInts become numbers, a cyclic value is a script error.
- ``BpmnError`` throwing from scripts is not supported; any thrown value is a script failure.

Modules: :mod:`.analysis` (what a script's text allows), :mod:`.values` (JSON in, results
out), :mod:`.sandbox` (one script in a fresh context), :mod:`.pool` (a context shared by a
command's simple scripts, and how it stays clean), :mod:`.errors` (QuickJS exceptions to
process failures), :mod:`.limits`, and :mod:`.js`, which reads the JavaScript preludes
(``fresh.js``, ``pool.js``, ``common.js`` beside it) once, at first use.

The time limit holds for regular expressions too (issue 12): the binding is ``quickjs-ng``,
the PetterS ``quickjs`` binding's API over the quickjs-ng engine, whose regex engine
(libregexp's ``lre_exec``) polls the interrupt handler while it backtracks. The ``quickjs``
package (QuickJS 2021-03-27, its last release) never did, so ``/^(a+)+$/.test('a'.repeat(40) +
'b')`` ran for hours past any limit. Rejected: a static check for catastrophic patterns
(polynomial cases like ``a*a*a*b`` and backreferences slip through), a regex engine written in
JavaScript (slow, and ECMAScript's full syntax is large), a watchdog thread (nothing outside
QuickJS can stop ``lre_exec``) and a subprocess per script (milliseconds per call against
about 30 µs pooled). Two differences of the newer engine are handled here: a long
concatenation is a *rope* string, which the binding cannot hand to Python ("Unknown quickjs
tag: -6"), so every string the preludes return is flattened first (``flat`` in
``common.js``), and a script whose own value is such a string runs again through the fresh
prelude's runner, its value read back as JSON (:mod:`.sandbox`); and a ReferenceError reads
``x is not defined`` (no quotes).

Early time-outs: QuickJS measures the *process's* CPU time, so busy sibling threads (threaded
local mode, tests) make the limit fire early. The limit is therefore also a wall-clock deadline
for the whole call: ``time_limit_s`` after :func:`run_script` began. When an interrupt fires
after the script's own thread used less than :data:`EARLY_INTERRUPT_RATIO` of the limit and at
least :data:`MIN_RETRY_REMAINDER` of the limit is left before the deadline, the script is run
once more in a fresh context (it has no side effects until read back, so this is safe). The
retry's QuickJS budget is the wall time left times the rate at which the process's CPU clock
ran during the first attempt (at most :data:`MAX_RETRY_STRETCH`), so it ends about at the
deadline; if it is interrupted too, the script fails with ``script-timeout``. So a script that
never ends answers after about one limit even under contention (issue 12: a regex bomb took
1.7-2.6 s at a 1 s limit when the retry had a budget of its own), and a short script whose
budget siblings ate still gets the rest of its time. Each attempt is still bounded by CPU time
(the binding's interrupt reads no wall clock): on a machine short of cores a first attempt can
take longer than the limit in wall time, as any request does there.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from chalicelib.errors import ProcessFailure

from .analysis import bindable, is_poolable, referenced_variables
from .errors import EarlyInterrupt as _EarlyInterrupt
from .limits import (
    DEFAULT_MEMORY_LIMIT_BYTES,
    DEFAULT_TIME_LIMIT_S,
    EARLY_INTERRUPT_RATIO,
    LEVELS,
    MAX_CONSOLE_LINE_LENGTH,
    MAX_CONSOLE_LINES,
    MAX_RETRY_STRETCH,
    MIN_RETRY_REMAINDER,
)
from .pool import ScriptPool
from .sandbox import attempt as _attempt  # looked up here at each call (tests replace it)
from .values import ScriptResult, check_passable, encode, envelope

__all__ = [
    "ScriptResult",
    "run_script",
    "ScriptPool",
    "referenced_variables",
    "is_poolable",
    "DEFAULT_TIME_LIMIT_S",
    "DEFAULT_MEMORY_LIMIT_BYTES",
    "EARLY_INTERRUPT_RATIO",
    "MAX_RETRY_STRETCH",
    "MIN_RETRY_REMAINDER",
    "MAX_CONSOLE_LINES",
    "MAX_CONSOLE_LINE_LENGTH",
]


def run_script(
    source: str,
    variables: dict[str, Any],
    *,
    activity_id: str | None,
    process_instance_id: str | None,
    execution_id: str | None,
    business_key: str | None = None,
    time_limit_s: float | None = DEFAULT_TIME_LIMIT_S,
    memory_limit_bytes: int = DEFAULT_MEMORY_LIMIT_BYTES,
    auto_store: bool = False,
    logger: logging.Logger | None = None,
    pool: ScriptPool | None = None,
    need_result: bool = True,
) -> ScriptResult:
    """Run a JavaScript script task in a fresh (or pooled), limited QuickJS context.

    Parameters
    ----------
    source:
        The script text.
    variables:
        A JSON-able snapshot of the variables visible to the execution.
    activity_id, process_instance_id, execution_id, business_key:
        What ``execution``'s getters return; ``activity_id`` is also reported on failure.
    time_limit_s, memory_limit_bytes:
        The time limit (QuickJS's CPU-time limit, and the wall-clock deadline of the call
        including a retry) and the context's heap limit. ``time_limit_s=None`` runs without
        any interrupt handler: only ``bench/script_call.py`` passes it, to measure what the
        limit costs per call; the engine always passes a limit.
    auto_store:
        Write back changed globals named after existing variables (``autoStoreVariables``).
    logger:
        When given, each console line is logged at its level (``warn`` as WARNING, ...).
    pool:
        A :class:`ScriptPool` of the command: simple scripts (:func:`is_poolable`) run in its
        shared context (never with ``auto_store``, never on the retry after an early
        interrupt).
    need_result:
        False when the script's value is not used (no ``resultVariable``): ``result`` is then
        None, and a pooled script seen before in the command runs compiled once as a function.

    Raises
    ------
    ProcessFailure
        ``script-timeout`` when the time limit is reached; ``script`` for a JavaScript error
        (message and line), a syntax error, memory exhaustion or a value that is not JSON.
    """
    reachable = referenced_variables(source)
    if reachable is not None:  # only what the script can name (JSON is the cost)
        passed = {name: value for name, value in variables.items() if name in reachable}
        if len(passed) < len(variables):  # the others are checked, as if they were passed
            check_passable(
                {name: value for name, value in variables.items() if name not in reachable},
                activity_id,
                pool._checked if pool is not None else None,
            )
        variables = passed
    encoded = encode(variables, activity_id)
    names = ",".join(name for name in variables if bindable(name))
    meta = (activity_id, process_instance_id, execution_id, business_key)
    began = time.monotonic()  # the deadline is began + time_limit_s, retry included
    if time_limit_s is None:  # a negative QuickJS limit installs no interrupt handler
        budget, time_limit_s = _NO_LIMIT, math.inf
    else:
        budget = time_limit_s  # QuickJS's limit counts the whole process's CPU time
    pooled = pool is not None and not auto_store and is_poolable(source)
    for attempt in (1, 2):
        try:
            if pooled and attempt == 1 and pool is not None:
                result = pool.attempt(
                    source,
                    encoded,
                    names,
                    meta,
                    budget,
                    time_limit_s,
                    memory_limit_bytes,
                    activity_id,
                    logger,
                    need_result,
                )
            else:
                result = _attempt(
                    source,
                    envelope(encoded, names, meta),
                    budget,
                    time_limit_s,
                    memory_limit_bytes,
                    auto_store,
                    activity_id,
                    logger,
                    need_result=need_result,
                )
        except _EarlyInterrupt as early:
            retry_budget = _retry_budget(time_limit_s, budget, began, time.monotonic())
            if attempt == 2 or retry_budget is None:
                break
            if logger is not None:
                logger.warning(
                    "script %s interrupted after %.3f s of its own CPU (busy "
                    "threads?); retrying once with a %.3f s budget",
                    activity_id,
                    early.own_cpu,
                    retry_budget,
                )
            budget = retry_budget
            continue
        for level, line in result.pop("_log"):
            if logger is not None:
                logger.log(LEVELS.get(level, logging.INFO), "script %s: %s", activity_id, line)
        return ScriptResult(**result)
    raise ProcessFailure(
        "script-timeout", f"Script exceeded its time limit of {time_limit_s:g} s", activity_id
    )


#: What QuickJS's ``set_time_limit`` takes for "no limit": no interrupt handler is set.
_NO_LIMIT = -1.0


def _retry_budget(time_limit_s: float, used_s: float, began: float, now: float) -> float | None:
    """The QuickJS budget of the retry after an early interrupt, or None for no retry.

    The first attempt started at ``began`` (monotonic) with a budget of ``used_s`` of process
    CPU, all spent by ``now``: the process's clock ran ``used_s / (now - began)`` times as fast
    as the wall clock. At that rate the retry's budget runs out at the deadline
    (``began + time_limit_s``). The rate is capped by :data:`MAX_RETRY_STRETCH`: if the
    siblings go idle, the retry's own CPU time is at most that many times what was left.
    """
    left = began + time_limit_s - now
    if left < MIN_RETRY_REMAINDER * time_limit_s:
        return None
    rate = min(used_s / max(now - began, 1e-6), MAX_RETRY_STRETCH)
    return left * rate
