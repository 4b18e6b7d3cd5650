"""JUEL operator and coercion rules, checked as truth tables through ``evaluate``."""

from __future__ import annotations

import pytest

from chalicelib.engine.expressions.evaluate import MappingScope, evaluate
from chalicelib.errors import ProcessFailure

VARS = {
    "i": 3,
    "d": 2.5,
    "s": "abc",
    "n": None,
    "t": True,
    "f": False,
    "num": "7",
    "dec": "1.5",
    "empty_s": "",
    "l": [1, 2],
    "el": [],
    "m": {"k": "v"},
    "em": {},
}


def ev(text, **variables):
    return evaluate(text, MappingScope({**VARS, **variables}))


def fails(text, fragment="", **variables):
    with pytest.raises(ProcessFailure) as info:
        ev(text, **variables)
    assert info.value.kind == "expression"
    assert text in info.value.message
    assert fragment in info.value.message
    return info.value


@pytest.mark.parametrize(
    "text, expected",
    [
        ("${1 == 1}", True),
        ("${1 == 1.0}", True),
        ("${1 == '1'}", True),
        ("${'1' == 1}", True),
        ("${1.5 == '1.5'}", True),
        ("${2 == 3}", False),
        ("${null == null}", True),
        ("${n == null}", True),
        ("${n == 0}", False),
        ("${0 == null}", False),
        ("${'' == null}", False),
        ("${true == 'true'}", True),
        ("${true == 'TRUE'}", True),
        ("${false == 'yes'}", True),
        ("${'a' == 'a'}", True),
        ("${'a' == 'b'}", False),
        ("${l == l}", True),
        ("${m == m}", True),
        ("${1 != 2}", True),
        ("${1 ne 1}", False),
        ("${i eq 3}", True),
        ("${num == 7}", True),
        ("${s == 'abc'}", True),
    ],
)
def test_equality(text, expected):
    assert ev(text) is expected


@pytest.mark.parametrize("text", ["${1 == 'a'}", "${true == 1}", "${1.5 == 'x'}"])
def test_equality_coercion_failures_are_errors(text):
    fails(text, "Cannot coerce")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("${1 < 2}", True),
        ("${2 < 1}", False),
        ("${1 <= 1}", True),
        ("${2 > 1.5}", True),
        ("${'5' < 10}", True),
        ("${'b' > 'a'}", True),
        ("${'10' < '9'}", True),
        ("${3 >= 3}", True),
        ("${i lt 4}", True),
        ("${i gt 4}", False),
        ("${i le 3}", True),
        ("${i ge 4}", False),
        ("${n < 1}", False),
        ("${n > 1}", False),
        ("${1 >= n}", False),
        ("${null <= null}", True),
        ("${null < null}", False),
        ("${false < true}", True),
        ("${'a' < true}", True),
    ],
)
def test_relational(text, expected):
    assert ev(text) is expected


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("${'a' < 1}", "Cannot coerce"),
        ("${l < l}", "Cannot compare"),
        ("${m > 1}", "Cannot coerce"),
        ("${true < 1}", "Cannot coerce"),
    ],
)
def test_incomparable_types_are_errors(text, fragment):
    fails(text, fragment)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("${1 + 2}", 3),
        ("${1 + 2.0}", 3.0),
        ("${'1' + '2'}", 3),
        ("${'1.5' + 1}", 2.5),
        ("${'' + 1}", 1),
        ("${null + 1}", 1),
        ("${null + null}", 0),
        ("${5 - 7}", -2),
        ("${2 * 3}", 6),
        ("${2 * 1.5}", 3.0),
        ("${7 / 2}", 3.5),
        ("${6 / 3}", 2.0),
        ("${7 div 2}", 3.5),
        ("${7 % 3}", 1),
        ("${7 mod 3}", 1),
        ("${-7 % 3}", -1),
        ("${7 % -3}", 1),
        ("${7.5 % 2}", 1.5),
        ("${-i}", -3),
        ("${-d}", -2.5),
        ("${-num}", -7),
        ("${-dec}", -1.5),
        ("${-n}", 0),
        ("${9223372036854775807 + 1}", -9223372036854775808),
        ("${1e3 * 1}", 1000.0),
    ],
)
def test_arithmetic(text, expected):
    result = ev(text)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("${'a' + 'b'}", "Cannot coerce 'a'"),
        ("${s + 1}", "Cannot coerce"),
        ("${true + 1}", "Boolean"),
        ("${l + 1}", "List"),
        ("${1 / 0}", "division by zero"),
        ("${1 % 0}", "division by zero"),
        ("${1.5 % 0}", "division by zero"),
        ("${-t}", "Cannot negate"),
    ],
)
def test_arithmetic_errors(text, fragment):
    fails(text, fragment)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("${true && true}", True),
        ("${true && false}", False),
        ("${false || true}", True),
        ("${false or false}", False),
        ("${true and 'true'}", True),
        ("${n || 'TRUE'}", True),
        ("${!true}", False),
        ("${not f}", True),
        ("${!n}", True),
        ("${!''}", True),
        ("${!'true'}", False),
    ],
)
def test_logic(text, expected):
    assert ev(text) is expected


