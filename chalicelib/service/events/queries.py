"""Queries of ``execution``: the executions of running process instances (api-reference §3.5).

Items are Flowable ``Execution`` getters (``_id, activityId, processInstanceId, parentId,
superExecutionId, rootProcessInstanceId, suspended, ended, tenantId, name, description,
referenceId, referenceType, propagatedStageInstanceId``) plus the instance's definition
(``processDefinitionId/Key/Name/Version/Category``), ``businessKey``, ``startTime`` and
``startUserId`` (the instance's), and ``isActive``/``isScope``/``isConcurrent``/``isEventScope``.

Reads (each instance is one Query of its item collection, which gives its executions,
variables and subscriptions at once):

* ``processInstanceId`` or ``executionId`` equality (``filtered-query`` parameter, or an
  ``_id``/``processInstanceId`` equality term of ``_queryFilter``): that one instance;
* ``signalName`` / ``messageName``: the ``event-sort`` index (``signal#<name>``), then the
  instances it names, keeping the subscribed executions;
* otherwise the running-instance listing (sharded ``kindShard-sort`` index, ``instance#0..7``)
  and one Query per instance: the cost grows with the number of running instances.

``processVariable*`` compares one instance-scope variable, ``variable*`` one variable local to
the execution: ``<prefix>Name``, ``<prefix>Value``, ``<prefix>ValueType`` (``string`` default,
``long``/``integer``, ``double``, ``boolean``, ``date``) and ``<prefix>Operator`` (``equals``
default, ``notEquals``, ``greaterThan``, ``greaterThanOrEqual``, ``lessThan``,
``lessThanOrEqual``, ``like``, ``equalsIgnoreCase``, ``likeIgnoreCase``). A variable that is
absent, or whose stored type does not fit the requested one, matches nothing (Flowable's typed
comparison). Bad operator, type or value: 400 naming the parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, cast

from ...clock import format_iso, parse_iso
from ...crest import filter as crest_filter
from ...crest.like import LikePattern
from ...crest.request import CrestRequest
from ...errors import BadRequest, NotFound
from ..container import Services
from ..definitions import cache as definitions
from ..querying import FILTERED_QUERY, QuerySource, date_param, run_query
from ..repositories.instances import instance_records, running_listing, subscribers
from .targets import instance_of_execution

__all__ = [
    "query_executions",
    "execution_source",
    "ITEM_FIELDS",
    "OPERATORS",
    "VALUE_TYPES",
    "Comparison",
    "comparison",
    "filtered_predicate",
    "Row",
]

ITEM_FIELDS = frozenset(
    {
        "_id",
        "activityId",
        "processInstanceId",
        "parentId",
        "superExecutionId",
        "rootProcessInstanceId",
        "suspended",
        "ended",
        "tenantId",
        "name",
        "description",
        "referenceId",
        "referenceType",
        "propagatedStageInstanceId",
        "processDefinitionId",
        "processDefinitionKey",
        "processDefinitionName",
        "processDefinitionVersion",
        "processDefinitionCategory",
        "businessKey",
        "startTime",
        "startUserId",
        "isActive",
        "isScope",
        "isConcurrent",
        "isEventScope",
    }
)
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
#: filtered-query parameters compared for equality, and the item field each reads
EQUAL_PARAMS = {
    "executionId": "_id",
    "executionParentId": "parentId",
    "processDefinitionCategory": "processDefinitionCategory",
    "processDefinitionId": "processDefinitionId",
    "processDefinitionKey": "processDefinitionKey",
    "processDefinitionName": "processDefinitionName",
    "processInstanceBusinessKey": "businessKey",
    "processInstanceId": "processInstanceId",
    "activityId": "activityId",
    "startedBy": "startUserId",
}
#: instances read per page of the listing (each one Query)
INSTANCES_PER_PAGE = 50
_MISSING = object()


class Row(dict):
    """An execution item, plus what filters need and the response never shows."""

    process_variables: Mapping[str, Any] = {}
    local_variables: Mapping[str, Any] = {}
    events: frozenset = frozenset()


# --- typed variable comparisons --------------------------------------------------------------


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


# --- filtered-query --------------------------------------------------------------------------


def _version(request: CrestRequest) -> int | None:
    value = request.param("processDefinitionVersion")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise BadRequest(
            f"The value '{value}' for parameter 'processDefinitionVersion' is not an integer"
        ) from None


def _events(request: CrestRequest) -> list[tuple[str, str]]:
    return [
        (kind, value)
        for kind, param in (("signal", "signalName"), ("message", "messageName"))
        if (value := request.param(param)) is not None
    ]


def filtered_predicate(request: CrestRequest) -> Callable[[dict[str, Any]], bool]:
    """The ``filtered-query`` predicate (unknown parameters are ignored, as in IDM)."""
    terms = {
        field: value
        for param, field in EQUAL_PARAMS.items()
        if (value := request.param(param)) is not None
    }
    version = _version(request)
    after = format_iso(date_param(request, "startedAfter"))
    before = format_iso(date_param(request, "startedBefore"))
    events = _events(request)
    process_var = comparison(request, "processVariable")
    local_var = comparison(request, "variable")

    def predicate(item: dict[str, Any]) -> bool:
        row = cast(Row, item)  # the rows of ``execution_source``
        if any(row.get(field) != value for field, value in terms.items()):
            return False
        if "activityId" in terms and not row.get("isActive"):
            return False  # Flowable's activityId query: active executions only
        if version is not None and row.get("processDefinitionVersion") != version:
            return False
        started = row.get("startTime") or ""
        if after is not None and started < after or before is not None and started > before:
            return False
        if any(event not in row.events for event in events):
            return False
        if process_var is not None and not process_var.matches(row.process_variables):
            return False
        return local_var is None or local_var.matches(row.local_variables)

    return predicate


# --- reading ---------------------------------------------------------------------------------


class _Definitions(dict):
    def __init__(self, container: Services):
        super().__init__()
        self.container = container

    def __missing__(self, definition_id: str) -> Mapping[str, Any]:
        try:
            record = definitions.get_definition(self.container, definition_id).record
        except NotFound:
            record = {}
        self[definition_id] = record
        return record


def _rows(items: Iterable[Any], known: _Definitions) -> list[Row]:
    """The execution rows of one instance's items (none when it has ended)."""
    records = [item.data for item in items if item.data.get("kind")]
    header = next((r for r in records if r["kind"] == "instance"), None)
    if header is None or header.get("end_time"):
        return []
    variables: dict[str, dict[str, Any]] = {}
    events: dict[str, set[tuple[str, str]]] = {}
    for record in records:
        if record["kind"] == "variable":
            variables.setdefault(record["scope_id"], {})[record["name"]] = record.get("value")
        elif record["kind"] == "subscription" and record.get("event_name"):
            events.setdefault(record["execution_id"], set()).add(
                (record["type"], record["event_name"])
            )
    definition = known[header["definition_id"]]
    instance_vars = variables.get(header["id"], {})
    rows = []
    for record in sorted((r for r in records if r["kind"] == "execution"), key=lambda r: r["id"]):
        row = Row(_item(record, header, definition))
        row.process_variables = instance_vars
        row.local_variables = variables.get(record["id"], {})
        row.events = frozenset(events.get(record["id"], ()))
        rows.append(row)
    return rows


