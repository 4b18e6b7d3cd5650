"""Bounded input: the limits every request and script is held to (DECISIONS.md, "Bounded work
per request").

Each limit is a setting (``chalicelib.settings``, listed in ``docs/configuration.md``) and each
breach is a :class:`LimitExceeded`: a 400 whose message and ``detail`` name the setting
(``limit``), its value (``maximum``) and the field at fault (``field``), raised before anything
is written. The checks here are pure and cheap; the engine, the request parser and the HTTP edge
call them:

* JSON nesting (:func:`check_depth`): request bodies and every variable value, so no recursive
  code downstream (records, scripts, encoders) ever sees more than ``json_depth`` levels;
* one variable's encoded size (:func:`check_variable`), an instance's variables (count and bytes,
  :func:`check_instance_variables`) and the variables one request or one script sets
  (:func:`check_count`);
* strings that become DynamoDB keys or index keys (:func:`check_key`): names, business keys,
  assignees, candidates, ids, message and signal names;
* the encoded size of a response (:func:`check_response`).

Sizes are those of the compact UTF-8 JSON the storage layer writes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .errors import BadRequest

__all__ = [
    "Limits",
    "LimitExceeded",
    "DEFAULT_LIMITS",
    "SETTING_NAMES",
    "check_depth",
    "depth_exceeds",
    "encoded_size",
    "check_variable",
    "check_count",
    "check_key",
    "check_instance_variables",
    "check_response",
    "response_fits",
]

#: The setting that holds each limit (the name a refusal gives).
SETTING_NAMES = {
    "json_depth": "WORKFLOW_MAX_JSON_DEPTH",
    "variable_bytes": "WORKFLOW_MAX_VARIABLE_BYTES",
    "instance_variable_bytes": "WORKFLOW_MAX_INSTANCE_VARIABLE_BYTES",
    "instance_variables": "WORKFLOW_MAX_INSTANCE_VARIABLES",
    "variables_per_request": "WORKFLOW_MAX_VARIABLES_PER_REQUEST",
    "key_length": "WORKFLOW_MAX_KEY_LENGTH",
    "response_bytes": "WORKFLOW_MAX_RESPONSE_BYTES",
}


@dataclass(frozen=True)
class Limits:
    """The input limits (each a setting; see ``SETTING_NAMES``)."""

    #: levels of JSON nesting in a request body or a variable value (DECISIONS.md: <= 64)
    json_depth: int = 64
    #: compact UTF-8 JSON bytes of one variable's value
    variable_bytes: int = 256 * 1024
    #: compact UTF-8 JSON bytes of all variables of one instance (every scope)
    instance_variable_bytes: int = 4 * 1024 * 1024
    #: variables one instance holds (every scope)
    instance_variables: int = 10_000
    #: variables one request body or one script sets
    variables_per_request: int = 200
    #: characters of a string that becomes a storage key: names, business keys, users, ids
    key_length: int = 255
    #: bytes of one response body (Lambda answers at most 6 MB)
    response_bytes: int = 5_800_000


DEFAULT_LIMITS = Limits()


class LimitExceeded(BadRequest):
    """A request or script went past one of the input limits: nothing was written."""

    def __init__(self, limit: str, maximum: int, field: str, message: str, **extra: Any):
        self.limit = limit
        self.maximum = maximum
        self.field = field
        detail: dict[str, Any] = {"limit": limit, "maximum": maximum, "field": field, **extra}
        super().__init__(f"{message} ({limit} is {maximum})", detail)


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
#: JSON bytes of one character at most (``\u001f``; UTF-8 needs at most 4)
_WORST_CHAR = 6
_SCALARS = (bool, int, float, type(None))


def depth_exceeds(value: Any, maximum: int) -> bool:
    """True when ``value`` nests lists and dicts deeper than ``maximum`` levels (iterative: a
    value of any depth is measured without recursion; a scalar is level 0)."""
    if not isinstance(value, (dict, list, tuple)):
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if level > maximum:
            return True
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, (dict, list, tuple)):
                stack.append((child, level + 1))
    return False


def check_depth(value: Any, limits: Limits, field: str) -> None:
    """:class:`LimitExceeded` when ``value`` nests deeper than ``limits.json_depth``."""
    if depth_exceeds(value, limits.json_depth):
        raise LimitExceeded(
            SETTING_NAMES["json_depth"],
            limits.json_depth,
            field,
            f"'{field}' is nested deeper than {limits.json_depth} levels",
        )


def encoded_size(value: Any) -> int:
    """Bytes of ``value`` as compact UTF-8 JSON (what storage writes). A value JSON cannot
    hold (NaN, a non-string key...) is measured by its ``repr``: storage refuses it anyway."""
    if isinstance(value, str) and value.isascii() and value.isprintable():
        return len(value) + 2 + value.count('"') + value.count("\\")
    try:
        return len(_ENCODER.encode(value).encode("utf-8"))
    except (TypeError, ValueError):
        return len(repr(value).encode("utf-8"))


def _size_at_most(value: Any) -> int | None:
    """A cheap upper bound of :func:`encoded_size` for scalars (None: measure it)."""
    if isinstance(value, str):
        return len(value) * _WORST_CHAR + 2
    if isinstance(value, _SCALARS):
        return 32
    return None


def check_variable(name: Any, value: Any, limits: Limits) -> None:
    """One variable as it is set: its name (a storage key part), its nesting and its size."""
    if not isinstance(name, str):
        return
    check_key(name, limits, "variable name")
    bound = _size_at_most(value)
    if bound is not None and bound <= limits.variable_bytes:
        return
    check_depth(value, limits, name)
    size = encoded_size(value)
    if size > limits.variable_bytes:
        raise LimitExceeded(
            SETTING_NAMES["variable_bytes"],
            limits.variable_bytes,
            name,
            f"Variable '{name}' is {size} bytes as JSON, more than {limits.variable_bytes}",
            size=size,
        )


def check_count(count: int, limits: Limits, field: str, what: str) -> None:
    """:class:`LimitExceeded` when one request or one script (``what``) sets more variables
    than ``limits.variables_per_request``."""
    if count > limits.variables_per_request:
        raise LimitExceeded(
            SETTING_NAMES["variables_per_request"],
            limits.variables_per_request,
            field,
            f"{what} sets {count} variables, more than {limits.variables_per_request}",
            count=count,
        )


def check_key(value: Any, limits: Limits, field: str) -> None:
    """:class:`LimitExceeded` when a string that becomes a storage key is too long."""
    if isinstance(value, str) and len(value) > limits.key_length:
        shown = value[:40] + "..."
        raise LimitExceeded(
            SETTING_NAMES["key_length"],
            limits.key_length,
            field,
            f"'{field}' is {len(value)} characters long, more than {limits.key_length} ('{shown}')",
            length=len(value),
        )


def check_instance_variables(values: Iterable[Any], limits: Limits, instance_id: str) -> None:
    """The count and total size of one instance's variable values (every scope)."""
    values = list(values)
    if len(values) > limits.instance_variables:
        raise LimitExceeded(
            SETTING_NAMES["instance_variables"],
            limits.instance_variables,
            "variables",
            f"Process instance {instance_id} would hold {len(values)} variables, more than "
            f"{limits.instance_variables}",
            count=len(values),
        )
    maximum = limits.instance_variable_bytes
    # scalars by their cheap upper bound, containers exactly; all exactly only when that is over
    total = 0
    for value in values:
        at_most = _size_at_most(value)
        total += encoded_size(value) if at_most is None else at_most
    if total <= maximum:
        return
    total = sum(encoded_size(value) for value in values)
    if total > maximum:
        raise LimitExceeded(
            SETTING_NAMES["instance_variable_bytes"],
            maximum,
            "variables",
            f"The variables of process instance {instance_id} would take {total} bytes as "
            f"JSON, more than {maximum}",
            size=total,
        )


