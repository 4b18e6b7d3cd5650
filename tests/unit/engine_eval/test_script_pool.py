"""Scripts sharing a QuickJS context within one command (ScriptPool), and variable filtering."""
from __future__ import annotations

import pytest

from chalicelib.engine.scripting import (
    ScriptPool, is_poolable, referenced_variables, run_script,
)
from chalicelib.errors import ProcessFailure

IDS = {"activity_id": "script1", "process_instance_id": "pi-1", "execution_id": "ex-1"}


def run(pool, source, variables=None, **options):
    return run_script(source, variables or {}, **IDS, pool=pool, **options)


def test_simple_scripts_share_one_context_without_leaking_globals():
    pool = ScriptPool()
    first = run(pool, "var kept = 2; leak = 1; let lexical = 3; function f() {} "
                      "execution.setVariable('x', amount * 2); amount", {"amount": 21})
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
    assert info.value.message == "Script error: ReferenceError: 'missing' is not defined (line 3)"
    assert run(pool, "typeof a").result == "undefined"


@pytest.mark.parametrize("source", [
    "Array.prototype.x = 1", "[].push.call(o, 1)", "o.toString.x = 1", "o[k] = 1",
    "delete o.x", "o.x++", "++o.x", "({a: o.x} = {a: 1})", "for (o.x in p) {}",
    "Object.assign(o, p)", "x.__proto__", "this.x", "async function f() {}",
])
def test_scripts_that_could_alter_shared_state_are_not_pooled(source):
    assert not is_poolable(source)


def test_plain_scripts_are_pooled():
    assert is_poolable("execution.setVariable('count', execution.getVariable('count') + "
                       "item.length); var i = 0; i++; i += 2; var f = (v) => v == 1")


def test_referenced_variables():
    assert referenced_variables("execution.getVariable('a b') + c") >= {"a b", "c"}
    for dynamic in ("execution.getVariables()", "execution.getVariable(name)",
                    "var e = execution; e.getVariable('x')", "globalThis['x']",
                    "this.x", "eval('x')", "'\\u0061'"):
        assert referenced_variables(dynamic) is None, dynamic


def test_only_referenced_variables_are_passed_but_all_are_checked():
    pool = ScriptPool()
    assert run(pool, "Object.keys(execution.getVariables()).sort()",
               {"a": 1, "b": 2}).result == ["a", "b"]
    assert run(pool, "typeof b", {"a": 1, "b": 2}).result == "number"
    with pytest.raises(ProcessFailure) as info:
        run(pool, "1", {"x": [object()]})
    assert "cannot be passed" in info.value.message
