"""_queryFilter: parsing, error positions, rendering round trip, evaluation, planner helper."""

import pytest

from chalicelib.api.errors import error_envelope, status_of
from chalicelib.crest.filter import (
    MAX_DEPTH,
    And,
    Comparison,
    Constant,
    Not,
    Or,
    Presence,
    QueryFilterError,
    equality_paths,
    equality_terms,
    matches,
    parse,
    render,
)
from chalicelib.errors import BadRequest


def eq(field, value):
    return Comparison(tuple(field.split("/")), "eq", value)


# ---------------------------------------------------------------------------------- structure


def test_and_binds_tighter_than_or():
    assert parse("a eq 1 or b eq 2 and c eq 3") == Or((eq("a", 1), And((eq("b", 2), eq("c", 3)))))


def test_and_or_chains_are_flat():
    assert parse("a pr and b pr and c pr") == And(tuple(Presence((x,)) for x in "abc"))
    assert parse("a pr or b pr or c pr") == Or(tuple(Presence((x,)) for x in "abc"))


def test_parentheses_override_precedence():
    assert parse("(a eq 1 or b eq 2) and c eq 3") == And((Or((eq("a", 1), eq("b", 2))), eq("c", 3)))


def test_not_binds_to_the_primary_only():
    assert parse("!a eq 1 and b eq 2") == And((Not(eq("a", 1)), eq("b", 2)))
    assert parse("!(a eq 1 and b eq 2)") == Not(And((eq("a", 1), eq("b", 2))))
    assert parse("! true") == Not(Constant(True))


def test_double_not_needs_parentheses():
    assert parse("!(!a pr)") == Not(Not(Presence(("a",))))
    with pytest.raises(QueryFilterError) as err:
        parse("!!a pr")
    assert (err.value.what, err.value.position) == ("expected a filter expression", 1)


def test_keywords_and_operators_are_case_insensitive():
    assert parse("a EQ 1 AND b Pr OR TRUE") == Or(
        (And((eq("a", 1), Presence(("b",)))), Constant(True))
    )
    assert parse("x Sw 'p'") == Comparison(("x",), "sw", "p")
    assert parse("FALSE") == Constant(False)


def test_pointers_are_case_sensitive_and_slash_optional():
    assert parse("/userName eq 'x'") == parse("userName eq 'x'")
    assert parse("UserName eq 'x'") != parse("userName eq 'x'")
    assert parse("/a/b~1c~0d eq 1").field == ("a", "b/c~d")


def test_every_standard_operator():
    for op in ("eq", "co", "sw", "lt", "le", "gt", "ge"):
        assert parse(f"a {op} 1") == Comparison(("a",), op, 1)


def test_literal_true_or_a_field_named_true():
    assert parse("true") == Constant(True)
    assert parse("(true)") == Constant(True)
    assert parse("true eq 1") == Comparison(("true",), "eq", 1)
    assert parse("false pr") == Presence(("false",))


def test_value_types():
    assert parse("a eq 12").value == 12 and isinstance(parse("a eq 12").value, int)
    assert parse("a eq -3").value == -3
    assert parse("a eq 1.5").value == 1.5 and isinstance(parse("a eq 1.5").value, float)
    assert isinstance(parse("a eq 1e3").value, float)
    assert parse("a eq TRUE").value is True
    assert parse("a eq false").value is False
    assert parse("a eq '12'").value == "12"


def test_ast_distinguishes_int_float_and_bool_values():
    assert parse("a eq 1") != parse("a eq 1.0")
    assert parse("a eq 1") != parse("a eq true")
    assert hash(parse("a eq 1")) == hash(parse("/a  eq  1"))


def test_quoting_both_styles_and_escapes():
    assert parse('a eq "te\\"st"').value == 'te"st'
    assert parse("a eq 'it\\'s'").value == "it's"
    assert parse("a eq 'say \"hi\"'").value == 'say "hi"'
    assert parse('a eq "back\\\\slash"').value == "back\\slash"
    assert parse('a eq "x\\ny"').value == "xny"
    assert parse('a eq "(and or)"').value == "(and or)"
    assert parse('a eq ""').value == ""