def _item(
    record: Mapping[str, Any], header: Mapping[str, Any], definition: Mapping[str, Any]
) -> dict[str, Any]:
    is_root = record["id"] == header["id"]
    return {
        "_id": record["id"],
        "activityId": record.get("activity_id"),
        "processInstanceId": header["id"],
        "parentId": record.get("parent_id"),
        "superExecutionId": header.get("super_execution_id") if is_root else None,
        "rootProcessInstanceId": header.get("root_instance_id") or header["id"],
        "suspended": header.get("status") == "suspended",
        "ended": False,
        "tenantId": header.get("tenant_id") or "",
        "name": header.get("name") if is_root else None,
        "description": None,
        "referenceId": None,
        "referenceType": None,
        "propagatedStageInstanceId": None,
        "processDefinitionId": header["definition_id"],
        "processDefinitionKey": header.get("definition_key"),
        "processDefinitionName": definition.get("name"),
        "processDefinitionVersion": definition.get("version"),
        "processDefinitionCategory": definition.get("category"),
        "businessKey": header.get("business_key"),
        "startTime": record.get("start_time") or header.get("start_time"),
        "startUserId": header.get("start_user_id"),
        "isActive": bool(record.get("is_active")),
        "isScope": bool(record.get("is_scope")),
        "isConcurrent": bool(record.get("is_concurrent")),
        "isEventScope": bool(record.get("is_event_scope")),
    }


