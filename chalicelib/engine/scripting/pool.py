"""A QuickJS context shared by the simple scripts of one command.

Speed (a command running many small scripts, e.g. one per multi-instance item):

- Only the variables a script can reach are passed (:func:`.analysis.referenced_variables`):
  the identifiers in its text plus the literal names in ``execution.getVariable('name')`` and
  the other readers. A script that could reach variables by a computed name
  (``getVariables()``, ``getVariable(name)`` with a non-literal, ``execution`` used other than
  as ``execution.method``, ``this``, ``globalThis``, ``eval``, ``Function``, ``constructor``, a
  backslash escape) gets every visible variable, as before.
- With a :class:`ScriptPool` (one per engine command) a *simple* script
  (:func:`.analysis.is_poolable`: no name that reaches or alters the shared built-ins, no
  assignment to a member, no ``delete``, no promises) runs in a QuickJS context kept for the
  command, whose prelude is compiled once. Each script runs as global code through an indirect
  ``eval`` (``let`` and ``const`` stay its own; ``var`` and implicit globals become deletable
  globals) with a fresh ``execution`` state; afterwards every global it created (and every
  variable bound as a global) is deleted, and if a pre-existing global was replaced, enumerable
  globals remain that were not there before, or anything failed, the context is thrown away. So
  no script sees anything of an earlier one. The time limit is QuickJS's per call (set before
  each script, and kept while it is cleaned up), the memory limit is the context's. Every other
  script (and ``auto_store``) gets a fresh context, as described above.
- The shared context is locked down before its first script: the function constructors
  (``Function`` reached as ``[]["constr" + "uctor"]["constr" + "uctor"]``, generator and async
  ones alike) throw instead of compiling code, and every object reachable from the global
  object (built-in constructors, prototypes, ``JSON``, ``Math``, ``execution``, ...; not the
  global object itself) is frozen. A script that escapes :func:`.analysis.is_poolable`'s text
  checks by computed names can thus neither change a built-in a later script (or the prelude)
  uses, nor reach the global object other than by naming a global in its text. The prelude
  keeps its own references to what it uses.
- When the script's value is not used (``need_result=False``: no ``resultVariable``), a pooled
  script that already ran to its end as global code in the command (so its text is a valid
  script, which cannot close a wrapper around it) is compiled once per context as ``function
  (<bound variable names>) { <script> }`` and then called with the bindings as arguments: no
  parsing, no globals bound and deleted per run. Its ``var``, functions and classes are the
  call's own; an implicit global is deleted afterwards as above; the function object is
  unreachable from the script, so no state survives a call. A script that cannot be compiled so
  (``let item`` with ``item`` bound) runs as global code.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import quickjs

from .analysis import words as script_words
from .errors import failure
from .js import pool_prelude
from .limits import MAX_CONSOLE_LINE_LENGTH, MAX_CONSOLE_LINES
from .values import outcome

__all__ = ["ScriptPool"]

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
            context.eval(pool_prelude())(MAX_CONSOLE_LINES, MAX_CONSOLE_LINE_LENGTH)
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
        """As :func:`.sandbox.attempt`, in the shared context (``variables`` their JSON, ``names``
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
        finally:
            if not ok:
                self.discard()
        if runner is None and len(self._valid) < self.MAX_COMPILED:
            self._valid.add(source)
        try:
            # still under the time limit: nothing of the script can run here, but if it did
            words = self._word_lists.get(source)
            if words is None:
                words = list_(script_words(source))
                if len(self._word_lists) < self.MAX_COMPILED:
                    self._word_lists[source] = words
            if not end(words):
                self.discard()
        except quickjs.JSException:
            self.discard()
        changed, local, removed, console, dropped, result = collected
        return outcome(
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
