"""JUEL value semantics: coercions, operators, property access and the value-method whitelist.

Everything here works on plain data (``None``, ``bool``, ``int``, ``float``, ``str``, ``list``,
``dict``) the way JUEL (the EL 2.2 reference implementation Flowable uses) treats the Java
equivalents: ``int`` plays Java's ``Long``, ``float`` plays ``Double``. Python's ``bool`` is a
subclass of ``int``, so every numeric check here excludes ``bool`` explicitly.

A rule broken raises :class:`ExpressionError` with a short reason; the evaluator adds the
expression text and turns it into a ``ProcessFailure`` of kind ``expression``.

Value methods (the only methods callable on data; anything else is an error naming the method):

========  =============================================================================
strings   ``length() isEmpty() equals(x) equalsIgnoreCase(x) contains(s) startsWith(s[, i])
          endsWith(s) toLowerCase() toUpperCase() trim() substring(b[, e]) indexOf(s[, i])
          lastIndexOf(s) replace(a, b) split(sep) toString()``
lists     ``size() isEmpty() contains(x) get(i) indexOf(x) toString()``
maps      ``size() isEmpty() get(k) containsKey(k) containsValue(v) toString()``
numbers   ``intValue() longValue() doubleValue() toString()``
booleans  ``toString()``
========  =============================================================================

``split`` takes a literal separator; a separator holding regular-expression metacharacters is
refused rather than run as a regex (Java's ``split`` is regex-based: no ReDoS here).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

__all__ = [
    "ExpressionError",
    "MAX_STRING_LENGTH",
    "type_name",
    "is_number",
    "to_string",
    "to_boolean",
    "to_long",
    "to_double",
    "is_empty",
    "equals",
    "compare",
    "arithmetic",
    "negate",
    "get_property",
    "get_index",
    "call_method",
    "java_equals",
]

#: A string built by a value method (``replace``) may not grow past this many characters.
MAX_STRING_LENGTH = 1_000_000

_LONG = re.compile(r"[+-]?\d+")
_DOUBLE = re.compile(r"[+-]?(?:NaN|Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[fFdD]?)")
_REGEX_META = frozenset(".$|()[]{}^?*+\\")
_JAVA_WHITESPACE = "".join(chr(code) for code in range(33))  # String.trim() strips <= ' '


class ExpressionError(ValueError):
    """A JUEL rule was broken while evaluating (bad coercion, unknown method, ...)."""


def type_name(value: Any) -> str:
    """The Java-flavoured name of a value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Long"
    if isinstance(value, float):
        return "Double"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list):
        return "List"
    if isinstance(value, dict):
        return "Map"
    return type(value).__name__


def is_number(value: Any) -> bool:
    """True for ``int`` and ``float`` but not ``bool``."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_double(value: Any) -> bool:
    return isinstance(value, float)


def _is_double_or_dotted(value: Any) -> bool:
    """JUEL's ``isFloatOrDoubleOrDotEe``: a double, or a string holding ``.``, ``e`` or ``E``."""
    return isinstance(value, float) or (isinstance(value, str) and any(c in value for c in ".eE"))


# --- coercions (EL 2.2 §1.18) -------------------------------------------------------------


def _java_double(value: float) -> str:
    """``Double.toString``: plain between 1e-3 and 1e7, else ``d.dddE±n``; always a ``.``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    if 1e-3 <= abs(value) < 1e7:
        text = repr(value)
        return text if "." in text else text + ".0"
    _, digits, exponent = Decimal(repr(abs(value))).as_tuple()
    scientific = len(digits) - 1 + int(exponent)  # repr gives the shortest round-trip digits
    text = "".join(map(str, digits)).rstrip("0") or "0"
    sign = "-" if value < 0 else ""
    return f"{sign}{text[0]}.{text[1:] or '0'}E{scientific}"


def to_string(value: Any) -> str:
    """EL coercion to String: null is ``""``, booleans ``true``/``false``, Java number text."""
    if value is None:
        return ""
    return _java_text(value)


def _java_text(value: Any) -> str:
    """Java's ``toString`` of a value (inside a collection, null prints as ``null``)."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _java_double(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_java_text(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_java_text(k)}={_java_text(v)}" for k, v in value.items()) + "}"
    return str(value)


