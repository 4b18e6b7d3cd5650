"""JavaScript script tasks, run in QuickJS with CPU-time and memory limits and no I/O.

:func:`run_script` gives every script a fresh QuickJS context, or a context shared by the simple
scripts of one command and cleaned after each (see "Speed" below); nothing leaks between
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

Speed (a command running many small scripts, e.g. one per multi-instance item):

- Only the variables a script can reach are passed (:func:`referenced_variables`): the
  identifiers in its text plus the literal names in ``execution.getVariable('name')`` and
  the other readers. A script that could reach variables by a computed name
  (``getVariables()``, ``getVariable(name)`` with a non-literal, ``execution`` used other than
  as ``execution.method``, ``this``, ``globalThis``, ``eval``, ``Function``,
  ``constructor``, a backslash escape) gets every visible variable, as before.
- With a :class:`ScriptPool` (one per engine command) a *simple* script (:func:`is_poolable`:
  no name that reaches or alters the shared built-ins, no assignment to a member, no
  ``delete``, no promises) runs in a QuickJS context kept for the command, whose prelude is
  compiled once. Each script runs as global code through an indirect ``eval`` (``let`` and
  ``const`` stay its own; ``var`` and implicit globals become deletable globals) with a fresh
  ``execution`` state; afterwards every global it created (and every variable bound as a
  global) is deleted, and if a pre-existing global was replaced, enumerable globals remain
  that were not there before, or anything failed, the context is thrown away. So no script
  sees anything of an earlier one. The time limit is QuickJS's per call (set before each
  script, and kept while it is cleaned up), the memory limit is the context's. Every other
  script (and ``auto_store``) gets a fresh context, as described above.
- The shared context is locked down before its first script: the function constructors
  (``Function`` reached as ``[]["constr" + "uctor"]["constr" + "uctor"]``, generator and
  async ones alike) throw instead of compiling code, and every object reachable from the
  global object (built-in constructors, prototypes, ``JSON``, ``Math``, ``execution``, ...;
  not the global object itself) is frozen. A script that escapes :func:`is_poolable`'s text
  checks by computed names can thus neither change a built-in a later script (or the
  prelude) uses, nor reach the global object other than by naming a global in its text. The
  prelude keeps its own references to what it uses.
- When the script's value is not used (``need_result=False``: no ``resultVariable``), a
  pooled script that already ran to its end as global code in the command (so its text is a
  valid script, which cannot close a wrapper around it) is compiled once per context as
  ``function (<bound variable names>) { <script> }`` and then called with the bindings as
  arguments: no parsing, no globals bound and deleted per run. Its ``var``, functions and
  classes are the call's own; an implicit global is deleted afterwards as above; the
  function object is unreachable from the script, so no state survives a call. A script
  that cannot be compiled so (``let item`` with ``item`` bound) runs as global code.

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
import functools
import json
import logging
import re
import time
from typing import Any

import quickjs

from chalicelib.errors import ProcessFailure

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
    "MAX_CONSOLE_LINES",
    "MAX_CONSOLE_LINE_LENGTH",
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
_RESERVED = frozenset(
    """
    arguments await break case catch class const continue debugger default delete do else enum
    eval export extends false finally for function if implements import in instanceof interface
    let new null package private protected public return static super switch this throw true
    try typeof undefined var void while with yield NaN Infinity
""".split()
)
_LEVELS = {
    "log": logging.INFO,
    "info": logging.INFO,
    "debug": logging.DEBUG,
    "warn": logging.WARNING,
    "error": logging.ERROR,
}

# Runs before the script (no time limit yet). Sets up `execution`, `console`, the variable
# globals and the read-back function; returns the JSON list of names bound as globals.
# JavaScript helpers both preludes use: a variable name check and console text of a value.
_JS_COMMON = r"""
  const name = (n) => {
    if (typeof n !== "string") throw new TypeError("variable name must be a string");
    return n;
  };
  const text = (v) => {
    if (typeof v === "string") return v;
    try { const j = JSON.stringify(v); return j === undefined ? String(v) : j; }
    catch (e) { return String(v); }
  };"""

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
__WF_COMMON__
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
""".replace("__WF_COMMON__", _JS_COMMON)


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


