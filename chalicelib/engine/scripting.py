"""JavaScript script tasks, run in QuickJS with CPU-time and memory limits and no I/O.

:func:`run_script` gives every script a fresh QuickJS context (nothing leaks between scripts).
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

Early time-outs: QuickJS measures the *process's* CPU time, so busy sibling threads (threaded
local mode, tests) make the limit fire early. When an interrupt fires after the script's own
thread used less than :data:`EARLY_INTERRUPT_RATIO` of the limit, the script is run once more
in a fresh context (it has no side effects until read back, so this is safe). The retry's
QuickJS budget is stretched by the contention just seen (own CPU share), at most
:data:`MAX_RETRY_STRETCH` times the limit, so the script's own thread again gets about the
limit; if the retry is interrupted too, the script fails with ``script-timeout``. The cost of
this is bounded: an endless script under contention burns at most (1 + stretch) limits.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import decimal
import json
import logging
import re
import time
from typing import Any

import quickjs

from chalicelib.errors import ProcessFailure

__all__ = [
    "ScriptResult", "run_script", "DEFAULT_TIME_LIMIT_S", "DEFAULT_MEMORY_LIMIT_BYTES",
    "EARLY_INTERRUPT_RATIO", "MAX_RETRY_STRETCH", "MAX_CONSOLE_LINES", "MAX_CONSOLE_LINE_LENGTH",
]

DEFAULT_TIME_LIMIT_S = 1.0
DEFAULT_MEMORY_LIMIT_BYTES = 32 * 1024 * 1024
#: An interrupt after less than this share of the limit in the script's own thread is retried.
EARLY_INTERRUPT_RATIO = 0.75
#: The retry's QuickJS budget is at most this many times the limit.
MAX_RETRY_STRETCH = 4.0
#: Console output kept per script (lines past it are counted, not kept), and per line.
MAX_CONSOLE_LINES = 500
MAX_CONSOLE_LINE_LENGTH = 2_000

_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_RESERVED = frozenset("""
    arguments await break case catch class const continue debugger default delete do else enum
    eval export extends false finally for function if implements import in instanceof interface
    let new null package private protected public return static super switch this throw true
    try typeof undefined var void while with yield NaN Infinity
""".split())
_LEVELS = {"log": logging.INFO, "info": logging.INFO, "debug": logging.DEBUG,
           "warn": logging.WARNING, "error": logging.ERROR}

# Runs before the script (no time limit yet). Sets up `execution`, `console`, the variable
# globals and the read-back function; returns the JSON list of names bound as globals.
_PRELUDE = r"""
(function () {
  "use strict";
  const input = JSON.parse(globalThis.__wf_input);
  delete globalThis.__wf_input;
  const vars = input.variables, meta = input.meta, limits = input.limits;
  const own = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
  const changed = Object.create(null), local = Object.create(null);
  const removed = Object.create(null), originals = Object.create(null);
  const logs = [];
  let dropped = 0;
  const name = (n) => {
    if (typeof n !== "string") throw new TypeError("variable name must be a string");
    return n;
  };
  const text = (v) => {
    if (typeof v === "string") return v;
    try { const j = JSON.stringify(v); return j === undefined ? String(v) : j; }
    catch (e) { return String(v); }
  };
  const logger = (level) => (...args) => {
    if (logs.length >= limits.lines) { dropped += 1; return; }
    let line = args.map(text).join(" ");
    if (line.length > limits.lineLength) line = line.slice(0, limits.lineLength) + "...";
    logs.push([level, line]);
  };
  const get = (n) => { n = name(n); return own(vars, n) ? vars[n] : null; };
  const has = (n) => own(vars, name(n));
  const set = (marks) => (n, v) => {
    n = name(n); vars[n] = v; marks[n] = true; delete removed[n];
  };
  const execution = Object.freeze({
    getVariable: get, getVariableLocal: get, hasVariable: has, hasVariableLocal: has,
    getVariables: () => Object.assign({}, vars),
    setVariable: set(changed), setVariableLocal: set(local),
    removeVariable: (n) => {
      n = name(n); delete vars[n]; delete changed[n]; delete local[n]; removed[n] = true;
    },
    getProcessInstanceId: () => meta.processInstanceId,
    getId: () => meta.executionId,
    getCurrentActivityId: () => meta.activityId,
    getProcessBusinessKey: () => meta.businessKey,
    getProcessInstanceBusinessKey: () => meta.businessKey,
  });
  const fixed = (key, value) => Object.defineProperty(globalThis, key,
    {value: value, writable: false, enumerable: false, configurable: false});
  fixed("execution", execution);
  fixed("console", Object.freeze(Object.fromEntries(
    ["log", "info", "debug", "warn", "error"].map((level) => [level, logger(level)]))));
  const bound = [];
  for (const n of input.globals) {
    if (n in globalThis) continue;
    globalThis[n] = vars[n];
    originals[n] = JSON.stringify(vars[n]);
    bound.push(n);
  }
  const json = (what, v) => {
    try {
      const j = JSON.stringify(v, (k, x) => (typeof x === "bigint" ? Number(x) : x));
      return j === undefined ? "null" : j;
    } catch (e) {
      throw new TypeError(what + " cannot be converted to JSON: " + e.message);
    }
  };
  const entries = (marks) => "{" + Object.keys(marks).map((n) =>
    JSON.stringify(n) + ":" + json("variable '" + n + "'", vars[n])).join(",") + "}";
  fixed("__wf_console", () => JSON.stringify({console: logs, dropped: dropped}));
  fixed("__wf_collect", (globalsNow, result) => {
    const stored = [];
    if (globalsNow) {
      for (const n of bound) {
        if (own(changed, n) || own(removed, n) || globalsNow[n] === undefined) continue;
        const now = json("variable '" + n + "'", globalsNow[n]);
        if (now !== originals[n]) stored.push(JSON.stringify(n) + ":" + now);
      }
    }
    return "{\"changed\":" + entries(changed) + ",\"local\":" + entries(local) +
      ",\"autoStored\":{" + stored.join(",") + "},\"removed\":" +
      JSON.stringify(Object.keys(removed)) + ",\"console\":" + JSON.stringify(logs) +
      ",\"dropped\":" + dropped + ",\"result\":" + json("the script result", result) + "}";
  });
  return JSON.stringify(bound);
})()
"""


@dataclasses.dataclass(frozen=True)
class ScriptResult:
    """What a script did: variables it set, its console output and its last value.

    ``changed`` holds ``setVariable`` calls (and auto-stored globals), ``changed_local`` the
    ``setVariableLocal`` calls, ``removed`` the ``removeVariable`` names. ``result`` is the
    value of the script's last expression statement (for ``flowable:resultVariable``).
    """

    changed: dict[str, Any]
    console: list[str]
    result: Any = None
    changed_local: dict[str, Any] = dataclasses.field(default_factory=dict)
    removed: tuple[str, ...] = ()


class _EarlyInterrupt(Exception):
    """The time limit fired before the script's own thread used its share of CPU."""

    def __init__(self, own_cpu: float):
        self.own_cpu = own_cpu
        super().__init__(own_cpu)