def test_no_space_needed_around_parentheses_and_quotes():
    assert parse("(a eq'x')and(b pr)") == And((eq("a", "x"), Presence(("b",))))


def test_extended_operators_only_when_allowed():
    with pytest.raises(QueryFilterError) as err:
        parse("a regex 'x'")
    assert err.value.what == "unsupported operator 'regex'"
    assert parse("a my.op_1 'x'", extended_ops={"MY.OP_1"}) == Comparison(("a",), "my.op_1", "x")


def test_nesting_limit():
    deep = "(" * MAX_DEPTH + "a pr" + ")" * MAX_DEPTH
    assert parse(deep) == Presence(("a",))
    deep_not = "!(" * MAX_DEPTH + "a pr" + ")" * MAX_DEPTH
    assert matches(parse(deep_not), {"a": 1}) is True  # 256 negations
    too_deep = "(" * (MAX_DEPTH + 1) + "a pr" + ")" * (MAX_DEPTH + 1)
    with pytest.raises(QueryFilterError) as err:
        parse(too_deep)
    assert err.value.position == MAX_DEPTH
    assert err.value.what == "nesting deeper than 256 levels"


# --------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "text, what, position",
    [
        ("", "expected a filter expression", 0),
        ("   ", "expected a filter expression", 3),
        ("a", "expected an operator", 1),
        ("a eq", "expected a value", 4),
        ("a eq )", "expected a value", 5),
        ("a eq !", "expected a value", 5),
        ("a eq 1 b", "unexpected 'b'", 7),
        ("a eq 1)", "unexpected ')'", 6),
        ("(a eq 1", "expected ')'", 7),
        ("(a eq 1 b", "expected ')'", 8),
        ("a eq 1 and", "expected a filter expression", 10),
        ("a eq 1 or or b pr", "expected a filter expression", 10),
        ("and eq 1", "expected a filter expression", 0),
        ("'a' eq 1", "expected a filter expression", 0),
        (")", "expected a filter expression", 0),
        ("!", "expected a filter expression", 1),
        ("a eq 'abc", "unterminated string", 5),
        ('a eq "ab\\"', "unterminated string", 5),
        ('a eq "ab\\', "lone backslash at end of string", 8),
        ("a foo 1", "unsupported operator 'foo'", 2),
        ("a = 1", "invalid operator '='", 2),
        ("a e-q 1", "invalid operator 'e-q'", 2),
        ("a ( 1", "expected an operator", 2),
        ("a eq 1.2.3", "invalid value '1.2.3'", 5),
        ("a eq abc", "invalid value 'abc'", 5),
        ("a eq null", "invalid value 'null'", 5),
        ("a eq NaN", "invalid value 'NaN'", 5),
        ("a eq 1_000", "invalid value '1_000'", 5),
        ("a eq 1 and b//c eq 2", "empty segment in JSON pointer", 13),
        ("x pr and / pr", "empty JSON pointer", 9),
        ("  /a~2 eq 1", "invalid escape '~' in JSON pointer", 4),
        ("b/c~ pr", "invalid escape '~' in JSON pointer", 3),
    ],
)
def test_error_positions(text, what, position):
    with pytest.raises(QueryFilterError) as err:
        parse(text)
    assert (err.value.what, err.value.position) == (what, position)
    assert err.value.message == (
        f"The value '{text}' for parameter '_queryFilter' could not be "
        f"parsed as a valid query filter: {what} at position {position}"
    )


def test_error_is_a_bad_request():
    with pytest.raises(BadRequest) as err:
        parse("a eq")
    assert status_of(err.value) == 400
    assert error_envelope(err.value)["reason"] == "Bad Request"


def test_leftmost_fault_is_reported():
    # The unterminated string comes after the first fault and must not be reported.
    with pytest.raises(QueryFilterError) as err:
        parse("a eq 1 ) 'oops")
    assert err.value.position == 7


