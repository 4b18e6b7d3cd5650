"""JavaScript script tasks in QuickJS: bindings, results, console, limits and isolation."""

from __future__ import annotations

import hashlib
import logging
import threading
import time

import pytest

from chalicelib.engine import scripting
from chalicelib.engine.scripting import ScriptResult, run_script
from chalicelib.errors import ProcessFailure

IDS = {
    "activity_id": "script1",
    "process_instance_id": "pi-1",
    "execution_id": "ex-1",
    "business_key": "bk-1",
}


def run(source, variables=None, **options) -> ScriptResult:
    return run_script(source, variables or {}, **IDS, **options)


def fails(source, kind="script", variables=None, **options) -> ProcessFailure:
    with pytest.raises(ProcessFailure) as info:
        run(source, variables, **options)
    assert info.value.kind == kind
    assert info.value.activity_id == "script1"
    assert info.value.detail == {"type": kind, "activityId": "script1"}
    return info.value


# --- variables, result, console ----------------------------------------------------------


def test_variables_are_globals_and_the_last_value_is_the_result():
    result = run("amount * 2 + order.lines.length", {"amount": 21, "order": {"lines": [1, 2]}})
    assert result == ScriptResult(changed={}, console=[], result=44)


def test_execution_reads_and_writes_variables():
    source = """
        var total = execution.getVariable('amount') + 1;
        execution.setVariable('total', total);
        execution.setVariable('when', new Date(0));
        execution.setVariable('nested', {a: [1, 'x', null], f: function () {}});
        execution.setVariableLocal('mine', true);
        execution.removeVariable('old');
        [execution.hasVariable('amount'), execution.hasVariable('nope'),
         execution.getVariable('nope'), Object.keys(execution.getVariables()).length]
    """
    result = run(source, {"amount": 41, "old": 1})
    assert result.changed == {
        "total": 42,
        "when": "1970-01-01T00:00:00.000Z",
        "nested": {"a": [1, "x", None]},
    }
    assert result.changed_local == {"mine": True}
    assert result.removed == ("old",)
    assert result.result == [True, False, None, 5]


def test_execution_ids():
    source = (
        "[execution.getProcessInstanceId(), execution.getId(), "
        "execution.getCurrentActivityId(), execution.getProcessBusinessKey()]"
    )
    assert run(source).result == ["pi-1", "ex-1", "script1", "bk-1"]


def test_assigning_a_global_does_not_store_it_without_auto_store():
    result = run("amount = amount + 1; amount", {"amount": 1})
    assert result.changed == {}
    assert result.result == 2


def test_auto_store_writes_back_changed_globals_of_existing_variables():
    source = """
        amount = amount + 1;        // changed global
        order.status = 'done';      // mutated object
        same = 'x';                 // unchanged value
        var fresh = 5;              // not an existing variable: not stored
        execution.setVariable('explicit', 1);
        explicit = 99;              // an explicit setVariable wins
    """
    variables = {
        "amount": 1,
        "order": {"status": "new"},
        "same": "x",
        "explicit": 0,
        "not-an-identifier": 1,
    }
    result = run(source, variables, auto_store=True)
    assert result.changed == {"amount": 2, "order": {"status": "done"}, "explicit": 1}


def test_variable_named_like_a_builtin_is_not_bound_as_a_global():
    result = run("[typeof JSON.parse, execution.getVariable('JSON')]", {"JSON": 1})
    assert result.result == ["function", 1]


@pytest.mark.parametrize(
    "source, expected",
    [
        ("undefined", None),
        ("(function () {})", None),
        ("NaN", None),
        ("1.5", 1.5),
        ("'text'", "text"),
        ("({a: 1, b: undefined, c: 10n})", {"a": 1, "c": 10}),
        ("new Date(86400000)", "1970-01-02T00:00:00.000Z"),
        ("var x = 1;", None),
        ("true", True),
    ],
)
def test_results_cross_as_json(source, expected):
    assert run(source).result == expected


