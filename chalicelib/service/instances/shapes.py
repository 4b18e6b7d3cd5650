"""The JSON shapes of running and historic process instances (api-reference.md §8), and the
instance-scope variables they show.

``HIDDEN_VARIABLES`` are never shown, by any route (instances and tasks alike).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from ...clock import parse_iso
from ...errors import NotFound
from ..container import Services
from ..definitions import cache as definitions
from ..repositories.carried import visible
from ..repositories.history import historic_variables
from ..repositories.instances import HIDDEN_VARIABLES

__all__ = [
    "HIDDEN_VARIABLES",
    "ITEM_FIELDS",
    "DefinitionNames",
    "visible",
    "instance_item",
    "history_item",
    "history_variables",
]

#: api-reference.md §8 process instance item fields (plus Flowable's ``processDefinitionKey``)
ITEM_FIELDS = frozenset(
    {
        "_id",
        "processInstanceId",
        "processDefinitionId",
        "processDefinitionKey",
        "processDefinitionResourceName",
        "businessKey",
        "startUserId",
        "startTime",
        "endTime",
        "durationInMillis",
        "startActivityId",
        "endActivityId",
        "deleteReason",
        "superProcessInstanceId",
        "tenantId",
        "processVariables",
    }
)


class DefinitionNames(dict):
    """``definition id -> name`` for one request (names come from the definition cache)."""

    def __init__(self, container: Services):
        super().__init__()
        self.container = container

    def __missing__(self, definition_id: str) -> str | None:
        try:
            name = definitions.get_definition(self.container, definition_id).record.get("name")
        except NotFound:  # deleted since; the instance (or its history) outlives it
            name = None
        self[definition_id] = name
        return name


def instance_item(
    header: Mapping[str, Any], names: Mapping[str, str | None], variables: Mapping[str, Any]
) -> dict[str, Any]:
    """The §8 item of a running instance, from its header record."""
    return {
        "_id": header["id"],
        "processInstanceId": header["id"],
        "processDefinitionId": header["definition_id"],
        "processDefinitionKey": header.get("definition_key"),
        "processDefinitionResourceName": names[header["definition_id"]],
        "businessKey": header.get("business_key"),
        "startUserId": header.get("start_user_id"),
        "startTime": header.get("start_time"),
        "endTime": header.get("end_time"),
        "durationInMillis": _duration(header.get("start_time"), header.get("end_time")),
        "startActivityId": header.get("start_activity_id"),
        "endActivityId": header.get("end_activity_id"),
        "deleteReason": header.get("delete_reason"),
        "superProcessInstanceId": header.get("super_instance_id"),
        "tenantId": header.get("tenant_id") or "",
        "processVariables": dict(variables),
    }


def history_item(
    record: Mapping[str, Any], names: Mapping[str, str | None], variables: Mapping[str, Any]
) -> dict[str, Any]:
    """The §8 item of a historic process instance, from its ``#process`` record."""
    return {
        "_id": record["id"],
        "processInstanceId": record["id"],
        "processDefinitionId": record.get("processDefinitionId"),
        "processDefinitionKey": record.get("processDefinitionKey"),
        "processDefinitionResourceName": names[cast(str, record.get("processDefinitionId"))],
        "businessKey": record.get("businessKey"),
        "startUserId": record.get("startUserId"),
        "startTime": record.get("startTime"),
        "endTime": record.get("endTime"),
        "durationInMillis": record.get("durationInMillis"),
        "startActivityId": record.get("startActivityId"),
        "endActivityId": record.get("endActivityId"),
        "deleteReason": record.get("deleteReason"),
        "superProcessInstanceId": record.get("superProcessInstanceId"),
        "tenantId": record.get("tenantId") or "",
        "processVariables": dict(variables),
    }


def _duration(start: str | None, end: str | None) -> int | None:
    if not start or not end:
        return None
    return int((parse_iso(end) - parse_iso(start)).total_seconds() * 1000)


def history_variables(container: Services, instance_id: str) -> dict[str, Any]:
    """Instance-scope variables kept by history (history level ``activity`` and up), else {}."""
    page = historic_variables(container.store, instance_id, scope_id=instance_id)
    return visible((item.data["name"], item.data.get("value")) for item in page.items)