# ---------------------------------------------------------------------------------- round trip

CORPUS = [
    "true",
    "false",
    "!true",
    "a pr",
    "/a/b pr",
    "a eq 1",
    "a eq -1",
    "a eq 0",
    "a eq 1.5",
    "a eq -2.5e-3",
    "a eq 1e300",
    "a eq true",
    "a eq false",
    "a eq 'x'",
    'a eq "x y"',
    "a eq 'it\\'s'",
    'a eq "q\\"uote"',
    'a eq "back\\\\"',
    "a eq ''",
    "a co 'sub'",
    "a sw 'pre'",
    "a lt 3",
    "a le 3",
    "a gt 3",
    "a ge 3",
    "a eq 1 and b eq 2",
    "a eq 1 or b eq 2",
    "a eq 1 or b eq 2 and c eq 3",
    "(a eq 1 or b eq 2) and c eq 3",
    "a eq 1 and (b eq 2 and c eq 3)",
    "a eq 1 or (b eq 2 or c eq 3)",
    "(a eq 1 or b eq 2) or c eq 3",
    "!(a eq 1 or b eq 2)",
    "!a pr and !(b pr)",
    "!(!(a pr))",
    "x/y~1z~0w eq 'v'",
    "true eq 1",
    "and/x pr",
    "/or eq 1",
    "a eq 'ünïcödé ✓'",
    "startTime ge '2026-01-01T00:00:00.000Z' and startTime lt '2027'",
    "(((a eq 1)))",
    "a!b eq 1",
    "a eq 1 and true or false",
    "a eq 'a\\\\b\\'c\"d'",
    "((a pr or b pr) and (c pr or d pr)) or !(e pr and f pr)",
]


@pytest.mark.parametrize("text", CORPUS)
def test_round_trip(text):
    node = parse(text)
    canonical = render(node)
    assert parse(canonical) == node
    assert render(parse(canonical)) == canonical


def test_render_is_canonical():
    assert render(parse("A  EQ  'x'  AND  b PR")) == '/A eq "x" and /b pr'
    assert render(parse("a eq 1 or (b eq 2 or c eq 3)")) == "/a eq 1 or (/b eq 2 or /c eq 3)"
    assert render(parse("!a pr")) == "!(/a pr)"
    assert render(parse("true eq 1")) == "/true eq 1"
    assert render(parse("a eq 1.0")) == "/a eq 1.0"
    assert render(parse('a eq "q\\"\\\\"')) == '/a eq "q\\"\\\\"'


def test_render_refuses_unwritable_values():
    with pytest.raises(ValueError):
        render(Comparison(("a b",), "eq", 1))
    with pytest.raises(ValueError):
        render(Comparison(("a",), "eq", float("nan")))
    with pytest.raises(TypeError):
        render("a eq 1")


# ---------------------------------------------------------------------------------- evaluator