def test_console_is_collected_and_logged(caplog):
    source = "console.log('a', 1, {b: 2}); console.warn('careful'); console.error('bad')"
    with caplog.at_level(logging.DEBUG, logger="scripts"):
        result = run(source, logger=logging.getLogger("scripts"))
    assert result.console == ['a 1 {"b":2}', "careful", "bad"]
    levels = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert (logging.WARNING, "script script1: careful") in levels
    assert (logging.ERROR, "script script1: bad") in levels


def test_console_output_is_capped():
    result = run(
        f"for (var i = 0; i < {scripting.MAX_CONSOLE_LINES + 3}; i++) console.log('x'.repeat(5000))"
    )
    assert len(result.console) == scripting.MAX_CONSOLE_LINES + 1
    assert result.console[-1] == "... 3 more console line(s) dropped"
    assert len(result.console[0]) == scripting.MAX_CONSOLE_LINE_LENGTH + 3


# --- failures ----------------------------------------------------------------------------


def test_javascript_error_is_a_script_failure_with_its_line():
    error = fails("var a = 1;\n\nmissing.call()")
    assert error.message == "Script error: ReferenceError: missing is not defined (line 3)"


def test_syntax_error_is_a_script_failure():
    assert "SyntaxError" in fails("var = ;").message


def test_thrown_value_is_a_script_failure():
    assert fails("throw 'no way'").message == "Script error: no way"


def test_unserialisable_variable_is_a_script_failure():
    error = fails("var a = {}; a.self = a; execution.setVariable('a', a)")
    assert "variable 'a' cannot be converted to JSON" in error.message


def test_stack_overflow_is_a_script_failure():
    assert "stack overflow" in fails("function f() { return f() + 1 } f()").message


def test_failed_script_console_is_logged(caplog):
    with caplog.at_level(logging.INFO, logger="scripts"):
        fails("console.log('about to fail'); null.x", logger=logging.getLogger("scripts"))
    assert "script script1: about to fail" in caplog.messages


def test_infinite_loop_times_out():
    started = time.monotonic()
    error = fails("while (true) {}", kind="script-timeout")  # the default limit: 1 s
    # bounded: one limit, plus at most one retry stretched to 4 limits when other threads
    # eat the process's CPU time (see scripting.py); generous for a busy 2-core machine
    assert time.monotonic() - started < 7.0
    assert "time limit of 1 s" in error.message


def test_timeout_cannot_be_caught_by_the_script():
    fails(
        "while (true) { try { while (true) {} } catch (e) {} }",
        kind="script-timeout",
        time_limit_s=0.3,
    )


def test_allocation_bomb_hits_the_memory_limit():
    started = time.monotonic()
    error = fails("let a = []; while (true) a.push(new Array(1e6))")
    assert "memory" in error.message
    assert time.monotonic() - started < 2.0


def test_string_bomb_hits_the_memory_limit():
    error = fails("var s = 'x'; while (true) s = s + s", memory_limit_bytes=8 * 1024 * 1024)
    # doubling a rope string copies nothing: QuickJS's string length limit comes first
    assert "memory" in error.message or "string too long" in error.message


def test_unserialisable_input_is_a_script_failure():
    assert "cannot be passed" in fails("1", variables={"x": object()}).message
    assert "cannot be passed" in fails("1", variables={"x": float("nan")}).message


# --- isolation and no I/O ----------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "require",
        "std",
        "os",
        "print",
        "scriptArgs",
        "fetch",
        "XMLHttpRequest",
        "setTimeout",
        "process",
        "Deno",
    ],
)
def test_no_io_globals(name):
    assert run(f"typeof {name}").result == "undefined"


def test_static_import_is_a_syntax_error():
    assert "SyntaxError" in fails("import * as os from 'os'").message


def test_dynamic_import_never_loads_a_module():
    result = run(
        "import('os').then(m => execution.setVariable('os', String(m)),"
        " e => execution.setVariable('os', String(e)))"
    )
    assert result.changed == {}  # no event loop: the promise never settles


def test_each_script_gets_a_fresh_context():
    run("globalThis.leak = 1; var kept = 2")
    assert run("[typeof leak, typeof kept]").result == ["undefined", "undefined"]


def test_execution_cannot_be_replaced():
    result = run("execution = null; execution.setVariable('x', 1); 'ok'")
    assert result.changed == {"x": 1}


# --- early interrupts from busy sibling threads ------------------------------------------


