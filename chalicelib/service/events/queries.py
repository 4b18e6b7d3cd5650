"""Queries of ``execution``: the executions of running process instances (api-reference §3.5).

Items are Flowable ``Execution`` getters (``_id, activityId, processInstanceId, parentId,
superExecutionId, rootProcessInstanceId, suspended, ended, tenantId, name, description,
referenceId, referenceType, propagatedStageInstanceId``) plus the instance's definition
(``processDefinitionId/Key/Name/Version/Category``), ``businessKey``, ``startTime`` and
``startUserId`` (the instance's), and ``isActive``/``isScope``/``isConcurrent``/``isEventScope``.

Reads (DynamoDB requests per read of the Pager, whatever the number of running instances):

* ``processInstanceId``, ``executionId`` or ``executionParentId`` equality (``filtered-query``
  parameter, or an ``_id``/``processInstanceId``/``parentId`` equality term of
  ``_queryFilter``): that one instance's item collection (one Query), which gives its
  executions, variables and subscriptions at once;
* ``signalName`` / ``messageName``: the ``event-sort`` index (the subscription records, one
  Query) and the subscribed executions (one BatchGetItem);
* business key, definition id or key, start user equality: the running instances of that
  value (``lookup-sort``, one Query) and the executions of each (one Query each, at most
  ``INSTANCES_PER_FETCH``);
* otherwise the execution listing (sharded ``kindShard-sort`` index, ``execution#0..7``: 8
  Queries), within the read budget. Execution items carry their header's fields
  (``EXECUTION_HEADER``), so a listed row needs no other read.

A variable comparison adds one BatchGetItem of the one variable it names per execution read.
``_totalPagedResultsPolicy=EXACT`` over every execution (no filter) is the listing's maintained
count (``execution_count``, one Query); a filtered query counts within the read budget.

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
from typing import Any, cast

from ...clock import format_iso
from ...crest import filter as crest_filter
from ...crest.request import CrestRequest
from ...errors import BadRequest, NotFound
from ...storage.ports import Item, Table
from ..container import Services
from ..definitions import cache as definitions
from ..querying import FILTERED_QUERY, QuerySource, date_param, run_query, served_terms
from ..repositories.instance_reads import (
    execution_count,
    execution_listing,
    execution_prefix,
    instance_executions,
    instance_lookup,
    instance_records,
    instance_subscriptions,
    read_headers,
    subscribers,
)
from ..repositories.instances import EXECUTION_HEADER, records_of, variable_prefix
from ..repositories.layout import FILTERED_BATCH
from .comparisons import OPERATORS, VALUE_TYPES, Comparison, comparison
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


class Row(dict):
    """An execution item, plus what filters need and the response never shows."""

    process_variables: Mapping[str, Any] = {}
    local_variables: Mapping[str, Any] = {}
    events: frozenset = frozenset()


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
    """The execution rows of one instance's whole item collection (none when it has ended)."""
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
    """An execution item from its record and its instance's header (or the header copy an
    execution item carries, ``EXECUTION_HEADER``)."""
    instance_id = record.get("instance_id") or header["id"]
    is_root = record["id"] == instance_id
    return {
        "_id": record["id"],
        "activityId": record.get("activity_id"),
        "processInstanceId": instance_id,
        "parentId": record.get("parent_id"),
        "superExecutionId": header.get("super_execution_id") if is_root else None,
        "rootProcessInstanceId": header.get("root_instance_id") or instance_id,
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


class _Reader:
    """Reads rows for one request: from execution items (which carry their header copy),
    completed with only what the request's filters compare."""

    def __init__(self, container: Services, request: CrestRequest, known: _Definitions):
        self.store = container.store
        self.known = known
        filtered = request.query_id == FILTERED_QUERY
        self.events = _events(request) if filtered else []
        self.process_var = comparison(request, "processVariable") if filtered else None
        self.local_var = comparison(request, "variable") if filtered else None

    def rows(self, items: Iterable[Item], events: Mapping[str, set] | None = None) -> list[Row]:
        """Rows of execution items (duplicates and executions of ended instances dropped);
        ``events``: the subscriptions already known, by execution id."""
        items = list({item.sk: item for item in items}.values())
        headers = self._headers({item.pk for item in items if EXECUTION_HEADER not in item.data})
        rows = []
        for item in items:
            header = item.data.get(EXECUTION_HEADER) or headers.get(item.pk)
            if header is None or header.get("end_time"):
                continue
            row = Row(_item(item.data, header, self.known[header["definition_id"]]))
            row.events = frozenset((events or {}).get(item.data["id"], ()))
            rows.append(row)
        self._variables(rows)
        if len(self.events) > 1 or (self.events and events is None):
            self._subscriptions(rows)
        return rows

    def _headers(self, instance_ids: set[str]) -> dict[str, Mapping[str, Any]]:
        """Headers of instances whose execution items predate the header copy (one
        BatchGetItem; none once the backfill has run)."""
        found = read_headers(self.store, sorted(instance_ids))
        return {pk: {**item.data, "id": pk} for pk, item in found.items()}

    def _variables(self, rows: list[Row]) -> None:
        """The one variable each comparison names, of every row (one BatchGetItem)."""
        if not rows or (self.process_var is None and self.local_var is None):
            return
        keys: list[tuple[str, str]] = []
        for row in rows:
            instance_id = row["processInstanceId"]
            if self.process_var is not None:
                keys.append((instance_id, variable_prefix(instance_id) + self.process_var.name))
            if self.local_var is not None:
                keys.append(
                    (instance_id, variable_prefix(instance_id, row["_id"]) + self.local_var.name)
                )
        values = {
            (item.pk, item.sk): item.data.get("value")
            for item in self.store.batch_get(Table.RUNTIME, keys)
        }
        for row in rows:
            instance_id = row["processInstanceId"]
            if self.process_var is not None:
                key = (instance_id, variable_prefix(instance_id) + self.process_var.name)
                if key in values:
                    row.process_variables = {self.process_var.name: values[key]}
            if self.local_var is not None:
                key = (instance_id, variable_prefix(instance_id, row["_id"]) + self.local_var.name)
                if key in values:
                    row.local_variables = {self.local_var.name: values[key]}

    def _subscriptions(self, rows: list[Row]) -> None:
        """Every event subscription of the rows' executions (one Query per instance: only
        when a query names both a signal and a message)."""
        found: dict[str, set[tuple[str, str]]] = {}
        for instance_id in dict.fromkeys(row["processInstanceId"] for row in rows):
            for record in records_of(instance_subscriptions(self.store, instance_id).items):
                if record.get("event_name"):
                    found.setdefault(record["execution_id"], set()).add(
                        (record["type"], record["event_name"])
                    )
        for row in rows:
            row.events = frozenset(found.get(row["_id"], ()))


def _wanted_instance(request: CrestRequest) -> str | None:
    """The one instance a query names: by ``processInstanceId``, or by an execution id or a
    parent execution id (the root execution's id is the instance id, a child's names it)."""
    if request.query_filter is not None:
        terms = crest_filter.equality_terms(request.query_filter)
        named = (terms.get("processInstanceId"), terms.get("_id"), terms.get("parentId"))
    elif request.query_id == FILTERED_QUERY:
        named = (
            request.param("processInstanceId"),
            request.param("executionId"),
            request.param("executionParentId"),
        )
    else:
        return None
    instance, execution, parent = named
    if isinstance(instance, str) and instance:
        return instance
    for value in (execution, parent):
        if isinstance(value, str) and value:
            return instance_of_execution(value)
    return None


#: ``filtered-query`` parameter and ``_queryFilter`` field -> the ``lookup-sort`` attribute that
#: lists the running instances with that value (first found wins)
LOOKUPS = (
    ("processInstanceBusinessKey", "businessKey", "bk"),
    ("processDefinitionId", "processDefinitionId", "pdi"),
    ("processDefinitionKey", "processDefinitionKey", "pdk"),
    ("startedBy", "startUserId", "su"),
)
#: instances read per fetch of a lookup partition (each one Query of its executions)
INSTANCES_PER_FETCH = 10


def _wanted_lookup(request: CrestRequest) -> tuple[str, str] | None:
    """``(lookup attribute, value)`` when the query compares an instance attribute that the
    ``lookup-sort`` index lists for equality."""
    if request.query_filter is not None:
        terms = crest_filter.equality_terms(request.query_filter)
        values = [(terms.get(field), attribute) for _, field, attribute in LOOKUPS]
    elif request.query_id == FILTERED_QUERY:
        values = [(request.param(param), attribute) for param, _, attribute in LOOKUPS]
    else:
        return None
    for value, attribute in values:
        if isinstance(value, str) and value:
            return attribute, value
    return None


def _fetch_one(container: Services, instance_id: str, known: _Definitions) -> Callable:
    """The executions of one instance: one Query of its item collection."""

    def fetch(token: Any, limit: int) -> tuple[list[Row], Any]:
        return _rows(instance_records(container.store, instance_id), known), None

    return fetch


def _fetch_listing(container: Services, reader: _Reader) -> Callable:
    """Pages of the execution listing (8 shard Queries per fetch, plus one BatchGetItem when a
    variable comparison needs values)."""

    def fetch(token: Any, limit: int) -> tuple[list[Row], Any]:
        page = execution_listing(container.store, limit=max(1, limit), start=token)
        return reader.rows(page.items), page.next_token

    return fetch


def _fetch_by_lookup(container: Services, attribute: str, value: str, reader: _Reader) -> Callable:
    """Pages of the running instances with one attribute value (``lookup-sort``: one Query),
    then each one's executions (one Query each, at most ``INSTANCES_PER_FETCH`` per fetch)."""

    def fetch(token: Any, limit: int) -> tuple[list[Row], Any]:
        instances = max(1, min(limit // 2 + 1, INSTANCES_PER_FETCH))
        page = instance_lookup(container.store, attribute, value, limit=instances, start=token)
        items = [
            item
            for instance in page.items
            for item in instance_executions(container.store, instance.pk).items
        ]
        return reader.rows(items), page.next_token

    return fetch


def _fetch_subscribed(container: Services, kind: str, name: str, reader: _Reader) -> Callable:
    """Pages of the subscriptions to one event (``event-sort``: one Query), and the subscribed
    executions (one BatchGetItem)."""

    def fetch(token: Any, limit: int) -> tuple[list[Row], Any]:
        page = subscribers(container.store, kind, name, limit=max(1, limit), start=token)
        events: dict[str, set[tuple[str, str]]] = {}
        keys = []
        for item in page.items:
            execution_id = item.data["execution_id"]
            events.setdefault(execution_id, set()).add((kind, name))
            keys.append((item.pk, execution_prefix(execution_id)))
        items = container.store.batch_get(Table.RUNTIME, keys) if keys else []
        return reader.rows(items, events), page.next_token

    return fetch


def execution_source(container: Services, request: CrestRequest) -> QuerySource:
    """The ``QuerySource`` of ``execution`` queries (see the module doc for what is read)."""
    known = _Definitions(container)
    reader = _Reader(container, request, known)
    wanted = _wanted_instance(request)
    lookup = _wanted_lookup(request)
    batch = 0  # a read that costs a Query per instance asks for what the page needs
    if wanted is not None:
        fetch = _fetch_one(container, wanted, known)
    elif reader.events:
        fetch = _fetch_subscribed(container, *reader.events[0], reader)
    elif lookup is not None:
        fetch = _fetch_by_lookup(container, *lookup, reader)
    else:
        fetch = _fetch_listing(container, reader)
        batch = FILTERED_BATCH
    store = container.store
    everything = served_terms(request, EQUAL_PARAMS) == {}
    return QuerySource(
        fetch=fetch,
        sortable=ITEM_FIELDS,
        filtered_query=filtered_predicate,
        count=(lambda: execution_count(store)) if everything else None,
        batch=batch,
    )


def query_executions(container: Services, request: CrestRequest) -> dict:
    """The CREST query envelope of ``execution``."""
    return run_query(
        request,
        execution_source(container, request),
        max_page_size=container.settings.max_page_size,
        read_budget=container.settings.query_read_budget,
    )
