"""The script time limit holds inside regular expressions (issue 12), and strings QuickJS
holds as ropes cross back to Python."""

from __future__ import annotations

import time

import pytest

from chalicelib.engine.scripting import ScriptPool, run_script
from chalicelib.errors import ProcessFailure

IDS = {"activity_id": "script1", "process_instance_id": "pi-1", "execution_id": "ex-1"}
LIMIT_S = 0.3
#: the limit is also the deadline of a retry after busy siblings; slack for a loaded machine
BOUND_S = LIMIT_S + 1.5

#: catastrophic backtracking: each takes years without an interrupt inside the regex engine
ADVERSARIAL = {
    "nested plus": "/^(a+)+$/.test('a'.repeat(40) + 'b')",
    "overlapping alternation": "/^(a|aa)+$/.test('a'.repeat(80) + 'b')",
    "counted star": "/^(.*a){25}$/.test('a'.repeat(60) + 'b')",
    "backreference": "/^(a+)\\1*(a+)+b$/.test('a'.repeat(60))",
    "word runs": "/^(\\w+\\s?)*$/.test('a'.repeat(60) + '!')",
    "replace": "'a'.repeat(40).replace(/^(a+)+b/, 'x')",
    "split": "'a'.repeat(40).split(/(a+)+b/).length",
    "search": "'a'.repeat(40).search(/(a+)+b/)",
    "matchAll": "Array.from('a'.repeat(40).matchAll(/(a+)+b/g)).length",
    "RegExp constructor": "new RegExp('^(a+)+$').exec('a'.repeat(40) + 'b')",
}


def _times_out(source: str, pool: ScriptPool | None = None) -> None:
    started = time.monotonic()
    with pytest.raises(ProcessFailure) as info:
        run_script(source, {}, **IDS, time_limit_s=LIMIT_S, pool=pool)
    assert info.value.kind == "script-timeout"
    assert info.value.detail == {"type": "script-timeout", "activityId": "script1"}
    assert time.monotonic() - started < BOUND_S


@pytest.mark.parametrize("source", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_catastrophic_regex_times_out_like_an_endless_loop(source):
    _times_out(source)


def test_catastrophic_regex_times_out_in_a_shared_context_too():
    pool = ScriptPool()
    _times_out("var found = /^(a|aa)+$/.test('a'.repeat(80) + 'b'); found", pool)
    # the shared context was thrown away; the next script runs normally
    result = run_script("/^(a+)+$/.test('aaaa')", {}, **IDS, pool=pool)
    assert result.result is True


def test_legitimate_regexes_keep_working():
    source = r"""
        var mail = /^[\w.+-]+@([\w-]+\.)+[a-z]{2,}$/i;
        var parts = /^(?<user>[a-z]+)-(?<n>\d+)$/.exec('jdoe-42');
        execution.setVariable('ok', mail.test('Jane.Doe@example.com'));
        execution.setVariable('user', parts.groups.user);
        execution.setVariable('n', Number(parts[2]));
        execution.setVariable('csv', 'a, b,c'.split(/\s*,\s*/));
        execution.setVariable('slug', 'Hello World!'.toLowerCase().replace(/[^a-z]+/g, '-'));
        execution.setVariable('all', Array.from('x1y22z333'.matchAll(/\d+/g), m => m[0]));
        execution.setVariable('sticky', /b/y.test('ab'));
        execution.setVariable('at', 'contractor-jdoe'.search(/-/));
    """
    for pool in (None, ScriptPool()):
        result = run_script(source, {}, **IDS, pool=pool)
        assert result.changed == {
            "ok": True,
            "user": "jdoe",
            "n": 42,
            "csv": ["a", "b", "c"],
            "slug": "hello-world-",
            "all": ["1", "22", "333"],
            "sticky": False,
            "at": 10,
        }


# --- rope strings (long concatenations) cross back to Python ---------------------------------


LONG = "var s = 'x'.repeat(3000); "


@pytest.mark.parametrize("pooled", [False, True])
def test_a_long_concatenation_is_a_script_value(pooled):
    pool = ScriptPool() if pooled else None
    result = run_script(LONG + "s + s", {}, **IDS, pool=pool)
    assert result.result == "x" * 6000
    # without a result variable the value is not read at all
    assert run_script(LONG + "s + s", {}, **IDS, pool=pool, need_result=False).result is None


@pytest.mark.parametrize("auto_store", [False, True])
def test_a_long_concatenation_as_value_with_auto_store_and_variables(auto_store):
    result = run_script(
        LONG + "name = s + 'y'; execution.setVariable('v', s + s); s + 'z'",
        {"name": ""},
        **IDS,
        auto_store=auto_store,
    )
    assert result.result == "x" * 3000 + "z"
    assert result.changed["v"] == "x" * 6000
    assert result.changed.get("name") == ("x" * 3000 + "y" if auto_store else None)


def test_long_console_lines_and_variables_cross_back():
    result = run_script(
        LONG + "console.log(s + s); execution.setVariable('v', s + s + s)",
        {},
        **IDS,
        pool=ScriptPool(),
    )
    assert result.console == ["x" * 2000 + "..."]
    assert result.changed == {"v": "x" * 9000}