def response_fits(body: str | bytes, limits: Limits) -> bool:
    """Whether a response body is within ``limits.response_bytes``."""
    if len(body) * 4 <= limits.response_bytes:  # UTF-8 takes at most 4 bytes a character
        return True
    size = len(body.encode("utf-8")) if isinstance(body, str) else len(body)
    return size <= limits.response_bytes


def check_response(body: str | bytes, limits: Limits, content: Any = None) -> None:
    """:class:`LimitExceeded` when a response body is larger than ``limits.response_bytes``;
    when ``content`` (what ``body`` encodes) is a dict, its largest top-level field is named as
    at fault (and the ten largest listed, with their sizes, in the error's detail)."""
    if response_fits(body, limits):
        return
    size = len(body.encode("utf-8")) if isinstance(body, str) else len(body)
    fields = content.items() if isinstance(content, dict) else ()
    ranked = sorted(
        ((str(name), encoded_size(value)) for name, value in fields),
        key=lambda pair: pair[1],
        reverse=True,
    )
    largest = ranked[0][0] if ranked else ""
    raise LimitExceeded(
        SETTING_NAMES["response_bytes"],
        limits.response_bytes,
        largest,
        f"The response would be {size} bytes, more than {limits.response_bytes}; its largest "
        f"field is '{largest}': read less at a time (_fields, or a smaller _pageSize)",
        size=size,
        fields={name: nbytes for name, nbytes in ranked[:10]},
    )
