"""The bodies of ``execution?_action=message|signal|trigger``, parsed (400 naming the field
at fault).

A null trigger field (``processVariables``; ``transientVariables`` for trigger) means the
action is queued as a job (DECISIONS.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...errors import BadRequest

__all__ = [
    "MessageRequest",
    "SignalRequest",
    "TriggerRequest",
    "parse_message",
    "parse_signal",
    "parse_trigger",
]


@dataclass(frozen=True)
class MessageRequest:
    name: str
    execution_id: str | None
    instance_id: str | None
    business_key: str | None
    variables: dict | None  # None: queue a job


@dataclass(frozen=True)
class SignalRequest:
    name: str
    execution_id: str | None
    variables: dict | None


@dataclass(frozen=True)
class TriggerRequest:
    execution_id: str
    variables: dict | None
    transient: dict | None  # non-null: synchronous


def _object(body: Any) -> dict:
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object")
    return body


def _string(body: Mapping[str, Any], name: str, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise BadRequest(f"The field '{name}' is required", detail={"field": name})
        return None
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"The field '{name}' must be a non-empty string", detail={"field": name})
    return value


def _variables(body: Mapping[str, Any], name: str) -> dict | None:
    value = body.get(name)
    if value is not None and not isinstance(value, dict):
        raise BadRequest(
            f"The field '{name}' must be a JSON object or null", detail={"field": name}
        )
    return value


def _required(body: Mapping[str, Any], name: str) -> str:
    value = _string(body, name, True)
    if value is None:  # not reached: a missing required field is a 400 in ``_string``
        raise BadRequest(f"The field '{name}' is required", detail={"field": name})
    return value


def parse_message(body: Any) -> MessageRequest:
    """The message body, or 400 naming the field at fault."""
    body = _object(body)
    return MessageRequest(
        _required(body, "messageName"),
        _string(body, "executionId"),
        _string(body, "processInstanceId"),
        _string(body, "businessKey"),
        _variables(body, "processVariables"),
    )


def parse_signal(body: Any) -> SignalRequest:
    """The signal body, or 400 naming the field at fault."""
    body = _object(body)
    return SignalRequest(
        _required(body, "signalName"),
        _string(body, "executionId"),
        _variables(body, "processVariables"),
    )


def parse_trigger(body: Any) -> TriggerRequest:
    """The trigger body, or 400 naming the field at fault."""
    body = _object(body)
    return TriggerRequest(
        _required(body, "executionId"),
        _variables(body, "processVariables"),
        _variables(body, "transientVariables"),
    )