def test_logic_short_circuits_past_undefined_names():
    assert ev("${false && undefinedName}") is False
    assert ev("${true || undefinedName}") is True
    assert ev("${true ? 'yes' : undefinedName}") == "yes"


@pytest.mark.parametrize("text", ["${1 && true}", "${!1}", "${l || true}"])
def test_logic_rejects_non_booleans(text):
    fails(text, "to Boolean")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("${empty n}", True),
        ("${empty empty_s}", True),
        ("${empty el}", True),
        ("${empty em}", True),
        ("${empty s}", False),
        ("${empty l}", False),
        ("${empty m}", False),
        ("${empty 0}", False),
        ("${not empty s}", True),
        ("${!empty el}", False),
    ],
)
def test_empty(text, expected):
    assert ev(text) is expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("${t ? 1 : 2}", 1),
        ("${f ? 1 : 2}", 2),
        ("${n ? 1 : 2}", 2),
        ("${'true' ? 1 : 2}", 1),
        ("${i > 2 ? 'big' : 'small'}", "big"),
    ],
)
def test_ternary(text, expected):
    assert ev(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("kermit_${i}", "kermit_3"),
        ("${d} and ${n}!", "2.5 and !"),
        ("${t}/${f}", "true/false"),
        ("x${1.0}", "x1.0"),
        ("x${1e20}", "x1.0E20"),
        ("x${0.0001}", "x1.0E-4"),
        ("x${1234567.0}", "x1234567.0"),
        ("x${12345678.0}", "x1.2345678E7"),
        ("x${7/2}", "x3.5"),
        ("${l}-${m}", "[1, 2]-{k=v}"),
        ("a\\${b}", "a${b}"),
        ("plain", "plain"),
        ("", ""),
    ],
)
def test_composite_templates_format_like_java(text, expected):
    assert ev(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("${i}", 3),
        ("${d}", 2.5),
        ("${s}", "abc"),
        ("${n}", None),
        ("${t}", True),
        ("${l}", [1, 2]),
        ("${m}", {"k": "v"}),
        ("#{i}", 3),
    ],
)
def test_single_expression_keeps_its_type(text, expected):
    assert ev(text) == expected
    assert type(ev(text)) is type(expected)


@pytest.mark.parametrize(
    "expected, text, value",
    [
        (str, "${i}", "3"),
        (str, "${n}", ""),
        (str, "${d}", "2.5"),
        (bool, "${'true'}", True),
        (bool, "${n}", False),
        (int, "${'42'}", 42),
        (int, "${2.9}", 2),
        (float, "${'1.5'}", 1.5),
        (float, "${n}", 0.0),
    ],
)
def test_expected_type_coercion(expected, text, value):
    assert evaluate(text, MappingScope(VARS), expected=expected) == value


def test_expected_type_coercion_failure_is_an_expression_failure():
    with pytest.raises(ProcessFailure) as info:
        evaluate("${l}", MappingScope(VARS), expected=int)
    assert info.value.kind == "expression"
