"""Values crossing the sandbox boundary: variables in (as JSON), what a script did out.

Values cross as JSON: dates become ISO strings, decimals numbers, sets and tuples lists; a
value that is not JSON (or a NaN or infinite float) makes the script fail before it runs.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import decimal
import json
from typing import Any

from chalicelib.errors import ProcessFailure

from .analysis import bindable
from .limits import CONSOLE_LIMITS

__all__ = [
    "ScriptResult",
    "check_passable",
    "encode",
    "envelope",
    "payload",
    "outcome",
    "read_globals",
]


@dataclasses.dataclass(frozen=True)
class ScriptResult:
    """What a script did: variables it set, its console output and its last value.

    ``changed`` holds ``setVariable`` calls (and auto-stored globals), ``changed_local`` the
    ``setVariableLocal`` calls, ``removed`` the ``removeVariable`` names. ``result`` is the
    value of the script's last expression statement (for ``flowable:resultVariable``).
    """

    changed: dict[str, Any]
    console: list[str]
    result: Any = None
    changed_local: dict[str, Any] = dataclasses.field(default_factory=dict)
    removed: tuple[str, ...] = ()


_PLAIN = (str, int, bool, type(None))


def check_passable(
    variables: dict[str, Any], activity_id: str | None, checked: dict[int, Any] | None
) -> None:
    """Raise as :func:`payload` would if these values were passed (without encoding them).

    ``checked`` (a pool's memo, id(value) -> value) skips lists and dicts found JSON-able
    before, and remembers the ones found now.
    """
    for name, value in variables.items():
        if isinstance(value, _PLAIN):
            continue
        if checked is not None and checked.get(id(value)) is value:
            continue
        if not _passable(value):
            payload({name: value}, activity_id, None, None, None)  # raises with the reason
        if checked is not None and isinstance(value, (list, dict)):
            checked[id(value)] = value


def _passable(value: Any) -> bool:
    """True when ``value`` is plain JSON (finite floats); False means: ask ``json.dumps``."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is float:
        return value == value and value not in (float("inf"), float("-inf"))
    if kind is list or kind is tuple:
        return all(_passable(item) for item in value)
    if kind is dict:
        return all(type(key) is str and _passable(item) for key, item in value.items())
    return False


def _json_default(value: Any) -> Any:
    if isinstance(value, _dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(_dt.UTC).replace(tzinfo=None)
            return value.isoformat(timespec="milliseconds") + "Z"
        return value.isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


#: ``json.dumps(..., default=_json_default, allow_nan=False)``, made once (not per script)
_PAYLOAD_JSON = json.JSONEncoder(default=_json_default, allow_nan=False)


def encode(variables: dict[str, Any], activity_id: str | None) -> str:
    """The variables as JSON (ProcessFailure when they cannot be passed)."""
    try:
        return _PAYLOAD_JSON.encode(variables)
    except (TypeError, ValueError) as exc:
        raise ProcessFailure(
            "script", f"Process variables cannot be passed to the script: {exc}", activity_id
        ) from None


def envelope(encoded: str, names: str, meta: tuple[str | None, ...]) -> str:
    """What a fresh context's prelude reads: variables (JSON), names bound, meta, limits."""
    activity_id, process_instance_id, execution_id, business_key = meta
    rest = json.dumps(
        {
            "globals": names.split(",") if names else [],
            "meta": {
                "activityId": activity_id,
                "processInstanceId": process_instance_id,
                "executionId": execution_id,
                "businessKey": business_key,
            },
            "limits": CONSOLE_LIMITS,
        }
    )
    return '{"variables":' + encoded + "," + rest[1:]


def payload(
    variables: dict[str, Any],
    activity_id: str | None,
    process_instance_id: str | None,
    execution_id: str | None,
    business_key: str | None,
) -> str:
    """:func:`envelope` of these variables (every bindable name bound as a global)."""
    names = ",".join(name for name in variables if bindable(name))
    return envelope(
        encode(variables, activity_id),
        names,
        (activity_id, process_instance_id, execution_id, business_key),
    )


def outcome(collected: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of :class:`ScriptResult` from what a prelude collected, plus
    ``_log``: the console lines with their levels."""
    changed = {**collected["autoStored"], **collected["changed"]}
    console = [line for _, line in collected["console"]]
    if collected["dropped"]:
        console.append(f"... {collected['dropped']} more console line(s) dropped")
    return {
        "changed": changed,
        "console": console,
        "result": collected["result"],
        "changed_local": collected["local"],
        "removed": tuple(collected["removed"]),
        "_log": collected["console"],
    }


def read_globals(bound: list[str]) -> str:
    """A script reading each bound global (``let`` in the script may have shadowed it)."""
    reads = ",".join(
        f'"{name}":(typeof {name}==="undefined"?undefined:{name})' for name in bound
    )  # names are checked identifiers (see payload)
    return "({" + reads + "})"