def _early_after(seconds: float, budgets: list[float], *, then_run: bool = True):
    """An attempt that spends ``seconds`` of wall time and is interrupted early, once (or
    always, when not ``then_run``), recording each QuickJS budget it is given."""
    real = scripting._attempt

    def attempt(*args, **kwargs):
        budgets.append(args[2])  # the QuickJS budget
        if len(budgets) == 1 or not then_run:
            time.sleep(seconds)
            raise scripting._EarlyInterrupt(0.01)
        return real(*args, **kwargs)

    return attempt


def test_early_interrupt_is_retried_once_with_the_time_left(monkeypatch):
    """The first attempt's 1 s of process CPU went by in 0.5 s of wall time (siblings on the
    other core): the retry gets the 0.5 s left at that rate, about 1 s of process CPU."""
    budgets: list[float] = []
    monkeypatch.setattr(scripting, "_attempt", _early_after(0.5, budgets))
    assert run("1 + 1", time_limit_s=1.0).result == 2
    assert budgets[0] == 1.0
    assert 0.8 < budgets[1] <= 1.0, budgets


def test_the_retry_budget_is_capped_by_the_stretch(monkeypatch):
    budgets: list[float] = []
    monkeypatch.setattr(scripting, "_attempt", _early_after(0.0, budgets))
    assert run("1 + 1", time_limit_s=1.0).result == 2
    assert budgets[1] <= 1.0 * scripting.MAX_RETRY_STRETCH
    assert budgets[1] > 0.9 * scripting.MAX_RETRY_STRETCH  # almost the whole limit was left


def test_no_retry_when_the_deadline_is_near(monkeypatch):
    """Interrupted early by the process clock, but the wall-clock limit is (nearly) used up:
    a time-out at once, without a second run."""
    budgets: list[float] = []
    monkeypatch.setattr(scripting, "_attempt", _early_after(0.35, budgets))
    began = time.monotonic()
    fails("1", kind="script-timeout", time_limit_s=0.3)
    assert budgets == [0.3]
    assert time.monotonic() - began < 0.6


def test_second_early_interrupt_is_a_timeout(monkeypatch):
    budgets: list[float] = []
    monkeypatch.setattr(scripting, "_attempt", _early_after(0.0, budgets, then_run=False))
    fails("1", kind="script-timeout")
    assert len(budgets) == 2


def test_busy_sibling_threads_do_not_fail_a_short_script():
    """Threads burning CPU outside the GIL count against QuickJS's whole-process clock."""
    stop = threading.Event()

    def burn():
        while not stop.is_set():
            hashlib.pbkdf2_hmac("sha256", b"password", b"salt", 20_000)

    threads = [threading.Thread(target=burn, daemon=True) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        # About 0.05-0.15 s of the script's own CPU against a 0.8 s limit (wall clock).
        result = run("var s = 0; for (var i = 0; i < 1000000; i++) s += i; s", time_limit_s=0.8)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert result.result == 499999500000


@pytest.mark.parametrize(
    "source",
    [
        "var a = []; for (var i = 0; i < 100000; i++) { a = [a]; } JSON.stringify(a).length",
        "var a = []; for (var i = 0; i < 100000; i++) { a = [a]; } execution.setVariable('x', a)",
        "function f(n) { return n ? f(n - 1) + 1 : 0; } f(1e6)",
    ],
)
def test_deep_structures_and_recursion_fail_the_script_not_the_process(source):
    """QuickJS 2021-03-27 crashed the whole process on the first of these (a C stack overflow
    in JSON.stringify); the engine now bundled reports a stack overflow."""
    error = fails(source)
    assert "stack overflow" in error.message


def test_no_time_limit_installs_no_interrupt():
    """``time_limit_s=None`` (bench/script_call.py's baseline) lets a script run past what a
    limit would allow, fresh and pooled."""
    loop = "var s = 0; for (var i = 0; i < 3000000; i++) s += i; s"
    fails(loop, kind="script-timeout", time_limit_s=0.02)
    assert run(loop, time_limit_s=None).result == 4499998500000
    assert run(loop, time_limit_s=None, pool=scripting.ScriptPool()).result == 4499998500000
