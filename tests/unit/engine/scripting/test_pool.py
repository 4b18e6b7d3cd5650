"""Scripts sharing a QuickJS context within one command (ScriptPool), and variable filtering."""

from __future__ import annotations

import pytest

from chalicelib.engine.scripting import (
    ScriptPool,
    is_poolable,
    referenced_variables,
    run_script,
)
from chalicelib.errors import ProcessFailure

IDS = {"activity_id": "script1", "process_instance_id": "pi-1", "execution_id": "ex-1"}


def run(pool, source, variables=None, **options):
    return run_script(source, variables or {}, **IDS, pool=pool, **options)


def test_simple_scripts_share_one_context_without_leaking_globals():
    pool = ScriptPool()
    first = run(
        pool,
        "var kept = 2; leak = 1; let lexical = 3; function f() {} "
        "execution.setVariable('x', amount * 2); amount",
        {"amount": 21},
    )
    assert first.changed == {"x": 42} and first.result == 21
    second = run(pool, "[typeof kept, typeof leak, typeof lexical, typeof f, typeof amount]")
    assert second.result == ["undefined"] * 5
    # the same name declared again (let) is no redeclaration error
    assert run(pool, "let lexical = 4; lexical").result == 4
    assert pool.created == 1


def test_replacing_a_builtin_global_discards_the_shared_context():
    pool = ScriptPool()
    assert run(pool, "var Math = 1; Math").result == 1
    assert run(pool, "typeof Math").result == "object"


def test_time_limit_applies_to_each_pooled_script():
    pool = ScriptPool()
    for _ in range(3):
        run(pool, "var s = 0; for (var i = 0; i < 1000; i++) { s += i } s", time_limit_s=0.3)
    with pytest.raises(ProcessFailure) as info:
        run(pool, "while (true) {}", time_limit_s=0.3)
    assert info.value.kind == "script-timeout"
    assert run(pool, "1 + 1", time_limit_s=0.3).result == 2


def test_errors_in_pooled_scripts_keep_their_line_and_a_fresh_context_follows():
    pool = ScriptPool()
    with pytest.raises(ProcessFailure) as info:
        run(pool, "var a = 1;\n\nmissing.call2()")
    assert info.value.message == "Script error: ReferenceError: missing is not defined (line 3)"
    assert run(pool, "typeof a").result == "undefined"


@pytest.mark.parametrize(
    "source",
    [
        "Array.prototype.x = 1",
        "[].push.call(o, 1)",
        "o.toString.x = 1",
        "o[k] = 1",
        "delete o.x",
        "o.x++",
        "++o.x",
        "({a: o.x} = {a: 1})",
        "for (o.x in p) {}",
        "Object.assign(o, p)",
        "x.__proto__",
        "this.x",
        "async function f() {}",
    ],
)
def test_scripts_that_could_alter_shared_state_are_not_pooled(source):
    assert not is_poolable(source)


def test_plain_scripts_are_pooled():
    assert is_poolable(
        "execution.setVariable('count', execution.getVariable('count') + "
        "item.length); var i = 0; i++; i += 2; var f = (v) => v == 1"
    )


def test_referenced_variables():
    assert referenced_variables("execution.getVariable('a b') + c") >= {"a b", "c"}
    for dynamic in (
        "execution.getVariables()",
        "execution.getVariable(name)",
        "var e = execution; e.getVariable('x')",
        "globalThis['x']",
        "this.x",
        "eval('x')",
        "'\\u0061'",
    ):
        assert referenced_variables(dynamic) is None, dynamic


def test_only_referenced_variables_are_passed_but_all_are_checked():
    pool = ScriptPool()
    assert run(pool, "Object.keys(execution.getVariables()).sort()", {"a": 1, "b": 2}).result == [
        "a",
        "b",
    ]
    assert run(pool, "typeof b", {"a": 1, "b": 2}).result == "number"
    with pytest.raises(ProcessFailure) as info:
        run(pool, "1", {"x": [object()]})
    assert "cannot be passed" in info.value.message


# --- scripts compiled once per shared context (need_result=False) ------------------------


