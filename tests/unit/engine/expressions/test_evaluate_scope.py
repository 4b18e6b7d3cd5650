"""Names, ``execution``, functions, the method whitelist, conditions, caching and limits."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.api.errors import error_envelope
from chalicelib.engine.expressions.evaluate import (
    MAX_DEPTH,
    MAX_TEXT_LENGTH,
    MappingScope,
    UndefinedName,
    compile_template,
    evaluate,
    evaluate_condition,
)
from chalicelib.engine.expressions.parser import JuelSyntaxError
from chalicelib.errors import ProcessFailure


class DictExecution:
    """A minimal :class:`ExecutionFacade` over one dict (local and global are the same)."""

    def __init__(self, variables: dict[str, Any]):
        self.variables = variables
        self.local: dict[str, Any] = {}

    def get_variable(self, name):
        return self.variables.get(name)

    def get_variable_local(self, name):
        return self.local.get(name)

    def has_variable(self, name):
        return name in self.variables

    def has_variable_local(self, name):
        return name in self.local

    def get_variables(self):
        return self.variables

    def set_variable(self, name, value):
        self.variables[name] = value

    def set_variable_local(self, name, value):
        self.local[name] = value

    def get_process_instance_id(self):
        return "pi-1"

    def get_id(self):
        return "ex-1"

    def get_current_activity_id(self):
        return "task1"

    def get_process_business_key(self):
        return "bk-1"


VARS = {
    "amount": 150,
    "name": "Kermit",
    "text": "  Hello World  ",
    "items": ["a", "b", 3],
    "order": {"price": 200, "gold": True, "lines": [{"sku": "x1"}]},
    "nothing": None,
    "csv": "a,b,,c,,",
    "flag": True,
    "s": "true",
}


def scope(**extra):
    variables = {**VARS, **extra}
    return MappingScope(variables, DictExecution(variables))


def ev(text, **extra):
    return evaluate(text, scope(**extra))


def failure(text, activity_id=None, **extra) -> ProcessFailure:
    with pytest.raises(ProcessFailure) as info:
        evaluate(text, scope(**extra), activity_id=activity_id)
    assert info.value.kind == "expression"
    assert text in info.value.message
    return info.value


# --- names -------------------------------------------------------------------------------


def test_undefined_name_is_an_error_naming_the_expression():
    error = failure("${missing == 1}")
    assert error.message.startswith("Unknown property used in expression: ${missing == 1}")
    assert "'missing'" in error.message
    assert error.detail == {"type": "expression", "activityId": "task1"}


def test_failure_carries_the_given_activity_id():
    error = failure("${missing}", activity_id="gateway7")
    assert error.activity_id == "gateway7"
    assert error_envelope(error)["detail"]["activityId"] == "gateway7"


def test_undefined_name_without_execution_has_no_activity():
    with pytest.raises(ProcessFailure) as info:
        evaluate("${execution.getId()}", MappingScope({}))
    assert info.value.message.startswith("Unknown property used in expression")
    assert info.value.activity_id is None


def test_null_variable_is_defined():
    assert ev("${nothing}") is None
    assert ev("${nothing == null}") is True


def test_mapping_scope_raises_undefined_name():
    with pytest.raises(UndefinedName) as info:
        MappingScope({}).resolve("x")
    assert info.value.name == "x"


# --- property and index access -----------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("${order.price <= 250}", True),
        ("${order.gold}", True),
        ("${order.missing}", None),
        ("${order['price']}", 200),
        ("${order.lines[0].sku}", "x1"),
        ("${items[1]}", "b"),
        ("${items['0']}", "a"),
        ("${items[9]}", None),
        ("${items[-1]}", None),
        ("${nothing.anything}", None),
        ("${nothing[0]}", None),
        ("${order[items]}", None),
    ],
)
def test_property_and_index_access(text, expected):
    assert ev(text) == expected


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("${name.length}", "Property 'length' not found on type String"),
        ("${items.size}", "Property 'size' not found on type List"),
        ("${amount.x}", "not found on type Long"),
        ("${name[0]}", "Cannot index into type String"),
        ("${items[flag]}", "Cannot use Boolean as a list index"),
        ("${items['x']}", "Cannot coerce"),
    ],
)
def test_bad_access_is_an_error(text, fragment):
    assert fragment in failure(text).message


# --- the method whitelist ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("${name.length()}", 6),
        ("${name.isEmpty()}", False),
        ("${name.equals('Kermit')}", True),
        ("${name.equals(1)}", False),
        ("${name.equalsIgnoreCase('KERMIT')}", True),
        ("${name.contains('erm')}", True),
        ("${name.startsWith('Ke')}", True),
        ("${name.startsWith('rm', 2)}", True),
        ("${name.endsWith('it')}", True),
        ("${name.toLowerCase()}", "kermit"),
        ("${name.toUpperCase()}", "KERMIT"),
        ("${text.trim()}", "Hello World"),
        ("${name.substring(1)}", "ermit"),
        ("${name.substring(1, 3)}", "er"),
        ("${name.indexOf('r')}", 2),
        ("${name.indexOf('z')}", -1),
        ("${name.lastIndexOf('t')}", 5),
        ("${name.replace('K', 'H')}", "Hermit"),
        ("${csv.split(',')}", ["a", "b", "", "c"]),
        ("${name.toString()}", "Kermit"),
        ("${items.size()}", 3),
        ("${items.isEmpty()}", False),
        ("${items.contains('a')}", True),
        ("${items.contains(3)}", True),
        ("${items.contains(3.0)}", False),
        ("${items.get(0)}", "a"),
        ("${items.indexOf('b')}", 1),
        ("${order.get('price')}", 200),
        ("${order.containsKey('gold')}", True),
        ("${order.containsKey('nope')}", False),
        ("${order.size()}", 3),
        ("${order.isEmpty()}", False),
        ("${amount.toString()}", "150"),
        ("${amount.doubleValue()}", 150.0),
        ("${flag.toString()}", "true"),
        ("${order.isEmpty() || items.size() > 2}", True),
    ],
)
def test_whitelisted_methods(text, expected):
    result = ev(text)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("${execution.getClass()}", "Method 'getClass' is not allowed on execution"),
        ("${''.getClass().forName('x')}", "Method 'getClass' is not allowed on type String"),
        ("${name.__class__()}", "Method '__class__' is not allowed"),
        ("${name.matches('.*')}", "Method 'matches' is not allowed on type String"),
        ("${order.isPremiumOrder()}", "Method 'isPremiumOrder' is not allowed on type Map"),
        ("${items.clear()}", "Method 'clear' is not allowed on type List"),
        ("${nothing.toString()}", "Cannot call method 'toString' on null"),
        ("${name.substring(4, 99)}", "out of range"),
        ("${items.get(7)}", "out of range"),
        ("${name.length(1)}", "takes 0 argument(s), got 1"),
        ("${csv.split('.*')}", "regular expressions are not supported"),
        ("${name.contains(1)}", "expects a String"),
        ("${execution.variables}", "Property 'variables' is not allowed on execution"),
    ],
)
def test_other_methods_are_rejected_by_name(text, fragment):
    error = failure(text)
    assert fragment in error.message
    assert error.message.startswith("Error while evaluating expression: " + text)


def test_replace_cannot_blow_up_a_string():
    assert ev("${s.replace('t', s.replace('t', s))}") == "true".replace("t", "truerue")
    bomb = "${big.replace('a', big)}"
    error = failure(bomb, big="a" * 2_000)
    assert "over 1000000 characters" in error.message


# --- execution ---------------------------------------------------------------------------


def test_execution_methods():
    variables = dict(VARS)
    execution = DictExecution(variables)
    sc = MappingScope(variables, execution)
    assert evaluate("${execution.getVariable('amount')}", sc) == 150
    assert evaluate("${execution.getVariable('nope')}", sc) is None
    assert evaluate("${execution.hasVariable('amount')}", sc) is True
    assert evaluate("${execution.getVariables().name}", sc) == "Kermit"
    assert evaluate("${execution.setVariable('total', amount * 2)}", sc) is None
    assert variables["total"] == 300
    evaluate("${execution.setVariableLocal('loc', 'x')}", sc)
    assert execution.local == {"loc": "x"}
    assert evaluate("${execution.getVariableLocal('loc')}", sc) == "x"
    assert evaluate("${execution.hasVariableLocal('amount')}", sc) is False
    ids = (
        "${execution.getProcessInstanceId()}/${execution.getId()}/"
        "${execution.getCurrentActivityId()}/${execution.getProcessBusinessKey()}"
    )
    assert evaluate(ids, sc) == "pi-1/ex-1/task1/bk-1"
    assert evaluate("${execution.processInstanceId}-${execution.id}", sc) == "pi-1-ex-1"


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("${execution}", "execution cannot be used as a result"),
        ("x${execution}", "execution cannot be used as text"),
        ("${execution.setVariable('x', execution)}", "cannot be used as a variable value"),
        ("${execution.getVariable(1)}", "needs a variable name"),
        ("${execution.getVariable()}", "takes 1 argument(s), got 0"),
        ("${execution == 1}", "cannot be used as an operand"),
    ],
)
def test_execution_misuse(text, fragment):
    assert fragment in failure(text).message


# --- functions ---------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["variables", "vars", "var"])
@pytest.mark.parametrize(
    "call, expected",
    [
        ("get(amount)", 150),
        ("get('amount')", 150),
        ("get(missing)", None),
        ("getOrDefault(missing, 'def')", "def"),
        ("getOrDefault(nothing, 5)", 5),
        ("getOrDefault(name, 'def')", "Kermit"),
        ("exists(amount)", True),
        ("exists(missing)", False),
        ("exists(nothing)", True),
        ("isEmpty(missing)", True),
        ("isEmpty(nothing)", True),
        ("isEmpty(name)", False),
        ("isNotEmpty(items)", True),
        ("isEmpty(order)", False),
        ("equals(amount, 150)", True),
        ("eq(amount, 150.9)", True),
        ("equals(name, 'Kermit')", True),
        ("equals(missing, null)", True),
        ("notEquals(amount, 1)", True),
        ("ne(missing, 1)", True),
        ("lowerThan(amount, 200)", True),
        ("lt(missing, 200)", False),
        ("lowerThanOrEquals(amount, 150)", True),
        ("lte(amount, 149)", False),
        ("greaterThan(amount, 100)", True),
        ("gt(name, 'A')", True),
        ("greaterThanOrEquals(amount, 150)", True),
        ("gte(amount, 151)", False),
        ("contains(name, 'erm', 'it')", True),
        ("contains(name, 'erm', 'zz')", False),
        ("contains(items, 'a', 3)", True),
        ("contains(items, 'z')", False),
        ("contains(missing, 'a')", False),
        ("containsAny(items, 'z', 'b')", True),
        ("containsAny(name, 'zz', 'yy')", False),
        ("base64(name)", "S2VybWl0"),
        ("base64(missing)", None),
    ],
)
def test_variable_functions_with_every_prefix(prefix, call, expected):
    assert ev("${" + prefix + ":" + call + "}") == expected


def test_functions_combine_with_operators():
    assert ev("${var:gt(amount, 100) && vars:getOrDefault('x', 'def') == 'def'}") is True


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("${variables:nope(amount)}", "Unknown function 'variables:nope'"),
        ("${openidm:query('x', y)}", "Unknown function 'openidm:query'"),
        ("${size(items)}", "Unknown function 'size'"),
        ("${var:get(amount, 1)}", "takes 1 argument(s), got 2"),
        ("${var:contains(amount)}", "takes at least 2 argument(s), got 1"),
        ("${var:get(1)}", "needs a variable name, got Long"),
        ("${var:gt(name, 1)}", "cannot compare String with Long"),
        ("${var:base64(amount)}", "needs a String variable"),
    ],
)
def test_function_errors(text, fragment):
    assert fragment in failure(text).message


# --- conditions --------------------------------------------------------------------------


def test_condition_must_be_boolean():
    assert evaluate_condition("${amount > 100}", scope()) is True
    assert evaluate_condition("${flag}", scope()) is True
    for text in ("${s}", "${nothing}", "${amount}", "true", "x${flag}"):
        with pytest.raises(ProcessFailure) as info:
            evaluate_condition(text, scope())
        assert info.value.kind == "expression"
        assert f"Condition expression returns non-Boolean: {text}" in info.value.message


# --- syntax, caching and limits ----------------------------------------------------------


def test_syntax_error_is_an_expression_failure():
    error = failure("${amount >}")
    assert error.message.startswith("Invalid expression ${amount >}")


def test_templates_are_cached_by_text():
    compile_template.cache_clear()
    text = "${amount + 1 > 100}"
    assert ev(text) is True
    assert ev(text) is True
    info = compile_template.cache_info()
    assert (info.misses, info.hits) == (1, 1)
    assert compile_template(text) is compile_template(text)


def test_too_long_text_is_refused():
    text = "x" * MAX_TEXT_LENGTH + "${1}"
    with pytest.raises(ProcessFailure) as info:
        ev(text)
    assert f"longer than {MAX_TEXT_LENGTH} characters" in info.value.message
    assert info.value.kind == "expression"
    with pytest.raises(JuelSyntaxError):
        compile_template(text)


@pytest.mark.parametrize(
    "text",
    [
        "${" + "-(" * (MAX_DEPTH + 5) + "1" + ")" * (MAX_DEPTH + 5) + "}",
        "${" + "!" * (MAX_DEPTH + 5) + "true}",
        "${" + " || ".join(["false"] * (MAX_DEPTH + 5)) + "}",
        "${" + "-" * 5_000 + "1}",
    ],
)
def test_deep_nesting_is_a_clear_error_not_a_recursion_error(text):
    with pytest.raises(ProcessFailure) as info:
        ev(text)
    assert info.value.kind == "expression"
    assert "nested more than" in info.value.message or "levels deep" in info.value.message


def test_nesting_below_the_limit_evaluates():
    depth = MAX_DEPTH - 5
    assert ev("${" + "!" * depth + "true}") is (depth % 2 == 0)
    assert ev("${" + " + ".join(["1"] * (MAX_DEPTH - 5)) + "}") == MAX_DEPTH - 5
