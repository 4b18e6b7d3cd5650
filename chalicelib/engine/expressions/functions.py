"""Flowable's variable functions: ``${variables:get(x)}``, ``${vars:gt(amount, 100)}`` ...

The prefixes ``variables:``, ``vars:`` and ``var:`` all name the same table. The first argument
is a variable *name* (``variables:get(myVar)`` or ``variables:get('myVar')``), never its value,
so these functions never fail on an undefined variable: that is their point.

==========================================  ======================================================
``get(x)``                                  the value, or null when undefined
``getOrDefault(x, d)``                      the value, or ``d`` when undefined or null
``exists(x)``                               whether the variable is defined
``isEmpty(x)`` / ``empty``                  null, ``""`` or an empty list (a map is never empty,
                                            as in Flowable)
``isNotEmpty(x)`` / ``notEmpty``            the opposite
``equals(x, v)`` / ``eq``                   Flowable's equality (an integer variable compares
                                            with ``v`` truncated to an integer)
``notEquals(x, v)`` / ``ne``                the opposite
``lowerThan`` / ``lt``, ``lowerThanOrEquals``  comparisons; false when either side is null;
``/ lte / lessThanOrEquals``, ``greaterThan``  strings compare with strings, booleans with
``/ gt``, ``greaterThanOrEquals / gte``        booleans, numbers with numbers
``contains(x, v...)``                       a string holds every ``v``, or a list holds every ``v``
``containsAny(x, v...)``                    ... holds at least one ``v``
``base64(x)``                               Base64 of a string's UTF-8 bytes (null stays null)
==========================================  ======================================================
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from chalicelib.engine.expressions.values import (
    ExpressionError,
    is_number,
    java_equals,
    to_long,
    type_name,
)

__all__ = ["VARIABLE_PREFIXES", "VARIABLE_FUNCTIONS", "call_variable_function", "Lookup"]

#: The function prefixes Flowable registers for its variable functions.
VARIABLE_PREFIXES = frozenset({"variables", "vars", "var"})

#: ``lookup(name) -> (defined, value)``: reads a variable without failing when it is undefined.
Lookup = Callable[[str], "tuple[bool, Any]"]


def _value(lookup: Lookup, name: str) -> Any:
    return lookup(name)[1]


def _is_empty(lookup: Lookup, name: str) -> bool:
    value = _value(lookup, name)
    if value is None:
        return True
    if isinstance(value, (str, list, tuple)):
        return len(value) == 0
    return False


def _numbers_equal(variable: Any, other: Any) -> bool:
    """Flowable compares in the variable's own type: an integer variable truncates ``other``."""
    if isinstance(variable, int):
        return variable == to_long(other)
    return float(variable) == float(other)


def _equals(lookup: Lookup, name: str, other: Any) -> bool:
    value = _value(lookup, name)
    if value is not None and other is not None and is_number(value) and is_number(other):
        return _numbers_equal(value, other)
    return java_equals(value, other)


def _compare(op: str) -> Callable[[Lookup, str, Any], bool]:
    def compare(lookup: Lookup, name: str, other: Any) -> bool:
        value = _value(lookup, name)
        if value is None or other is None:
            return False
        if is_number(value) and is_number(other):
            # Flowable compares in the variable's type: an integer variable truncates `other`.
            left, right = value, to_long(other) if isinstance(value, int) else float(other)
        elif isinstance(value, (list, tuple, dict)) or isinstance(other, (list, tuple, dict)):
            return False  # lists and maps are not Comparable in Java
        elif type(value) is type(other):
            left, right = value, other
        else:
            raise ExpressionError(
                f"variables:{op} cannot compare {type_name(value)} with {type_name(other)}"
            )
        return {"lt": left < right, "lte": left <= right, "gt": left > right, "gte": left >= right}[
            op
        ]

    return compare


def _holds(container: Any, value: Any) -> bool:
    if isinstance(container, str):
        if value is None:
            return False
        if not isinstance(value, str):
            raise ExpressionError(
                f"variables:contains on a String needs String values, got {type_name(value)}"
            )
        return value in container
    if is_number(value):
        return any(is_number(item) and _numbers_equal(item, value) for item in container)
    return any(java_equals(item, value) for item in container)


def _contains(lookup: Lookup, name: str, *values: Any) -> bool:
    container = _value(lookup, name)
    if not isinstance(container, (str, list, tuple)):
        return False
    return all(_holds(container, value) for value in values)


def _contains_any(lookup: Lookup, name: str, *values: Any) -> bool:
    container = _value(lookup, name)
    if not isinstance(container, (str, list, tuple)):
        return False
    return any(_holds(container, value) for value in values)


def _base64(lookup: Lookup, name: str) -> str | None:
    value = _value(lookup, name)
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, str):
        return base64.b64encode(value.encode("utf-8")).decode("ascii")
    raise ExpressionError("variables:base64 needs a String variable, got " + type_name(value))


def _get_or_default(lookup: Lookup, name: str, default: Any) -> Any:
    value = _value(lookup, name)
    return default if value is None else value


# name -> (minimum extra arguments after the name, maximum or None for any, implementation)
_Entry = tuple[int, "int | None", Callable[..., Any]]

VARIABLE_FUNCTIONS: dict[str, _Entry] = {
    "get": (0, 0, _value),
    "getOrDefault": (1, 1, _get_or_default),
    "exists": (0, 0, lambda lookup, name: lookup(name)[0]),
    "isEmpty": (0, 0, _is_empty),
    "empty": (0, 0, _is_empty),
    "isNotEmpty": (0, 0, lambda lookup, name: not _is_empty(lookup, name)),
    "notEmpty": (0, 0, lambda lookup, name: not _is_empty(lookup, name)),
    "equals": (1, 1, _equals),
    "eq": (1, 1, _equals),
    "notEquals": (1, 1, lambda lookup, name, other: not _equals(lookup, name, other)),
    "ne": (1, 1, lambda lookup, name, other: not _equals(lookup, name, other)),
    "lowerThan": (1, 1, _compare("lt")),
    "lt": (1, 1, _compare("lt")),
    "lowerThanOrEquals": (1, 1, _compare("lte")),
    "lessThanOrEquals": (1, 1, _compare("lte")),
    "lte": (1, 1, _compare("lte")),
    "greaterThan": (1, 1, _compare("gt")),
    "gt": (1, 1, _compare("gt")),
    "greaterThanOrEquals": (1, 1, _compare("gte")),
    "gte": (1, 1, _compare("gte")),
    "contains": (1, None, _contains),
    "containsAny": (1, None, _contains_any),
    "base64": (0, 0, _base64),
}


def call_variable_function(function: str, lookup: Lookup, name: str, args: list[Any]) -> Any:
    """Run ``variables:<function>(name, *args)``; an unknown function or arity is an error."""
    entry = VARIABLE_FUNCTIONS.get(function)
    if entry is None:
        raise ExpressionError(f"Unknown function 'variables:{function}'")
    least, most, implementation = entry
    if len(args) < least or (most is not None and len(args) > most):
        expected = f"{least + 1}" if least == most else f"at least {least + 1}"
        raise ExpressionError(
            f"Function 'variables:{function}' takes {expected} argument(s), got {len(args) + 1}"
        )
    return implementation(lookup, name, *args)