def _load(container: Services, instance_id: str, known: _Definitions) -> list[Row]:
    return _rows(instance_records(container.store, instance_id), known)


def _wanted_instance(request: CrestRequest) -> str | None:
    if request.query_filter is not None:
        terms = crest_filter.equality_terms(request.query_filter)
        instance, execution = terms.get("processInstanceId"), terms.get("_id")
    elif request.query_id == FILTERED_QUERY:
        instance, execution = request.param("processInstanceId"), request.param("executionId")
    else:
        return None
    if isinstance(instance, str) and instance:
        return instance
    if isinstance(execution, str) and execution:
        return instance_of_execution(execution)
    return None


def _fetch_one(container: Services, instance_id: str, known: _Definitions) -> Callable:
    def fetch(token: Any, limit: int) -> tuple[list[Row], Any]:
        return _load(container, instance_id, known), None

    return fetch


def _fetch_listing(container: Services, known: _Definitions) -> Callable:
    def fetch(token: Any, limit: int) -> tuple[list[Row], Any]:
        page = running_listing(
            container.store, limit=max(1, min(limit, INSTANCES_PER_PAGE)), start=token
        )
        rows = [row for item in page.items for row in _load(container, item.pk, known)]
        return rows, page.next_token

    return fetch


def _fetch_subscribed(container: Services, kind: str, name: str, known: _Definitions) -> Callable:
    def fetch(token: Any, limit: int) -> tuple[list[Row], Any]:
        page = subscribers(
            container.store, kind, name, limit=max(1, min(limit, INSTANCES_PER_PAGE)), start=token
        )
        wanted = {item.data["execution_id"]: item.pk for item in page.items}
        loaded: dict[str, dict[str, Row]] = {}
        rows: list[Row] = []
        for execution_id, instance_id in wanted.items():
            if instance_id not in loaded:
                loaded[instance_id] = {
                    row["_id"]: row for row in _load(container, instance_id, known)
                }
            row = loaded[instance_id].get(execution_id)
            if row is not None:
                rows.append(row)
        return rows, page.next_token

    return fetch


def execution_source(container: Services, request: CrestRequest) -> QuerySource:
    """The ``QuerySource`` of ``execution`` queries (see the module doc for what is read)."""
    known = _Definitions(container)
    wanted = _wanted_instance(request)
    events = _events(request) if request.query_id == FILTERED_QUERY else []
    if wanted is not None:
        fetch = _fetch_one(container, wanted, known)
    elif events:
        fetch = _fetch_subscribed(container, *events[0], known)
    else:
        fetch = _fetch_listing(container, known)
    return QuerySource(fetch=fetch, sortable=ITEM_FIELDS, filtered_query=filtered_predicate)


def query_executions(container: Services, request: CrestRequest) -> dict:
    """The CREST query envelope of ``execution``."""
    return run_query(
        request,
        execution_source(container, request),
        max_page_size=container.settings.max_page_size,
        read_budget=container.settings.query_read_budget,
    )