def test_a_script_seen_before_runs_compiled_and_keeps_no_state_between_runs():
    pool = ScriptPool()
    source = (
        "var mine = typeof mine === 'undefined' ? 1 : mine + 1; "
        "implicit = typeof implicit === 'undefined' ? 1 : implicit + 1; "
        "function f() { return item + '!'; } "
        "execution.setVariable('out', [mine, implicit, f(), count + item.length]);"
    )
    outs = [
        run(pool, source, {"item": item, "count": n}, need_result=False).changed["out"]
        for n, item in enumerate(["a", "bb", "ccc", "dddd"])
    ]
    assert outs == [[1, 1, "a!", 1], [1, 1, "bb!", 3], [1, 1, "ccc!", 5], [1, 1, "dddd!", 7]]
    assert pool.compiled == 1 and pool.created == 1
    assert (
        run(pool, "[typeof implicit, typeof mine, typeof f, typeof item]").result
        == ["undefined"] * 4
    )


def test_compiled_scripts_keep_global_code_semantics_for_bindings():
    pool = ScriptPool()
    for source in (
        "var item = item + '!'; execution.setVariable('out', item)",
        "let item = 'shadow'; execution.setVariable('out', item)",
        "execution.setVariable('out', typeof JSON.parse)",
    ):
        first = run(pool, source, {"item": "x", "JSON": 1}, need_result=False).changed
        again = run(pool, source, {"item": "x", "JSON": 1}, need_result=False).changed
        assert first == again, source
    assert pool.compiled == 2  # `let item` cannot be a function of `item`: run as before


def test_need_result_false_gives_no_result_and_true_keeps_it():
    pool = ScriptPool()
    assert run(pool, "1 + 1", need_result=False).result is None
    assert run(pool, "1 + 1", need_result=False).result is None  # compiled
    assert run(pool, "1 + 1").result == 2
    assert run_script("1 + 1", {}, **IDS, need_result=False).result is None  # fresh context


def test_compiled_scripts_report_lines_time_out_and_then_start_afresh():
    pool = ScriptPool()
    source = "if (item === 'b') {\n  missing.x();\n}\nif (item === 'loop') { while (true) {} }"
    run(pool, source, {"item": "a"}, need_result=False)
    run(pool, source, {"item": "a"}, need_result=False)
    assert pool.compiled == 1
    with pytest.raises(ProcessFailure) as info:
        run(pool, source, {"item": "b"}, need_result=False)
    assert info.value.message == "Script error: ReferenceError: missing is not defined (line 2)"
    run(pool, source, {"item": "a"}, need_result=False)  # a new context, validated text
    with pytest.raises(ProcessFailure) as info:
        run(pool, source, {"item": "loop"}, need_result=False, time_limit_s=0.2)
    assert info.value.kind == "script-timeout"


def test_a_text_that_would_close_the_function_wrapper_is_never_compiled():
    pool = ScriptPool()
    for _ in range(3):
        with pytest.raises(ProcessFailure) as info:
            run(pool, "}); leak = 1; (function () {", need_result=False)
        assert "SyntaxError" in info.value.message
    assert pool.compiled == 0
    assert run(pool, "typeof leak").result == "undefined"


# --- the shared context's built-ins are locked down ---------------------------------------

_CONSTRUCTOR = 'var C = "constr" + "uctor"; '


@pytest.mark.parametrize(
    "body",
    [
        # code from a string, reaching the global object
        'var F = [][C][C]; F("return 1")()',
        'var G = (function* () {})[C]; G("yield 1")',
        # changing a built-in through a computed name, without assignment syntax
        'var O = ({})[C]; O["ass" + "ign"](JSON, {parse: 1}); typeof JSON.parse',
        'var O = ({})[C]; O["define" + "Property"]([][C]["proto" + "type"], "x", {value: 1}); 1',
    ],
)
def test_builtins_cannot_be_changed_through_computed_names(body):
    pool = ScriptPool()
    source = _CONSTRUCTOR + body
    assert is_poolable(source)
    try:
        run(pool, source)
    except ProcessFailure as failure:
        assert "TypeError" in failure.message
    after = run(pool, "[typeof JSON.parse, typeof [].x, typeof Object.prototype.x]", {"v": 1})
    assert after.result == ["function", "undefined", "undefined"]


def test_a_hijacked_parse_cannot_alter_the_next_script_inputs():
    pool = ScriptPool()
    evil = (
        _CONSTRUCTOR + 'var F = [][C][C]; var P = "JS" + "ON.pa" + "rse"; '
        'F(P + " " + "= function () { return {x: 666}; }")();'
    )
    with pytest.raises(ProcessFailure):
        run(pool, evil)
    assert run(pool, "execution.setVariable('y', x)", {"x": 1}).changed == {"y": 1}