def to_boolean(value: Any) -> bool:
    """EL coercion to Boolean: null and ``""`` are false, strings ``"true"`` (any case) true."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.lower() == "true"
    raise ExpressionError(f"Cannot coerce {type_name(value)} to Boolean")


def to_long(value: Any) -> int:
    """EL coercion to Long: null and ``""`` are 0, doubles truncate, strings must be integers."""
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        raise ExpressionError("Cannot coerce Boolean to Long")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return 0 if math.isnan(value) else (2**63 - 1 if value > 0 else -(2**63))
        return int(value)
    if isinstance(value, str) and _LONG.fullmatch(value):
        return int(value)
    raise ExpressionError(f"Cannot coerce {_quote(value)} to Long")


def to_double(value: Any) -> float:
    """EL coercion to Double: null and ``""`` are 0.0, strings parse as Java decimals."""
    if value is None or value == "":
        return 0.0
    if isinstance(value, bool):
        raise ExpressionError("Cannot coerce Boolean to Double")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and _DOUBLE.fullmatch(value.strip()):
        return float(value.strip().rstrip("fFdD").replace("Infinity", "inf"))
    raise ExpressionError(f"Cannot coerce {_quote(value)} to Double")


def _quote(value: Any) -> str:
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"'{shown}' (String)"
    return type_name(value)


def is_empty(value: Any) -> bool:
    """The ``empty`` operator: null, ``""``, an empty list or an empty map."""
    if value is None:
        return True
    if isinstance(value, (str, list, tuple, dict)):
        return len(value) == 0
    return False


# --- operators (EL 2.2 §1.7 and §1.8) -----------------------------------------------------


def java_equals(left: Any, right: Any) -> bool:
    """``Object.equals``: like ``==`` in Python but a Long never equals a Double or a Boolean."""
    if type(left) is not type(right) and not (isinstance(left, dict) and isinstance(right, dict)):
        if not (isinstance(left, (list, tuple)) and isinstance(right, (list, tuple))):
            return False
    if isinstance(left, (list, tuple)):
        return len(left) == len(right) and all(map(java_equals, left, right))
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(
            java_equals(v, right[k]) for k, v in left.items()
        )
    return left == right


def equals(left: Any, right: Any) -> bool:
    """``==``: null equals only null; then Double, Long, Boolean or String coercion, in order."""
    if left is None or right is None:
        return left is None and right is None
    if _is_double(left) or _is_double(right):
        return to_double(left) == to_double(right)
    if is_number(left) or is_number(right):
        return to_long(left) == to_long(right)
    if isinstance(left, bool) or isinstance(right, bool):
        return to_boolean(left) == to_boolean(right)
    if isinstance(left, str) or isinstance(right, str):
        return to_string(left) == to_string(right)
    return java_equals(left, right)


_ORDER: dict[str, Callable[[int], bool]] = {
    "<": lambda c: c < 0,
    "<=": lambda c: c <= 0,
    ">": lambda c: c > 0,
    ">=": lambda c: c >= 0,
}


def _cmp(left: Any, right: Any) -> int:
    return (left > right) - (left < right)


def compare(op: str, left: Any, right: Any) -> bool:
    """``< <= > >=``: any null gives false (except ``null <= null``); coercion as for ``==``."""
    if left is None and right is None:
        return op in ("<=", ">=")
    if left is None or right is None:
        return False
    if _is_double(left) or _is_double(right):
        result = _cmp(to_double(left), to_double(right))
    elif is_number(left) or is_number(right):
        result = _cmp(to_long(left), to_long(right))
    elif isinstance(left, str) or isinstance(right, str):
        result = _cmp(to_string(left), to_string(right))
    elif isinstance(left, bool) and isinstance(right, bool):
        result = _cmp(left, right)
    else:
        raise ExpressionError(f"Cannot compare {type_name(left)} with {type_name(right)}")
    return _ORDER[op](result)


def _java_mod_long(left: int, right: int) -> int:
    if right == 0:
        raise ExpressionError("division by zero")
    remainder = abs(left) % abs(right)
    return -remainder if left < 0 else remainder


def _java_divide(left: float, right: float) -> float:
    if right == 0:
        # Java gives Infinity or NaN here, which no JSON variable can hold: refuse instead.
        raise ExpressionError("division by zero")
    return left / right


def _long(value: int) -> int:
    """Wrap to a signed 64-bit integer, as Java's ``long`` arithmetic does (and bound growth)."""
    return ((value + 2**63) % 2**64) - 2**63