def run_script(source: str, variables: dict[str, Any], *, activity_id: str | None,
               process_instance_id: str | None, execution_id: str | None,
               business_key: str | None = None, time_limit_s: float = DEFAULT_TIME_LIMIT_S,
               memory_limit_bytes: int = DEFAULT_MEMORY_LIMIT_BYTES, auto_store: bool = False,
               logger: logging.Logger | None = None) -> ScriptResult:
    """Run a JavaScript script task in a fresh, limited QuickJS context.

    Parameters
    ----------
    source:
        The script text.
    variables:
        A JSON-able snapshot of the variables visible to the execution.
    activity_id, process_instance_id, execution_id, business_key:
        What ``execution``'s getters return; ``activity_id`` is also reported on failure.
    time_limit_s, memory_limit_bytes:
        CPU-time and heap limits of the context.
    auto_store:
        Write back changed globals named after existing variables (``autoStoreVariables``).
    logger:
        When given, each console line is logged at its level (``warn`` as WARNING, ...).

    Raises
    ------
    ProcessFailure
        ``script-timeout`` when the time limit is reached; ``script`` for a JavaScript error
        (message and line), a syntax error, memory exhaustion or a value that is not JSON.
    """
    payload = _payload(variables, activity_id, process_instance_id, execution_id, business_key)
    budget = time_limit_s  # QuickJS's limit counts the whole process's CPU time
    for attempt in (1, 2):
        try:
            result = _attempt(source, payload, budget, time_limit_s, memory_limit_bytes,
                              auto_store, activity_id, logger)
        except _EarlyInterrupt as early:
            if attempt == 2:
                break
            share = max(early.own_cpu / budget, 1 / MAX_RETRY_STRETCH)
            budget = time_limit_s / share
            if logger is not None:
                logger.warning("script %s interrupted after %.3f s of its own CPU (busy "
                               "threads?); retrying once with a %.3f s budget", activity_id,
                               early.own_cpu, budget)
            continue
        for level, line in result.pop("_log"):
            if logger is not None:
                logger.log(_LEVELS.get(level, logging.INFO), "script %s: %s", activity_id, line)
        return ScriptResult(**result)
    raise ProcessFailure("script-timeout", f"Script exceeded its time limit of "
                         f"{time_limit_s:g} s", activity_id)


