"""JUEL subset syntax: templates, operators, calls, literals, and error positions."""

from __future__ import annotations

import pytest

from chalicelib.engine.expressions import JuelSyntaxError, parse_expression, parse_template
from chalicelib.engine.expressions.ast import (
    Binary,
    Conditional,
    Eval,
    FunctionCall,
    Identifier,
    Index,
    Literal,
    MethodCall,
    Property,
    Text,
    Unary,
    walk,
)


def expr(text: str):
    """The single expression of ``${text}``."""
    node = parse_template("${" + text + "}").single_expression
    assert node is not None
    return node


@pytest.mark.parametrize(
    "text",
    [
        "${input == 1}",
        "${input == 'right'}",
        "${input <= 3}",
        "${input == 3 || input == 1}",
        "${decision=='accept'}",
        "${status!='active'}",
        "${!passwordChanged}",
        "${not confirmed}",
        "${order.price <= 250}",
        "${order.isPremiumOrder()}",
        "${order.gold}",
        "${true}",
        "${nrOfCompletedInstances/nrOfInstances >= 0.6}",
        "${bean.getValue()}",
        "${openidm.query('workflow/processdefinition', params)}",
        "kermit_${loopCounter}",
        "${initiator}",
        "#{hasBusiness}",
        "${vars:getOrDefault('x', 'def')}",
        "${var:gt(amount, 100)}",
        "${variables:get(x)}",
        "${empty list}",
        "${not empty list}",
        "${a eq b and c ne d or e lt f}",
        "${a gt b && c le d || e ge f}",
        "${x div 2 mod 3}",
        "${a ? 'yes' : 'no'}",
        "${m['key'][0].name}",
        "${execution.getVariable('x')}",
        "${(a + b) * -c}",
        "${null == x}",
        "${1.5e3 > 2}",
        'He said "${greeting}" to ${name}',
        "${'it\\'s'}",
        '${"a}b"}',
    ],
)
def test_valid_expressions_parse(text):
    template = parse_template(text)
    assert template.expressions


def test_literal_text_has_no_expression():
    template = parse_template("openidm-admin")
    assert template.is_literal
    assert template.parts == (Text("openidm-admin", 0),)


def test_escaped_dollar_brace_is_literal():
    template = parse_template("cost \\${x} and ${y}")
    assert template.parts[0] == Text("cost ${x} and ", 0)
    assert isinstance(template.parts[1], Eval)


def test_composite_template_parts_and_positions():
    template = parse_template("kermit_${loopCounter}")
    assert template.parts == (Text("kermit_", 0), Eval(Identifier("loopCounter", 9), False, 7))
    assert template.single_expression is None


def test_deferred_expression_is_marked():
    assert parse_template("#{x}").parts[0].deferred is True


def test_operators_are_normalised_and_precedence_holds():
    node = expr("a or b and not c eq 1 + 2 * 3")
    assert isinstance(node, Binary) and node.op == "||"
    right = node.right
    assert right.op == "&&"
    assert right.right.op == "=="
    assert right.right.left == Unary("!", Identifier("c", 17), 13)
    assert right.right.right.op == "+"
    assert right.right.right.right.op == "*"


def test_unary_minus_and_empty():
    assert expr("-x") == Unary("-", Identifier("x", 3), 2)
    assert expr("empty x").op == "empty"


def test_method_property_index_and_function_calls():
    node = expr("a.b(1, 'two').c[d]")
    assert isinstance(node, Index)
    assert isinstance(node.target, Property) and node.target.name == "c"
    call = node.target.target
    assert isinstance(call, MethodCall) and call.name == "b"
    assert call.args == (Literal(1, 6), Literal("two", 9))
    assert expr("variables:get(x)") == FunctionCall("variables", "get", (Identifier("x", 16),), 2)
    assert expr("f()") == FunctionCall("", "f", (), 2)


def test_ternary_is_not_mistaken_for_a_prefixed_function():
    node = expr("a ? b : c(1)")
    assert isinstance(node, Conditional)
    assert node.otherwise == FunctionCall("", "c", (Literal(1, 12),), 10)


def test_literals():
    assert expr("'a\\'b'") == Literal("a'b", 2)
    assert expr('"q\\"q"').value == 'q"q'
    assert expr("42").value == 42
    assert expr("4.5").value == 4.5
    assert [expr(w).value for w in ("true", "false", "null")] == [True, False, None]


def test_keywords_are_not_identifiers_but_prefixes_of_identifiers_are():
    assert expr("order") == Identifier("order", 2)
    assert expr("android == empty_box").left == Identifier("android", 2)


def test_walk_visits_every_node():
    names = [n.name for n in walk(expr("a.b(c) + d[e] ? f : g")) if isinstance(n, Identifier)]
    assert sorted(names) == ["a", "c", "d", "e", "f", "g"]


@pytest.mark.parametrize(
    "text, position, fragment",
    [
        ("${", 0, "unterminated"),
        ("hello ${name", 6, "unterminated"),
        ("${}", 2, "empty expression"),
        ("${  }", 2, "empty expression"),
        ("${a +}", 5, "end of expression"),
        ("${a b}", 4, "unexpected 'b'"),
        ("${a @ b}", 4, "unexpected character '@'"),
        ("x ${ (a }", 8, "expected ')'"),
        ("${a ? b}", 7, "expected ':'"),
        ("${f(1,)}", 6, "unexpected ')'"),
        ("ok ${a} then ${b ==}", 19, "end of expression"),
        ("${'unclosed}", 2, "unterminated"),
    ],
)
def test_syntax_errors_have_positions(text, position, fragment):
    with pytest.raises(JuelSyntaxError) as caught:
        parse_template(text)
    if fragment == "unterminated" and text == "${'unclosed}":
        position = 0  # the quote swallows the brace: the ${ is unterminated
    assert caught.value.position == position
    assert fragment in str(caught.value)


def test_error_line_and_column_in_multiline_text():
    with pytest.raises(JuelSyntaxError) as caught:
        parse_template("line one\n  ${a +* b}")
    assert (caught.value.line, caught.value.column) == (2, 8)  # the "*"


def test_bare_expression_parser():
    assert parse_expression("a && b").op == "&&"
    with pytest.raises(JuelSyntaxError):
        parse_expression("a &&")


def test_deep_parentheses_do_not_blow_the_stack():
    depth = 5000
    node = expr("(" * depth + "x" + ")" * depth)
    assert node == Identifier("x", 2 + depth)


def test_ast_is_immutable():
    node = expr("a")
    with pytest.raises(AttributeError):
        node.name = "b"  # type: ignore[misc]