def arithmetic(op: str, left: Any, right: Any) -> int | float:
    """``+ - * / %``: numeric only. Strings are parsed as numbers (``'1' + '2'`` is 3).

    ``/`` always gives a Double; the others give a Long (wrapping at 64 bits like Java) unless
    an operand is a Double or a string holding ``.``, ``e`` or ``E``. Two nulls give 0.
    Division or remainder by zero is an error (Java's Infinity/NaN cannot be stored as JSON).
    """
    if left is None and right is None:
        return 0
    if op == "/":
        return _java_divide(to_double(left), to_double(right))
    if _is_double_or_dotted(left) or _is_double_or_dotted(right):
        a, b = to_double(left), to_double(right)
        if op == "%":
            if b == 0:
                raise ExpressionError("division by zero")
            return math.fmod(a, b)
    else:
        a, b = to_long(left), to_long(right)
        if op == "%":
            return _long(_java_mod_long(a, b))
    result = a + b if op == "+" else a - b if op == "-" else a * b
    return _long(result) if isinstance(result, int) else result


def negate(value: Any) -> int | float:
    """Unary ``-``: null is 0; a string is parsed (Double if it holds ``.``/``e``, else Long)."""
    if value is None:
        return 0
    if isinstance(value, str):
        return -to_double(value) if _is_double_or_dotted(value) else _long(-to_long(value))
    if is_number(value):
        return -value if isinstance(value, float) else _long(-value)
    raise ExpressionError(f"Cannot negate {type_name(value)}")


# --- property and index access ------------------------------------------------------------


def get_property(target: Any, name: str) -> Any:
    """``a.b``: a map key (missing is null); null stays null; anything else is an error."""
    if target is None:
        return None
    if isinstance(target, dict):
        return target.get(name)
    raise ExpressionError(f"Property '{name}' not found on type {type_name(target)}")


def get_index(target: Any, key: Any) -> Any:
    """``a[k]``: a map key, or a list index (out of range is null, as JUEL's ListELResolver)."""
    if target is None:
        return None
    if isinstance(target, dict):
        try:
            return target.get(key)
        except TypeError:  # an unhashable key (a list or map) is no key of a map
            return None
    if isinstance(target, (list, tuple)):
        if key is None or isinstance(key, bool) or not isinstance(key, (int, float, str)):
            raise ExpressionError(f"Cannot use {type_name(key)} as a list index")
        index = to_long(key)
        return target[index] if 0 <= index < len(target) else None
    raise ExpressionError(f"Cannot index into type {type_name(target)}")


# --- the value-method whitelist -----------------------------------------------------------


def _text_arg(value: Any, method: str) -> str:
    if not isinstance(value, str):
        raise ExpressionError(f"{method}() expects a String, got {type_name(value)}")
    return value


def _index_arg(value: Any, method: str) -> int:
    if not is_number(value) and not isinstance(value, str):
        raise ExpressionError(f"{method}() expects a number, got {type_name(value)}")
    return to_long(value)


def _substring(text: str, begin: Any, end: Any = None) -> str:
    start = _index_arg(begin, "substring")
    stop = len(text) if end is None else _index_arg(end, "substring")
    if not 0 <= start <= stop <= len(text):
        raise ExpressionError(f"substring({start}, {stop}) out of range for length {len(text)}")
    return text[start:stop]


def _replace(text: str, old: Any, new: Any) -> str:
    old, new = to_string(old), to_string(new)
    if old:
        grown = len(text) + text.count(old) * (len(new) - len(old))
    else:
        grown = len(text) + (len(text) + 1) * len(new)
    if grown > MAX_STRING_LENGTH:
        raise ExpressionError(f"replace() would build a string over {MAX_STRING_LENGTH} characters")
    if not old:  # Java inserts the replacement between every character and at both ends
        return new + new.join(text) + new if text else new
    return text.replace(old, new)


def _split(text: str, separator: Any) -> list[str]:
    separator = _text_arg(separator, "split")
    if not separator or any(char in _REGEX_META for char in separator):
        raise ExpressionError(
            "split() takes a literal separator; regular expressions are not supported"
        )
    parts = text.split(separator)
    while len(parts) > 1 and parts[-1] == "":  # Java drops trailing empty strings
        parts.pop()
    return parts if text else [""]