def run_script(
    source: str,
    variables: dict[str, Any],
    *,
    activity_id: str | None,
    process_instance_id: str | None,
    execution_id: str | None,
    business_key: str | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
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
        CPU-time and heap limits of the context.
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
            _check_passable(
                {name: value for name, value in variables.items() if name not in reachable},
                activity_id,
                pool._checked if pool is not None else None,
            )
        variables = passed
    encoded = _encode(variables, activity_id)
    names = ",".join(name for name in variables if _bindable(name))
    meta = (activity_id, process_instance_id, execution_id, business_key)
    budget = time_limit_s  # QuickJS's limit counts the whole process's CPU time
    pooled = pool is not None and not auto_store and is_poolable(source)
    for attempt in (1, 2):
        try:
            if pooled and attempt == 1:
                result = pool.attempt(
                    source,
                    encoded,
                    names,
                    meta,  # type: ignore[union-attr]
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
                    _envelope(encoded, names, meta),
                    budget,
                    time_limit_s,
                    memory_limit_bytes,
                    auto_store,
                    activity_id,
                    logger,
                    need_result=need_result,
                )
        except _EarlyInterrupt as early:
            if attempt == 2:
                break
            share = max(early.own_cpu / budget, 1 / MAX_RETRY_STRETCH)
            budget = time_limit_s / share
            if logger is not None:
                logger.warning(
                    "script %s interrupted after %.3f s of its own CPU (busy "
                    "threads?); retrying once with a %.3f s budget",
                    activity_id,
                    early.own_cpu,
                    budget,
                )
            continue
        for level, line in result.pop("_log"):
            if logger is not None:
                logger.log(_LEVELS.get(level, logging.INFO), "script %s: %s", activity_id, line)
        return ScriptResult(**result)
    raise ProcessFailure(
        "script-timeout", f"Script exceeded its time limit of {time_limit_s:g} s", activity_id
    )


# --- variables a script can reach, and scripts that may share a context --------------------

_READERS = re.compile(
    r"\b(?:getVariable|getVariableLocal|hasVariable|hasVariableLocal)\b"
    r"""(\s*\(\s*(['"])([^'"\\\n]*)\2\s*\))?"""
)
_DYNAMIC_NAMES = frozenset(
    {
        "getVariables",
        "this",
        "globalThis",
        "eval",
        "Function",
        "constructor",
        "Reflect",
        "Proxy",
        "with",
    }
)
#: ``execution`` not followed by ``.name`` (aliased, destructured, computed access)
_EXECUTION_OTHERWISE = re.compile(r"\bexecution\b(?!\s*\.\s*[A-Za-z_$])")


@functools.lru_cache(maxsize=1024)
def referenced_variables(source: str) -> frozenset[str] | None:
    """Names of the variables a script can reach, or None when it may reach any.

    Over-approximates: every identifier-like word of the text (comments and strings included)
    plus the literal names given to ``execution.getVariable`` and the other readers. None when
    the script may compute a name (see the module docs).
    """
    if "\\" in source or _EXECUTION_OTHERWISE.search(source):
        return None
    words = set(_IDENTIFIER.findall(source))
    if words & _DYNAMIC_NAMES:
        return None
    for match in _READERS.finditer(source):
        if match.group(1) is None:  # a reader called with a computed name, or passed around
            return None
        words.add(match.group(3))
    return frozenset(words)


#: Words that reach or alter shared built-ins (or leave work behind) without assignment syntax.
_UNPOOLABLE_WORDS = frozenset(
    """
    Object Reflect Proxy Symbol Function eval globalThis this prototype __proto__ constructor
    call apply bind delete async await import then Promise RegExp Error WeakRef
    FinalizationRegistry Atomics SharedArrayBuffer __date_clock __defineGetter__
    __defineSetter__ __lookupGetter__ __lookupSetter__ defineProperty defineProperties
    setPrototypeOf getPrototypeOf assign freeze seal preventExtensions with arguments
""".split()
)
_ASSIGN = r"(?:\*\*|<<|>>>?|&&|\|\||\?\?|[-+*/%&|^])?=(?![=>])"
#: an assignment (or ++/--, for-in/of target, destructuring) whose target is a member
_MEMBER_WRITE = re.compile(
    r"(?:[.\]]\s*[A-Za-z_$]?[\w$]*|\})\s*"
    + _ASSIGN
    + r"|[.\]]\s*[\w$]*\s*(?:\+\+|--)"
    + r"|(?:\+\+|--)\s*[\w$.\s\[\]]*[.\[]"
    + r"|[.\]]\s*[\w$]*\s+(?:in|of)\b"
)


@functools.lru_cache(maxsize=1024)
def is_poolable(source: str) -> bool:
    """True when a script can run in a shared context without altering what the next script
    sees (conservative: a false answer only costs a fresh context)."""
    if "\\" in source:
        return False
    if set(_IDENTIFIER.findall(source)) & _UNPOOLABLE_WORDS:
        return False
    return _MEMBER_WRITE.search(source) is None


@functools.lru_cache(maxsize=1024)
def _words(source: str) -> str:
    """The identifier-like words of a script, as a JSON list (what ``__wf_end`` checks)."""
    return json.dumps(sorted(set(_IDENTIFIER.findall(source))))


# The shared context's prelude, a function of the console limits. `execution` and `console`
# are fixed globals reading the current script's state; __wf_begin, then __wf_run (global
# code) or a runner from __wf_compile (the script compiled once as a function), then
# __wf_collect and __wf_end run one script. Before any script runs, every built-in object
# reachable from the global object is frozen and the function constructors are disabled
# (see "Speed" in the module docs), and the prelude keeps its own references to what it uses.
_POOL_PRELUDE = r"""
(function (maxLines, maxLineLength) {
  "use strict";
  const G = globalThis;
  const O = Object, R = Reflect;
  const parse = JSON.parse, stringify = JSON.stringify, keys = O.keys, create = O.create;
  const is = O.is, freeze = O.freeze, getProto = O.getPrototypeOf, apply = R.apply;
  const describe = O.getOwnPropertyDescriptor, ownKeys = R.ownKeys;
  const hasOwn = O.prototype.hasOwnProperty, sourceOf = Function.prototype.toString;
  const own = (o, k) => apply(hasOwn, o, [k]);
  const indirectEval = eval;
  let st = null;
__WF_COMMON__
  const logger = (level) => (...args) => {
    if (st.logs.length >= maxLines) { st.dropped += 1; return; }
    let line = args.map(text).join(" ");
    if (line.length > maxLineLength) line = line.slice(0, maxLineLength) + "...";
    st.logs.push([level, line]);
  };
  const get = (n) => { n = name(n); return own(st.vars, n) ? st.vars[n] : null; };
  const has = (n) => own(st.vars, name(n));
  const set = (which) => (n, v) => {
    n = name(n); st.vars[n] = v; st[which][n] = true; delete st.removed[n];
  };
  const execution = freeze({
    getVariable: get, getVariableLocal: get, hasVariable: has, hasVariableLocal: has,
    getVariables: () => O.assign({}, st.vars),
    setVariable: set("changed"), setVariableLocal: set("local"),
    removeVariable: (n) => {
      n = name(n); delete st.vars[n]; delete st.changed[n]; delete st.local[n];
      st.removed[n] = true;
    },
    getProcessInstanceId: () => st.meta.processInstanceId,
    getId: () => st.meta.executionId,
    getCurrentActivityId: () => st.meta.activityId,
    getProcessBusinessKey: () => st.meta.businessKey,
    getProcessInstanceBusinessKey: () => st.meta.businessKey,
  });
  const fixed = (key, value) => O.defineProperty(G, key,
    {value: value, writable: false, enumerable: false, configurable: false});
  const json = (what, v) => {
    try {
      const j = stringify(v, (k, x) => (typeof x === "bigint" ? Number(x) : x));
      return j === undefined ? "null" : j;
    } catch (e) {
      throw new TypeError(what + " cannot be converted to JSON: " + e.message);
    }
  };
  fixed("execution", execution);
  fixed("console", freeze(O.fromEntries(
    ["log", "info", "debug", "warn", "error"].map((level) => [level, logger(level)]))));
  fixed("__wf_console", () => stringify({console: st.logs, dropped: st.dropped}));
  fixed("__wf_begin", (vars, names, activityId, processInstanceId, executionId, businessKey,
                       bind) => {
    st = {vars: parse(vars), meta: {activityId, processInstanceId, executionId, businessKey},
          changed: create(null), local: create(null), removed: create(null), logs: [],
          dropped: 0, bound: [], result: undefined};
    if (bind && names !== "") {
      for (const n of names.split(",")) {
        if (n in G) continue;
        G[n] = st.vars[n];
        st.bound.push(n);
      }
    }
  });
  fixed("__wf_run", (source) => { st.result = indirectEval(source); });
  // A runner calling the script compiled as a function of the bindings (null when it cannot
  // be: the caller then runs it as global code). The function's own source text must be
  // exactly the wrapper, i.e. the script's text is its whole body.
  fixed("__wf_compile", (source, names) => {
    const params = names === "" ? [] : names.split(",").filter((n) => !(n in G));
    const code = "(function (" + params.join(",") + ") {" + source + "\n})";
    let fn;
    try {
      fn = indirectEval(code);
    } catch (e) {
      return null;  // e.g. `let item` in a script binding `item`
    }
    if (typeof fn !== "function" || apply(sourceOf, fn, []) !== code.slice(1, -1)) return null;
    return () => { st.result = apply(fn, undefined, params.map((n) => st.vars[n])); };
  });
  // [changed name, value, ...], [local name, value, ...], removed, console, dropped, result
  // (as JSON; JSON.stringify costs about a microsecond an array, so plain values are written
  // here, each as `json` would: undefined, functions and symbols as null)
  const quick = (v) => {
    switch (typeof v) {
      case "number": return v - v === 0 ? "" + v : "null";  // NaN and Infinity: null
      case "boolean": return v ? "true" : "false";
      case "undefined": case "function": case "symbol": return "null";
      case "string": return stringify(v);
      default: {  // objects (toJSON), null; a BigInt throws: `json` converts it
        const j = stringify(v);
        return j === undefined ? "null" : j;
      }
    }
  };
  const pairs = (marks, exact) => {
    let out = "";
    for (const n in marks) {
      out += (out === "" ? "[" : ",") + stringify(n) + "," +
        (exact ? json("variable '" + n + "'", st.vars[n]) : quick(st.vars[n]));
    }
    return out === "" ? "[]" : out + "]";
  };
  const list = (a) => (a.length === 0 ? "[]" : stringify(a));
  const collect = (withResult, exact) =>
    "[" + pairs(st.changed, exact) + "," + pairs(st.local, exact) + "," +
    list(keys(st.removed)) + "," + list(st.logs) + "," + st.dropped + "," +
    (!withResult ? "null" : exact ? json("the script result", st.result) : quick(st.result)) +
    "]";
  fixed("__wf_collect", (withResult) => {
    try {
      return collect(withResult, false);
    } catch (e) {  // a BigInt, or not JSON: the exact conversion, or its error
      return collect(withResult, true);
    }
  });
  fixed("__wf_list", (words) => parse(words));
  const baseline = new Map();
  let enumerable = 0;
  const forget = (names) => {
    let clean = true;
    for (const k of names) {
      if (baseline.has(k)) {
        if (!is(G[k], baseline.get(k))) clean = false;
      } else if (k in G && !delete G[k]) {  // deleting an inherited name is a no-op
        clean = false;
      }
    }
    return clean;
  };
  fixed("__wf_end", (words) => {
    // forget the script: delete every global it made. Being poolable, it can only have made
    // or replaced globals it names (`words`, a list); false when it replaced one that was
    // there before, or when enumerable globals remain that were not there before (only an
    // assignment or a declaration makes one; the context is then thrown away)
    const bound = st === null ? [] : st.bound;
    st = null;
    const named = forget(words), boundToo = forget(bound);  // both: every one is deleted
    let count = 0;
    for (const k in G) count += 1;
    return named && boundToo && count === enumerable;
  });
  // Lock the built-ins down: no constructor compiles code from a string (the only way to
  // code that could reach the global object by a computed name), and every object reachable
  // from the global object (but the global object itself) is frozen, so that no script can
  // change what a later one (or this prelude) finds in them.
  const refuse = function () { throw new TypeError("code from strings is not allowed"); };
  for (const f of [function () {}, function* () {}, async function () {},
                   async function* () {}]) {
    O.defineProperty(getProto(f), "constructor",
                     {value: refuse, writable: false, enumerable: false, configurable: false});
  }
  const done = new Set();
  const todo = [getProto(G)];
  for (const k of ownKeys(G)) {
    const d = describe(G, k);
    todo.push(d.value, d.get, d.set);
  }
  while (todo.length > 0) {
    const o = todo.pop();
    if (o === null || o === G || (typeof o !== "object" && typeof o !== "function") ||
        done.has(o)) continue;
    done.add(o);
    freeze(o);
    todo.push(getProto(o));
    for (const k of ownKeys(o)) {
      const d = describe(o, k);
      if (d !== undefined) todo.push(d.value, d.get, d.set);
    }
  }
  for (const k of O.getOwnPropertyNames(G)) baseline.set(k, G[k]);
  for (const k in G) enumerable += 1;
})
""".replace("__WF_COMMON__", _JS_COMMON)

_MISSING = object()


class ScriptPool:
    """A QuickJS context shared by the simple scripts of one command (see the module docs).

    Not thread-safe: one per command (the engine's ``Runtime`` holds one).
    """

    #: compiled scripts (and word lists) kept per context; past it they are not kept
    MAX_COMPILED = 256

    def __init__(self) -> None:
        self._context: quickjs.Context | None = None
        self._memory_limit: int | None = None
        self._functions: tuple[Any, ...] = ()
        self.created = 0  # contexts made (tests, benchmarks)
        self.compiled = 0  # scripts compiled as functions (tests, benchmarks)
        #: id(value) -> value of the variable values found JSON-able (the value is kept so
        #: its id is not reused): a command's later scripts do not walk them again
        self._checked: dict[int, Any] = {}
        #: (source, binding names) -> the runner of the script compiled as a function of its
        #: bindings in this context, or None when it cannot be compiled so
        self._compiled: dict[tuple[str, str], Any] = {}
        #: source -> its words as a list in this context (what ``__wf_end`` checks)
        self._word_lists: dict[str, Any] = {}
        #: scripts that ran to their end as global code: valid scripts, so their text cannot
        #: close the function wrapper it is compiled in (valid in any context)
        self._valid: set[str] = set()

    def discard(self) -> None:
        """Drop the shared context (the next script gets a new one)."""
        self._context, self._functions = None, ()
        self._compiled.clear()
        self._word_lists.clear()

    def _ready(self, memory_limit_bytes: int) -> tuple[quickjs.Context, tuple[Any, ...]]:
        if self._context is None or self._memory_limit != memory_limit_bytes:
            self.discard()
            context = quickjs.Context()
            context.set_memory_limit(memory_limit_bytes)
            context.eval(_POOL_PRELUDE)(MAX_CONSOLE_LINES, MAX_CONSOLE_LINE_LENGTH)
            self._functions = tuple(
                context.get(f"__wf_{n}")
                for n in ("begin", "run", "compile", "collect", "end", "list")
            )
            self._context, self._memory_limit = context, memory_limit_bytes
            self.created += 1
        return self._context, self._functions

    def attempt(
        self,
        source: str,
        variables: str,
        names: str,
        meta: tuple[str | None, ...],
        budget_s: float,
        time_limit_s: float,
        memory_limit_bytes: int,
        activity_id: str | None,
        logger: logging.Logger | None,
        need_result: bool = True,
    ) -> dict[str, Any]:
        """As :func:`_attempt`, in the shared context (``variables`` their JSON, ``names``
        those bound as globals, comma separated, ``meta`` what ``execution``'s getters
        return)."""
        context, (begin, run, compile_, collect, end, list_) = self._ready(memory_limit_bytes)
        # ``started`` only matters for an interrupt, which cannot fire before the time limit
        started, in_script, ok = 0.0, False, False
        try:
            runner = None
            if not need_result and source in self._valid:
                key = (source, names)
                runner = self._compiled.get(key, _MISSING)
                if runner is _MISSING:  # parsing the script counts against its limit
                    context.set_time_limit(budget_s)
                    runner = compile_(source, names)
                    self.compiled += runner is not None
                    if len(self._compiled) < self.MAX_COMPILED:
                        self._compiled[key] = runner
            context.set_time_limit(-1)
            begin(variables, names, *meta, runner is None)
            context.set_time_limit(budget_s)
            started, in_script = time.thread_time(), True
            if runner is None:
                run(source)
            else:
                runner()
            in_script = False
            collected = json.loads(collect(need_result))
            ok = True
        except quickjs.JSException as exc:
            own_cpu = time.thread_time() - started
            raise _failure(
                exc,
                context,
                own_cpu,
                time_limit_s,
                memory_limit_bytes,
                activity_id,
                logger,
                with_line=in_script,
            ) from None
        finally:
            if not ok:
                self.discard()
        if runner is None and len(self._valid) < self.MAX_COMPILED:
            self._valid.add(source)
        try:
            # still under the time limit: nothing of the script can run here, but if it did
            words = self._word_lists.get(source)
            if words is None:
                words = list_(_words(source))
                if len(self._word_lists) < self.MAX_COMPILED:
                    self._word_lists[source] = words
            if not end(words):
                self.discard()
        except quickjs.JSException:
            self.discard()
        changed, local, removed, console, dropped, result = collected
        return _outcome(
            {
                "changed": dict(zip(changed[::2], changed[1::2])),
                "local": dict(zip(local[::2], local[1::2])),
                "removed": removed,
                "console": console,
                "dropped": dropped,
                "result": result,
                "autoStored": {},
            }
        )


_PLAIN = (str, int, bool, type(None))


def _check_passable(
    variables: dict[str, Any], activity_id: str | None, checked: dict[int, Any] | None
) -> None:
    """Raise as :func:`_payload` would if these values were passed (without encoding them)."""
    for name, value in variables.items():
        if isinstance(value, _PLAIN):
            continue
        if checked is not None and checked.get(id(value)) is value:
            continue
        if not _passable(value):
            _payload({name: value}, activity_id, None, None, None)  # raises with the reason
        if checked is not None and isinstance(value, (list, dict)):
            checked[id(value)] = value


def _passable(value: Any) -> bool:
    """True when ``value`` is plain JSON (finite floats); False means: ask ``json.dumps``."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is float:
        return value == value and value not in (float("inf"), float("-inf"))
    if kind is list or kind is tuple:
        return all(_passable(item) for item in value)
    if kind is dict:
        return all(type(key) is str and _passable(item) for key, item in value.items())
    return False


def _json_default(value: Any) -> Any:
    if isinstance(value, _dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(_dt.UTC).replace(tzinfo=None)
            return value.isoformat(timespec="milliseconds") + "Z"
        return value.isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


@functools.lru_cache(maxsize=4096)
def _bindable(name: str) -> bool:
    """True when a variable can also be bound as a global of that name."""
    return (
        _IDENTIFIER.fullmatch(name) is not None
        and name not in _RESERVED
        and not name.startswith("__wf")
    )


#: ``json.dumps(..., default=_json_default, allow_nan=False)``, made once (not per script)
_PAYLOAD_JSON = json.JSONEncoder(default=_json_default, allow_nan=False)
_LIMITS = {"lines": MAX_CONSOLE_LINES, "lineLength": MAX_CONSOLE_LINE_LENGTH}


def _encode(variables: dict[str, Any], activity_id: str | None) -> str:
    """The variables as JSON (ProcessFailure when they cannot be passed)."""
    try:
        return _PAYLOAD_JSON.encode(variables)
    except (TypeError, ValueError) as exc:
        raise ProcessFailure(
            "script", f"Process variables cannot be passed to the script: {exc}", activity_id
        ) from None


def _envelope(encoded: str, names: str, meta: tuple[str | None, ...]) -> str:
    """What a fresh context's prelude reads: variables (JSON), names bound, meta, limits."""
    activity_id, process_instance_id, execution_id, business_key = meta
    rest = json.dumps(
        {
            "globals": names.split(",") if names else [],
            "meta": {
                "activityId": activity_id,
                "processInstanceId": process_instance_id,
                "executionId": execution_id,
                "businessKey": business_key,
            },
            "limits": _LIMITS,
        }
    )
    return '{"variables":' + encoded + "," + rest[1:]


def _payload(
    variables: dict[str, Any],
    activity_id: str | None,
    process_instance_id: str | None,
    execution_id: str | None,
    business_key: str | None,
) -> str:
    names = ",".join(name for name in variables if _bindable(name))
    return _envelope(
        _encode(variables, activity_id),
        names,
        (activity_id, process_instance_id, execution_id, business_key),
    )


def _attempt(
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
        collected = json.loads(context.get("__wf_collect")(now, value if need_result else None))
    except quickjs.JSException as exc:
        own_cpu = time.thread_time() - started
        raise _failure(
            exc,
            context,
            own_cpu,
            time_limit_s,
            memory_limit_bytes,
            activity_id,
            logger,
            with_line=in_script,
        ) from None
    return _outcome(collected)


def _outcome(collected: dict[str, Any]) -> dict[str, Any]:
    changed = {**collected["autoStored"], **collected["changed"]}
    console = [line for _, line in collected["console"]]
    if collected["dropped"]:
        console.append(f"... {collected['dropped']} more console line(s) dropped")
    return {
        "changed": changed,
        "console": console,
        "result": collected["result"],
        "changed_local": collected["local"],
        "removed": tuple(collected["removed"]),
        "_log": collected["console"],
    }


def _read_globals(bound: list[str]) -> str:
    """A script reading each bound global (``let`` in the script may have shadowed it)."""
    reads = ",".join(
        f'"{name}":(typeof {name}==="undefined"?undefined:{name})' for name in bound
    )  # names are checked identifiers (see _payload)
    return "({" + reads + "})"


def _failure(
    exc: quickjs.JSException,
    context: quickjs.Context,
    own_cpu: float,
    time_limit_s: float,
    memory_limit_bytes: int,
    activity_id: str | None,
    logger: logging.Logger | None,
    *,
    with_line: bool,
) -> Exception:
    text = str(exc)
    first = text.split("\n", 1)[0].strip()
    if first == "InternalError: interrupted":
        if own_cpu < EARLY_INTERRUPT_RATIO * time_limit_s:
            return _EarlyInterrupt(own_cpu)
        return ProcessFailure(
            "script-timeout", f"Script exceeded its time limit of {time_limit_s:g} s", activity_id
        )
    if "out of memory" in text or (first in ("", "null") and _near_limit(context)):
        return ProcessFailure(
            "script",
            f"Script ran out of memory (limit {memory_limit_bytes / (1024 * 1024):g} MiB)",
            activity_id,
        )
    if isinstance(exc, quickjs.StackOverflow):
        return ProcessFailure(
            "script", "Script error: stack overflow (too deep recursion)", activity_id
        )
    _log_console_of_failed(context, activity_id, logger)
    line = re.search(r"<input>:(\d+)", text) if with_line else None
    where = f" (line {line.group(1)})" if line else ""
    return ProcessFailure("script", f"Script error: {first or 'unknown error'}{where}", activity_id)


def _near_limit(context: quickjs.Context) -> bool:
    """After an exception that lost its message: was the heap (nearly) full?"""
    try:
        usage = context.memory()
        return usage["malloc_size"] >= 0.9 * usage["malloc_limit"]
    except Exception:  # noqa: BLE001 - a broken context is as good as full here
        return True


def _log_console_of_failed(
    context: quickjs.Context, activity_id: str | None, logger: logging.Logger | None
) -> None:
    """Send a failed script's console output to the logger: it is what explains the error."""
    if logger is None:
        return
    try:
        output = json.loads(context.eval("__wf_console()"))
    except Exception:  # noqa: BLE001 - best effort only
        return
    for level, line in output["console"]:
        logger.log(_LEVELS.get(level, logging.INFO), "script %s: %s", activity_id, line)
