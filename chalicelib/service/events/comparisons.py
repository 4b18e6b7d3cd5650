"""Typed variable comparisons of ``execution`` queries (api-reference §3.5): one
``<prefix>Name/Value/ValueType/Operator`` group of ``filtered-query`` parameters.

``<prefix>ValueType`` is ``string`` (default), ``long``/``integer``, ``double``, ``boolean`` or
``date`` (ISO-8601); ``<prefix>Operator`` ``equals`` (default), ``notEquals``, ``greaterThan``,
``greaterThanOrEqual``, ``lessThan``, ``lessThanOrEqual``, ``like``, ``equalsIgnoreCase`` or
``likeIgnoreCase`` (LIKE: ``%`` and ``_``). A variable that is absent, or whose stored type does
not fit the requested one, matches nothing (Flowable's typed comparison). Bad operator, type or
value: 400 naming the parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ...clock import parse_iso
from ...crest.like import LikePattern
from ...crest.request import CrestRequest
from ...errors import BadRequest

__all__ = ["OPERATORS", "VALUE_TYPES", "Comparison", "comparison"]

OPERATORS = (
    "equals",
    "notEquals",
    "greaterThan",
    "greaterThanOrEqual",
    "lessThan",
    "lessThanOrEqual",
    "like",
    "equalsIgnoreCase",
    "likeIgnoreCase",
)
VALUE_TYPES = ("string", "long", "integer", "double", "boolean", "date")
_MISSING = object()


class Comparison:
    """One ``<prefix>Name/Value/ValueType/Operator`` comparison, checked when built."""

    def __init__(self, prefix: str, name: str, value: str, value_type: str, operator: str):
        self.name, self.operator, self.type = name, operator, value_type
        if operator not in OPERATORS:
            raise BadRequest(
                f"The value '{operator}' for parameter '{prefix}Operator' is not "
                f"one of {', '.join(OPERATORS)}"
            )
        if value_type not in VALUE_TYPES:
            raise BadRequest(
                f"The value '{value_type}' for parameter '{prefix}ValueType' is "
                f"not one of {', '.join(VALUE_TYPES)}"
            )
        text_only = operator in ("like", "equalsIgnoreCase", "likeIgnoreCase")
        if text_only and value_type != "string":
            raise BadRequest(
                f"The operator '{operator}' of parameter '{prefix}Operator' needs "
                f"{prefix}ValueType string"
            )
        ordered = operator not in ("equals", "notEquals") and not text_only
        if ordered and value_type == "boolean":
            raise BadRequest(
                f"The operator '{operator}' of parameter '{prefix}Operator' cannot compare booleans"
            )
        self.expected = _parse(prefix, value, value_type)
        if operator in ("like", "likeIgnoreCase"):
            self.pattern = LikePattern(value, ignore_case=operator == "likeIgnoreCase")

    def matches(self, variables: Mapping[str, Any]) -> bool:
        actual = _typed(variables.get(self.name, _MISSING), self.type)
        if actual is _MISSING:
            return False
        op, expected = self.operator, self.expected
        if op == "equals":
            return actual == expected
        if op == "notEquals":
            return actual != expected
        if op == "equalsIgnoreCase":
            return actual.casefold() == expected.casefold()
        if op in ("like", "likeIgnoreCase"):
            return self.pattern.matches(actual)
        return {
            "greaterThan": actual > expected,
            "greaterThanOrEqual": actual >= expected,
            "lessThan": actual < expected,
            "lessThanOrEqual": actual <= expected,
        }[op]


def _parse(prefix: str, value: str, value_type: str) -> Any:
    try:
        if value_type in ("long", "integer"):
            return int(value)
        if value_type == "double":
            return float(value)
        if value_type == "boolean":
            if value.lower() not in ("true", "false"):
                raise ValueError(value)
            return value.lower() == "true"
        if value_type == "date":
            return parse_iso(value)
    except (ValueError, TypeError):
        raise BadRequest(
            f"The value '{value}' for parameter '{prefix}Value' is not a {value_type}"
        ) from None
    return value


def _typed(value: Any, value_type: str) -> Any:
    """A stored value as ``value_type``, or ``_MISSING`` when it is not of that type."""
    if value is _MISSING or value is None:
        return _MISSING
    if value_type == "string":
        return value if isinstance(value, str) else _MISSING
    if value_type == "boolean":
        return value if isinstance(value, bool) else _MISSING
    if isinstance(value, bool):
        return _MISSING
    if value_type in ("long", "integer"):
        return (
            value
            if isinstance(value, int) or (isinstance(value, float) and value.is_integer())
            else _MISSING
        )
    if value_type == "double":
        return value if isinstance(value, (int, float)) else _MISSING
    if isinstance(value, str):  # date: stored as ISO text
        try:
            return parse_iso(value)
        except ValueError:
            return _MISSING
    return value if isinstance(value, datetime) else _MISSING


def comparison(request: CrestRequest, prefix: str) -> Comparison | None:
    """The comparison of ``<prefix>*`` parameters, None when absent; 400 when incomplete."""
    name, value = request.param(f"{prefix}Name"), request.param(f"{prefix}Value")
    if name is None and value is None:
        return None
    if not name:
        raise BadRequest(f"The parameter '{prefix}Name' is required with '{prefix}Value'")
    if value is None:
        raise BadRequest(f"The parameter '{prefix}Value' is required with '{prefix}Name'")
    return Comparison(
        prefix,
        name,
        value,
        request.param(f"{prefix}ValueType") or "string",
        request.param(f"{prefix}Operator") or "equals",
    )