def _starts_with(text: str, prefix: Any, offset: Any = 0) -> bool:
    return text.startswith(_text_arg(prefix, "startsWith"), _index_arg(offset, "startsWith"))


def _index_of(text: str, needle: Any, start: Any = 0) -> int:
    return text.find(_text_arg(needle, "indexOf"), max(0, _index_arg(start, "indexOf")))


def _list_index_of(items: list, value: Any) -> int:
    return next((i for i, item in enumerate(items) if java_equals(item, value)), -1)


# name -> (allowed argument counts, implementation taking the target then the arguments)
_Method = tuple[tuple[int, ...], Callable[..., Any]]

_STRING_METHODS: dict[str, _Method] = {
    "length": ((0,), len),
    "isEmpty": ((0,), lambda s: not s),
    "equals": ((1,), lambda s, x: isinstance(x, str) and s == x),
    "equalsIgnoreCase": ((1,), lambda s, x: isinstance(x, str) and s.lower() == x.lower()),
    "contains": ((1,), lambda s, x: _text_arg(x, "contains") in s),
    "startsWith": ((1, 2), _starts_with),
    "endsWith": ((1,), lambda s, x: s.endswith(_text_arg(x, "endsWith"))),
    "toLowerCase": ((0,), str.lower),
    "toUpperCase": ((0,), str.upper),
    "trim": ((0,), lambda s: s.strip(_JAVA_WHITESPACE)),
    "substring": ((1, 2), _substring),
    "indexOf": ((1, 2), _index_of),
    "lastIndexOf": ((1,), lambda s, x: s.rfind(_text_arg(x, "lastIndexOf"))),
    "replace": ((2,), _replace),
    "split": ((1,), _split),
    "toString": ((0,), lambda s: s),
}

_LIST_METHODS: dict[str, _Method] = {
    "size": ((0,), len),
    "isEmpty": ((0,), lambda items: not items),
    "contains": ((1,), lambda items, x: any(java_equals(item, x) for item in items)),
    "get": ((1,), lambda items, i: _list_get(items, i)),
    "indexOf": ((1,), _list_index_of),
    "toString": ((0,), _java_text),
}

_MAP_METHODS: dict[str, _Method] = {
    "size": ((0,), len),
    "isEmpty": ((0,), lambda mapping: not mapping),
    "get": ((1,), get_index),
    "containsKey": ((1,), lambda mapping, k: isinstance(k, str) and k in mapping),
    "containsValue": ((1,), lambda mapping, v: any(java_equals(x, v) for x in mapping.values())),
    "toString": ((0,), _java_text),
}

_NUMBER_METHODS: dict[str, _Method] = {
    "intValue": ((0,), to_long),
    "longValue": ((0,), to_long),
    "doubleValue": ((0,), to_double),
    "toString": ((0,), _java_text),
}

_BOOLEAN_METHODS: dict[str, _Method] = {"toString": ((0,), _java_text)}


def _list_get(items: list, index: Any) -> Any:
    position = _index_arg(index, "get")
    if not 0 <= position < len(items):
        raise ExpressionError(f"get({position}) out of range for size {len(items)}")
    return items[position]


def _methods_for(target: Any) -> dict[str, _Method]:
    if isinstance(target, str):
        return _STRING_METHODS
    if isinstance(target, bool):
        return _BOOLEAN_METHODS
    if is_number(target):
        return _NUMBER_METHODS
    if isinstance(target, (list, tuple)):
        return _LIST_METHODS
    if isinstance(target, dict):
        return _MAP_METHODS
    return {}


def call_method(target: Any, name: str, args: list[Any]) -> Any:
    """Call whitelisted method ``name`` on a data value; any other method is an error."""
    if target is None:
        raise ExpressionError(f"Cannot call method '{name}' on null")
    entry = _methods_for(target).get(name)
    if entry is None:
        raise ExpressionError(f"Method '{name}' is not allowed on type {type_name(target)}")
    arities, function = entry
    if len(args) not in arities:
        raise ExpressionError(
            f"Method '{name}' on type {type_name(target)} takes "
            f"{' or '.join(map(str, arities))} argument(s), got {len(args)}"
        )
    return function(target, *args)