def _json_default(value: Any) -> Any:
    if isinstance(value, _dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(_dt.timezone.utc).replace(tzinfo=None)
            return value.isoformat(timespec="milliseconds") + "Z"
        return value.isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _payload(variables: dict[str, Any], activity_id: str | None, process_instance_id: str | None,
             execution_id: str | None, business_key: str | None) -> str:
    names = [name for name in variables
             if _IDENTIFIER.fullmatch(name) and name not in _RESERVED
             and not name.startswith("__wf")]
    try:
        return json.dumps({
            "variables": variables, "globals": names,
            "meta": {"activityId": activity_id, "processInstanceId": process_instance_id,
                     "executionId": execution_id, "businessKey": business_key},
            "limits": {"lines": MAX_CONSOLE_LINES, "lineLength": MAX_CONSOLE_LINE_LENGTH},
        }, default=_json_default, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ProcessFailure("script", f"Process variables cannot be passed to the script: "
                             f"{exc}", activity_id) from None


def _attempt(source: str, payload: str, budget_s: float, time_limit_s: float,
             memory_limit_bytes: int, auto_store: bool, activity_id: str | None,
             logger: logging.Logger | None) -> dict[str, Any]:
    context = quickjs.Context()
    context.set_memory_limit(memory_limit_bytes)
    started, in_script = time.thread_time(), False
    try:
        context.set("__wf_input", payload)
        bound = json.loads(context.eval(_PRELUDE))
        context.set_time_limit(budget_s)
        started, in_script = time.thread_time(), True
        value = context.eval(source)
        in_script = False  # from here on a line number would point into our own code
        now = context.eval(_read_globals(bound)) if auto_store and bound else None
        collected = json.loads(context.get("__wf_collect")(now, value))
    except quickjs.JSException as exc:
        own_cpu = time.thread_time() - started
        raise _failure(exc, context, own_cpu, time_limit_s, memory_limit_bytes, activity_id,
                       logger, with_line=in_script) from None
    changed = {**collected["autoStored"], **collected["changed"]}
    console = [line for _, line in collected["console"]]
    if collected["dropped"]:
        console.append(f"... {collected['dropped']} more console line(s) dropped")
    return {"changed": changed, "console": console, "result": collected["result"],
            "changed_local": collected["local"], "removed": tuple(collected["removed"]),
            "_log": collected["console"]}


def _read_globals(bound: list[str]) -> str:
    """A script reading each bound global (``let`` in the script may have shadowed it)."""
    reads = ",".join(f'"{name}":(typeof {name}==="undefined"?undefined:{name})'
                     for name in bound)  # names are checked identifiers (see _payload)
    return "({" + reads + "})"


def _failure(exc: quickjs.JSException, context: quickjs.Context, own_cpu: float,
             time_limit_s: float, memory_limit_bytes: int, activity_id: str | None,
             logger: logging.Logger | None, *, with_line: bool) -> Exception:
    text = str(exc)
    first = text.split("\n", 1)[0].strip()
    if first == "InternalError: interrupted":
        if own_cpu < EARLY_INTERRUPT_RATIO * time_limit_s:
            return _EarlyInterrupt(own_cpu)
        return ProcessFailure("script-timeout", f"Script exceeded its time limit of "
                              f"{time_limit_s:g} s", activity_id)
    if "out of memory" in text or (first in ("", "null") and _near_limit(context)):
        return ProcessFailure("script", f"Script ran out of memory (limit "
                              f"{memory_limit_bytes / (1024 * 1024):g} MiB)", activity_id)
    if isinstance(exc, quickjs.StackOverflow):
        return ProcessFailure("script", "Script error: stack overflow (too deep recursion)",
                              activity_id)
    _log_console_of_failed(context, activity_id, logger)
    line = re.search(r"<input>:(\d+)", text) if with_line else None
    where = f" (line {line.group(1)})" if line else ""
    return ProcessFailure("script", f"Script error: {first or 'unknown error'}{where}",
                          activity_id)


def _near_limit(context: quickjs.Context) -> bool:
    """After an exception that lost its message: was the heap (nearly) full?"""
    try:
        usage = context.memory()
        return usage["malloc_size"] >= 0.9 * usage["malloc_limit"]
    except Exception:  # noqa: BLE001 - a broken context is as good as full here
        return True


def _log_console_of_failed(context: quickjs.Context, activity_id: str | None,
                           logger: logging.Logger | None) -> None:
    """Send a failed script's console output to the logger: it is what explains the error."""
    if logger is None:
        return
    try:
        output = json.loads(context.eval("__wf_console()"))
    except Exception:  # noqa: BLE001 - best effort only
        return
    for level, line in output["console"]:
        logger.log(_LEVELS.get(level, logging.INFO), "script %s: %s", activity_id, line)