ITEM = {
    "name": "Alice",
    "age": 30,
    "score": 2.5,
    "active": True,
    "nothing": None,
    "roles": ["admin", "Manager"],
    "numbers": [1, 5, 9],
    "nested": {"key": "v", "n": 4},
    "when": "2026-11-27T20:17:13.123Z",
    "items": [{"id": "x"}],
}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("true", True),
        ("false", False),
        ("!false", True),
        ("name eq 'Alice'", True),
        ("name eq 'alice'", False),
        ("name eq 'Ali'", False),
        ("name co 'LIC'", True),
        ("name co 'bob'", False),
        ("name sw 'al'", True),
        ("name sw 'ice'", False),
        ("age eq 30", True),
        ("age eq 30.0", True),
        ("age eq '30'", False),
        ("age gt 29", True),
        ("age gt 30", False),
        ("age ge 30", True),
        ("age lt 30.5", True),
        ("age le 29", False),
        ("score gt 2", True),
        ("score eq 2.5", True),
        ("age lt 'z'", False),
        ("name gt 1", False),
        ("name gt 'Aa'", True),
        ("name lt 'B'", True),
        ("active eq true", True),
        ("active eq 1", False),
        ("active gt false", True),
        ("age eq true", False),
        ("active co true", True),
        ("age sw 30", True),
        ("age co 3", False),
        ("nothing pr", False),
        ("missing pr", False),
        ("name pr", True),
        ("roles pr", True),
        ("nothing eq 'x'", False),
        ("missing eq 1", False),
        ("!(missing eq 1)", True),
        ("!(nothing pr)", True),
        ("roles eq 'admin'", True),
        ("roles eq 'manager'", False),
        ("roles co 'MAN'", True),
        ("roles sw 'adm'", True),
        ("numbers gt 8", True),
        ("numbers lt 1", False),
        ("numbers eq 5", True),
        ("nested/key eq 'v'", True),
        ("/nested/n ge 4", True),
        ("nested eq 'v'", False),
        ("nested/missing pr", False),
        ("items/0/id eq 'x'", True),
        ("items/1/id pr", False),
        ("items/id eq 'x'", False),
        ("when ge '2026-11-27T00:00:00.000Z'", True),
        ("when lt '2026-11-27T20:17:13.122Z'", False),
        ("name eq 'Alice' and age eq 31", False),
        ("name eq 'Bob' or age eq 30", True),
        ("name eq 'Bob' or age eq 31 or roles eq 'admin'", True),
        ("!(name eq 'Alice') or age eq 31", False),
    ],
)
def test_truth_table(text, expected):
    assert matches(parse(text), ITEM) is expected


def test_multi_valued_field_matches_any_element_even_when_mixed():
    assert matches(parse("x eq 2"), {"x": ["a", None, 2, {"y": 1}]}) is True
    assert matches(parse("x gt 'b'"), {"x": [1, "a", "c"]}) is True
    assert matches(parse("x eq 'q'"), {"x": []}) is False
    assert matches(parse("x pr"), {"x": []}) is True


def test_decimal_numbers_from_dynamodb_compare_as_numbers():
    from decimal import Decimal

    assert matches(parse("n eq 3"), {"n": Decimal("3")}) is True
    assert matches(parse("n gt 2.5"), {"n": Decimal("3")}) is True
    assert matches(parse("n eq '3'"), {"n": Decimal("3")}) is False


def test_allowed_extended_operator_evaluates_false():
    node = parse("name custom 'Alice'", extended_ops=["custom"])
    assert matches(node, ITEM) is False
    assert matches(Not(node), ITEM) is True


# ---------------------------------------------------------------------------------- planner helper


def test_equality_terms():
    assert equality_terms(parse("a eq 1")) == {"a": 1}
    assert equality_terms(parse("a eq 1 and (b eq 'x' and c/d eq 2) and e gt 3 and f pr")) == {
        "a": 1,
        "b": "x",
    }
    assert equality_terms(parse("a eq 1 and a eq 2")) == {"a": 1}
    assert equality_terms(parse("a eq 1 or b eq 2")) == {}
    assert equality_terms(parse("!(a eq 1)")) == {}
    assert equality_terms(parse("a eq 1 and (b eq 2 or c eq 3)")) == {"a": 1}
    assert equality_terms(parse("true")) == {}
    assert equality_terms(parse("a co 'x' and b eq true")) == {"b": True}


def test_referenced_fields_lists_every_pointer_the_filter_reads():
    from chalicelib.crest.filter import parse, referenced_fields

    node = parse("a eq 1 or !(b/c pr) and (d lt 2 or true)")
    assert referenced_fields(node) == {("a",), ("b", "c"), ("d",)}
    assert referenced_fields(parse("true")) == set()


def test_equality_paths():
    assert equality_paths(parse("a/b eq 1 and (c eq 2 and a/b eq 3) and d gt 1")) == {
        ("a", "b"): 1,
        ("c",): 2,
    }
    assert equality_paths(parse("a/b eq 1 or c eq 2")) == {}
