"""Queries over task instances: ``taskinstance`` (open tasks) and ``taskinstance/history``.

Each query is planned to the cheapest read that holds every match, then filtered in Python:

* open tasks: ``_id``/``taskId`` equality → the task's own item (one Query of its instance,
  ``task#<id>`` prefix); ``processInstanceId`` → that instance's ``task#`` items (one Query);
  ``assignee`` → the ``assignee-sort`` index; ``unassignedTaskQuery``, or ``taskCandidateUser`` /
  ``taskCandidateGroup`` → the ``candidate-sort`` partitions of the user and their groups (or of
  the groups), merged (one index Query per partition per page; a task met in several is kept
  from the first of them only); a ``processDefinitionId`` equality, or ``filtered-query``'s
  ``processDefinitionKey`` or ``unassigned=true`` → that task lookup partition of the
  ``lookup-sort`` index (``task:pdi=..``, ``task:pdk=..``, ``task:unassigned``: one index Query
  per page); otherwise the sharded ``kindShard-sort`` listing (``task#0..7``: one index Query
  per shard per page). Every read but those of one instance is in creation order
  (``<create time>#<id>``), so ``_sortKeys=createTime`` or ``-createTime`` alone pages it
  forwards or backwards within the read budget (``QuerySource.ordered_by``).
* historic tasks: ``_id``/``taskId`` → one GetItem; ``processInstanceId`` → one Query of the
  instance's history (``task#`` prefix); a state (``finished=true``/``unfinished=true``, or
  ``endTime pr``/``!(endTime pr)`` AND-ed at the top of a ``_queryFilter``) → that state
  partition of ``lookup-sort`` (``htask-state=<state>#0..7``: one index Query per shard per
  read, of at least ``FILTERED_BATCH`` items when other terms filter it); otherwise the
  ``htask#0..7`` listing. ``_totalPagedResultsPolicy=EXACT`` over every historic task, or
  over one state alone, is its maintained counter (``history_index.task_count``,
  ``task_state_count``: one Query; not with a history TTL), and an offset on a state alone
  skips in one round of shard Queries (``history_index.task_state_skip``).

Equality terms come from ``filtered-query`` parameters or from the top-level ``eq`` terms of a
``_queryFilter``. ``var-<name>`` reads the instance-scope variables of the instances a batch
meets, once per request, from what their headers (``taskinstance``) or historic process items
(``taskinstance/history``) carry: one BatchGetItem of those per batch, and one per 100
variables that did not fit them (``_priming_runtime``, ``_priming_history``); an instance with
more than 100 such variables costs one Query. ``processFinished``/``processUnfinished`` read
the batch's historic process items in the same BatchGetItem.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, cast

from ...auth.caller import Caller
from ...clock import parse_iso
from ...crest import filter as crest_filter
from ...crest.like import LikePattern
from ...crest.paging import SortKey
from ...crest.request import CrestRequest
from ...errors import BadRequest
from ...ids import instance_of
from ...storage.ports import Index, ItemStore, Page, Table
from ...storage.sharding import query_partitions
from ..container import Services
from ..instances.shapes import HIDDEN_VARIABLES
from ..querying import FILTERED_QUERY, QuerySource, date_param, flag_param, served_terms
from ..repositories import history
from ..repositories.history_index import (
    counts_exact,
    task_count,
    task_state_count,
    task_state_page,
    task_state_skip,
)
from ..repositories.instance_reads import (
    assignee_count,
    candidate_count,
    carried_runtime_variables,
    instance_variables,
    open_task_count,
    open_task_listing,
    open_tasks,
    read_headers,
    task_lookup,
    task_lookup_count,
)
from ..repositories.instances import (
    TASK_UNASSIGNED,
    candidate_key,
    candidate_task,
    records_of,
    task_lookup_key,
)
from ..repositories.layout import FILTERED_BATCH
from .shapes import (
    HISTORY_TASK_FIELDS,
    TASK_FIELDS,
    as_text,
    history_task_shape,
    task_shape,
)

__all__ = [
    "UNASSIGNED_TASK_QUERY",
    "RUNTIME_SORT_KEYS",
    "HISTORY_SORT_KEYS",
    "open_task_source",
    "history_task_source",
    "history_sort_keys",
]

UNASSIGNED_TASK_QUERY = "unassignedTaskQuery"
#: api-reference.md §3.4 sort keys (all are item fields); any other item field is accepted too
RUNTIME_SORT_KEYS = (
    frozenset(
        {
            "_id",
            "name",
            "description",
            "priority",
            "assignee",
            "createTime",
            "processInstanceId",
            "executionId",
            "dueDate",
            "tenantId",
        }
    )
    | TASK_FIELDS
)
#: history sort keys; ``taskId`` and ``taskName`` sort by ``_id`` and ``name``
HISTORY_SORT_KEYS = HISTORY_TASK_FIELDS | {"taskId", "taskName"}
_HISTORY_SORT_ALIASES = {"taskId": "_id", "taskName": "name"}

#: filtered-query equality parameters -> item field
_RUNTIME_EQUAL = {
    "_id": "_id",
    "taskId": "_id",
    "executionId": "executionId",
    "processDefinitionId": "processDefinitionId",
    "processInstanceId": "processInstanceId",
    "assignee": "assignee",
    "owner": "owner",
    "name": "name",
    "description": "description",
    "taskDefinitionKey": "taskDefinitionKey",
    "tenantId": "tenantId",
    "category": "category",
}
_HISTORY_EQUAL = {
    **{k: v for k, v in _RUNTIME_EQUAL.items() if k != "name"},
    "taskName": "name",
    "deleteReason": "deleteReason",
    "taskDeleteReason": "deleteReason",
}
_RUNTIME_LIKE = {"nameLike": "name", "descriptionLike": "description"}
_HISTORY_LIKE = {"taskNameLike": "name", "descriptionLike": "description"}
#: date parameters -> (item field, bound): the item's date must be before/after the value
_RUNTIME_DATES = {
    "dueBefore": ("dueDate", "before"),
    "dueAfter": ("dueDate", "after"),
    "createdBefore": ("createTime", "before"),
    "createdAfter": ("createTime", "after"),
    "taskCreatedBefore": ("createTime", "before"),
    "taskCreatedAfter": ("createTime", "after"),
}
_HISTORY_DATES = {
    **_RUNTIME_DATES,
    "finishedBefore": ("endTime", "before"),
    "finishedAfter": ("endTime", "after"),
    "taskCompletedBefore": ("endTime", "before"),
    "taskCompletedAfter": ("endTime", "after"),
}
_VAR_PREFIX = "var-"

Item = dict[str, Any]
Predicate = Callable[[Item], bool]


class _Records:
    """The stored record behind each item a query fetched (candidates are not item fields)."""

    def __init__(self) -> None:
        self.by_id: dict[str, Mapping[str, Any]] = {}

    def keep(self, item_id: str, record: Mapping[str, Any]) -> None:
        self.by_id[item_id] = record

    def __call__(self, item: Item) -> Mapping[str, Any]:
        return self.by_id.get(cast(str, item.get("_id")), {})


class _PerInstance:
    """A value per process instance (or other key), read at most once per request."""

    def __init__(self, read: Callable[[str], Any]):
        self._read = read
        self._seen: dict[str, Any] = {}

    def __call__(self, instance_id: str) -> Any:
        if instance_id not in self._seen:
            self._seen[instance_id] = self._read(instance_id)
        return self._seen[instance_id]

    def unknown(self, instance_ids: Iterable[str]) -> list[str]:
        """The distinct non-empty ``instance_ids`` not read (or primed) yet, in order."""
        return [i for i in dict.fromkeys(instance_ids) if i and i not in self._seen]

    def prime(self, instance_id: str, value: Any) -> None:
        """Keep ``value`` for ``instance_id`` (read another way), so it is not read again."""
        self._seen[instance_id] = value


def _reads_instances(request: CrestRequest) -> bool:
    """Whether the request's filter looks at each task's instance: ``var-<name>`` parameters
    (its variables) or ``processFinished``/``processUnfinished`` (whether it ended)."""
    return any(
        name.startswith(_VAR_PREFIX) or name in ("processFinished", "processUnfinished")
        for name in request.additional_parameters
    ) or any(request.param(flag) is not None for flag in ("processFinished", "processUnfinished"))


def _reads_variables(request: CrestRequest) -> bool:
    """Whether the request's filter looks at each task's instance variables (``var-<name>``)."""
    return any(name.startswith(_VAR_PREFIX) for name in request.additional_parameters)


Fetch = Callable[[Any, int], tuple[list[Item], Any]]


def _priming_runtime(fetch: Fetch, store: ItemStore, variables: _PerInstance) -> Fetch:
    """``fetch``, then the variables of the instances its batch met first, from what their
    headers carry (``carried_runtime_variables``): one BatchGetItem of the headers per batch
    (of up to 100 instances) and one per 100 variables that did not fit a header, instead of
    one Query per instance; an instance with more than 100 variables is still read alone."""

    def primed(token: Any, limit: int) -> tuple[list[Item], Any]:
        items, following = fetch(token, limit)
        wanted = variables.unknown(item.get("processInstanceId") or "" for item in items)
        headers = read_headers(store, wanted) if wanted else {}
        carried = carried_runtime_variables(
            store, [header.data for header in headers.values()], alone=False
        )
        for instance_id in wanted:
            if instance_id not in headers:  # ended since the index listed its task: none
                variables.prime(instance_id, {})
            elif instance_id in carried:
                variables.prime(instance_id, carried[instance_id])
        return items, following

    return primed


def _priming_history(
    fetch: Fetch, store: ItemStore, variables: _PerInstance | None, ended: _PerInstance
) -> Fetch:
    """``fetch``, then whether the instances its batch met first have ended and their kept
    variables, from their historic process items (one BatchGetItem per batch, and one per 100
    variables that did not fit an item: ``carried_historic_variables``, instead of a GetItem
    and a Query per instance); an instance with more than 100 variables is read alone.
    ``variables`` None: the filter looks at no variable, none is read."""

    def primed(token: Any, limit: int) -> tuple[list[Item], Any]:
        items, following = fetch(token, limit)
        met = [item.get("processInstanceId") or "" for item in items]
        unknown = variables.unknown(met) if variables is not None else []
        wanted = list(dict.fromkeys([*ended.unknown(met), *unknown]))
        processes = history.read_processes(store, wanted) if wanted else {}
        carried = history.carried_historic_variables(
            store, [processes[i].data for i in unknown if i in processes], alone=False
        )
        for instance_id in wanted:
            process = processes.get(instance_id)
            ended.prime(
                instance_id, process is not None and process.data.get("endTime") is not None
            )
            if variables is not None and instance_id in carried:
                variables.prime(instance_id, carried[instance_id])
        return items, following

    return primed


# --- parameters --------------------------------------------------------------------------------


def _priority(request: CrestRequest) -> int | None:
    value = request.param("priority")
    if value is None:
        return None
    if not re.fullmatch(r"\s*-?[0-9]{1,9}\s*", value):
        raise BadRequest(f"The value '{value}' for parameter 'priority' is not an integer")
    return int(value)


def _equal_terms(request: CrestRequest, table: Mapping[str, str]) -> dict[str, Any]:
    terms: dict[str, Any] = {}
    for param, field in table.items():
        value = request.param(param)
        if value is not None:
            terms[field] = value
    return terms


def _plan_terms(request: CrestRequest, table: Mapping[str, str]) -> dict[str, Any]:
    """Equality terms a read may be planned on (filter ``eq`` terms or query parameters)."""
    if request.query_filter is not None:
        return crest_filter.equality_terms(request.query_filter)
    if request.query_id == FILTERED_QUERY:
        return _equal_terms(request, table)
    return {}


def _groups(values: str) -> set[str]:
    return {group.strip() for group in values.split(",") if group.strip()}


def _equals(field: str, value: Any) -> Predicate:
    return lambda item: item.get(field) == value


def _like(field: str, pattern: LikePattern) -> Predicate:
    return lambda item: isinstance(item.get(field), str) and pattern.matches(item[field])


def _dated(field: str, bound: str, limit: Any) -> Predicate:
    return lambda item: _date_matches(item.get(field), bound, limit)


def _common_predicates(
    request: CrestRequest,
    equal: Mapping[str, str],
    like: Mapping[str, str],
    dates: Mapping[str, tuple[str, str]],
    variables: Callable[[str], Mapping[str, Any]],
) -> list[Predicate]:
    """Predicates shared by both collections (each parameter validated before any read)."""
    checks: list[Predicate] = []
    for field, value in _equal_terms(request, equal).items():
        checks.append(_equals(field, value))
    for param, field in like.items():
        pattern = request.param(param)
        if pattern is not None:
            checks.append(_like(field, LikePattern(pattern)))
    key = request.param("processDefinitionKey")
    if key is not None:
        checks.append(lambda item: str(item.get("processDefinitionId") or "").split(":")[0] == key)
    priority = _priority(request)
    if priority is not None:
        checks.append(lambda item: item.get("priority") == priority)
    for param, (field, bound) in dates.items():
        limit = date_param(request, param)
        if limit is not None:
            checks.append(_dated(field, bound, limit))
    wanted = {
        name[len(_VAR_PREFIX) :]: value
        for name, value in request.additional_parameters.items()
        if name.startswith(_VAR_PREFIX) and len(name) > len(_VAR_PREFIX)
    }
    if wanted:

        def variables_match(item: Item) -> bool:
            values = variables(item.get("processInstanceId") or "")
            return all(
                name in values and as_text(values[name]) == value for name, value in wanted.items()
            )

        checks.append(variables_match)
    return checks


def _date_matches(value: Any, bound: str, limit: datetime) -> bool:
    if not isinstance(value, str):
        return False
    when = parse_iso(value)
    return when < limit if bound == "before" else when > limit


def _all(checks: list[Predicate]) -> Predicate:
    return lambda item: all(check(item) for check in checks)


# --- open tasks ----------------------------------------------------------------------------------


def _is_candidate(record: Mapping[str, Any], user: str | None, groups: Iterable[str]) -> bool:
    if user is not None and user in (record.get("candidate_users") or ()):
        return True
    held = set(groups)
    return any(group in held for group in record.get("candidate_groups") or ())


def _runtime_filtered(
    request: CrestRequest,
    records: _Records,
    variables: Callable[[str], Mapping[str, Any]],
    groups_of: Callable[[str], frozenset[str]],
) -> Predicate:
    checks = _common_predicates(request, _RUNTIME_EQUAL, _RUNTIME_LIKE, _RUNTIME_DATES, variables)
    if flag_param(request, "unassigned"):
        checks.append(lambda item: item.get("assignee") is None)
    user = request.param("taskCandidateUser")
    if user is not None:  # Flowable: unassigned tasks, the user or one of their groups
        groups = groups_of(user)
        checks.append(
            lambda item: item.get("assignee") is None and _is_candidate(records(item), user, groups)
        )
    wanted_groups = _groups(request.param("taskCandidateGroup") or "")
    if request.param("taskCandidateGroup") is not None:
        checks.append(
            lambda item: (
                item.get("assignee") is None and _is_candidate(records(item), None, wanted_groups)
            )
        )
    either = request.param("taskCandidateOrAssigned")
    if either is not None:
        groups_either = groups_of(either)
        checks.append(
            lambda item: (
                item.get("assignee") == either
                or (
                    item.get("assignee") is None
                    and _is_candidate(records(item), either, groups_either)
                )
            )
        )
    return _all(checks)


def _task_items(page: Page, records: _Records) -> list[Item]:
    items = []
    for record in records_of(page.items):
        if record.get("kind") != "task":
            continue
        item = task_shape(record)
        records.keep(item["_id"], record)
        items.append(item)
    return items


def _candidate_partitions(
    request: CrestRequest, caller: Caller, groups_of: Callable[[str], frozenset[str]]
) -> list[str] | None:
    """The ``candidate-sort`` partitions holding every match, or None (not a candidate query).

    Follows ``querying``'s precedence: a ``_queryFilter`` wins over any ``_queryId``.
    """
    if request.query_filter is not None:
        return None
    groups: Iterable[str]
    if request.query_id == UNASSIGNED_TASK_QUERY:
        user, groups = caller.user_id, caller.authz_strings
    elif (
        request.query_id == FILTERED_QUERY
        and (candidate := request.param("taskCandidateUser")) is not None
    ):
        user = candidate
        groups = groups_of(candidate)
    elif request.query_id == FILTERED_QUERY and request.param("taskCandidateGroup") is not None:
        user, groups = None, _groups(request.param("taskCandidateGroup") or "")
    else:
        return None
    users = [candidate_key(user=user)] if user is not None else []
    return users + [candidate_key(group=group) for group in sorted(groups)]


def _first_partition(record: Mapping[str, Any], partitions: list[str]) -> str | None:
    """The first of ``partitions`` that lists the task ``record``."""
    held = {candidate_key(user=u) for u in record.get("candidate_users") or ()}
    held.update(candidate_key(group=g) for g in record.get("candidate_groups") or ())
    return next((partition for partition in partitions if partition in held), None)


def _candidate_items(page: Page, partitions: list[str], records: _Records) -> list[Item]:
    """Task items of a merged candidate page, each task once (from its first partition)."""
    items = []
    for stored in page.items:
        record = candidate_task(stored)
        if stored.index.get("candidate") != _first_partition(record, partitions):
            continue  # the same task from an earlier partition of the list
        item = task_shape(record)
        records.keep(item["_id"], record)
        items.append(item)
    return items


def _task_lookup_partition(request: CrestRequest, terms: Mapping[str, Any]) -> str | None:
    """The task lookup partition (``lookup-sort``) holding every match, or None: a
    ``processDefinitionId`` equality, else ``filtered-query``'s ``processDefinitionKey``, else
    its ``unassigned=true``."""
    definition_id = terms.get("processDefinitionId")
    if isinstance(definition_id, str) and definition_id:
        return task_lookup_key("pdi", definition_id)
    if request.query_filter is not None or request.query_id != FILTERED_QUERY:
        return None
    key = request.param("processDefinitionKey")
    if key:
        return task_lookup_key("pdk", key)
    if flag_param(request, "unassigned"):
        return TASK_UNASSIGNED
    return None


def _lookup_items(page: Page, records: _Records) -> list[Item]:
    """Task items of a task lookup page (each holds its task's record)."""
    items = []
    for stored in page.items:
        record = candidate_task(stored)
        item = task_shape(record)
        records.keep(item["_id"], record)
        items.append(item)
    return items


def _runtime_fetch(
    store: ItemStore,
    request: CrestRequest,
    records: _Records,
    partitions: list[str] | None,
    *,
    descending: bool = False,
) -> Callable | None:
    """The fetch of the read planned for ``request``; ``descending``: the same read backwards,
    or None when the read is not in creation order (one instance's tasks are in id order)."""
    terms = _plan_terms(request, _RUNTIME_EQUAL)
    task_id, instance_id, assignee = (
        terms.get("_id"),
        terms.get("processInstanceId"),
        terms.get("assignee"),
    )
    lookup = _task_lookup_partition(request, terms)
    owner = instance_of(task_id) if isinstance(task_id, str) else None
    if isinstance(task_id, str) and owner:
        if descending:
            return None

        def read(token: Any, limit: int) -> Page:
            return open_tasks(store, owner, task_id=task_id, limit=limit, start=token)
    elif isinstance(instance_id, str) and instance_id:
        if descending:
            return None

        def read(token: Any, limit: int) -> Page:
            return open_tasks(store, instance_id, limit=limit, start=token)
    elif isinstance(assignee, str) and assignee:

        def read(token: Any, limit: int) -> Page:
            return store.query_index(
                Table.RUNTIME,
                Index.ASSIGNEE_SORT,
                assignee,
                limit=limit,
                start=token,
                descending=descending,
            )
    elif partitions is not None:

        def fetch_candidates(token: Any, limit: int) -> tuple[list[Item], Any]:
            page = query_partitions(
                store,
                Table.RUNTIME,
                Index.CANDIDATE_SORT,
                partitions,
                limit=max(1, limit),
                start=token,
                descending=descending,
            )
            return _candidate_items(page, partitions, records), page.next_token

        return fetch_candidates
    elif lookup is not None:
        key = lookup

        def fetch_lookup(token: Any, limit: int) -> tuple[list[Item], Any]:
            page = task_lookup(store, key, limit=max(1, limit), start=token, descending=descending)
            return _lookup_items(page, records), page.next_token

        return fetch_lookup
    else:

        def read(token: Any, limit: int) -> Page:
            return open_task_listing(store, limit=limit, start=token, descending=descending)

    def fetch(token: Any, limit: int) -> tuple[list[Item], Any]:
        page = read(token, max(1, limit))
        return _task_items(page, records), page.next_token

    return fetch


def _instance_variables(store: ItemStore, instance_id: str) -> dict[str, Any]:
    if not instance_id:
        return {}
    page = instance_variables(store, instance_id)
    return {
        record["name"]: record.get("value")
        for record in records_of(page.items)
        if record.get("name") not in HIDDEN_VARIABLES
    }


def open_task_source(container: Services, request: CrestRequest, caller: Caller) -> QuerySource:
    """The ``QuerySource`` of ``taskinstance`` queries, planned for this request.

    ``unassignedTaskQuery``: unassigned tasks where ``caller`` is a candidate user or holds a
    candidate group (a role or group string).
    """
    store = container.store
    records = _Records()
    variables = _PerInstance(lambda instance_id: _instance_variables(store, instance_id))

    def read_groups(user: str) -> frozenset[str]:
        known = container.authenticator.user_store.get(user)
        return frozenset() if known is None else known.roles | known.groups

    groups_of = _PerInstance(read_groups)  # read once per request (planning and filtering)

    def unassigned(_: CrestRequest) -> Predicate:
        return lambda item: (
            item.get("assignee") is None
            and _is_candidate(records(item), caller.user_id, caller.authz_strings)
        )

    partitions = _candidate_partitions(request, caller, groups_of)
    fetch = _runtime_fetch(store, request, records, partitions)
    assert fetch is not None
    backwards = _runtime_fetch(store, request, records, partitions, descending=True)
    if _reads_variables(request):
        fetch = _priming_runtime(fetch, store, variables)
        backwards = _priming_runtime(backwards, store, variables) if backwards else None
    return QuerySource(
        fetch=fetch,
        sortable=RUNTIME_SORT_KEYS,
        # the listing and every index partition are in ``<create time>#<id>`` order
        ordered_by="createTime" if backwards is not None else None,
        fetch_descending=backwards,
        filtered_query=lambda req: _runtime_filtered(req, records, variables, groups_of),
        query_ids={UNASSIGNED_TASK_QUERY: unassigned},
        count=_open_task_count(store, request),
    )


def _open_task_count(store: ItemStore, request: CrestRequest) -> Callable[[], int] | None:
    """The maintained count that answers ``request`` exactly, if one does: every open task, the
    tasks of one assignee, of one definition id or key, the unassigned tasks, or the
    unassigned tasks of one candidate group."""
    terms = served_terms(
        request, {"assignee": "assignee", "processDefinitionId": "processDefinitionId"}
    )
    if terms == {}:
        return lambda: open_task_count(store)
    if terms is not None and len(terms) == 1:
        [(field, value)] = terms.items()
        if isinstance(value, str) and field == "assignee":
            return lambda: assignee_count(store, value)
        if isinstance(value, str) and value and field == "processDefinitionId":
            return lambda: task_lookup_count(store, task_lookup_key("pdi", value))
    params = request.additional_parameters
    if request.query_filter is not None or request.query_id != FILTERED_QUERY:
        return None
    if list(params) == ["taskCandidateGroup"]:
        groups = _groups(params["taskCandidateGroup"])
        if len(groups) == 1:
            key = candidate_key(group=groups.pop())
            return lambda: candidate_count(store, key)
    if list(params) == ["processDefinitionKey"] and params["processDefinitionKey"]:
        key = task_lookup_key("pdk", params["processDefinitionKey"])
        return lambda: task_lookup_count(store, key)
    if list(params) == ["unassigned"] and flag_param(request, "unassigned"):
        return lambda: task_lookup_count(store, TASK_UNASSIGNED)
    return None


# --- historic tasks ------------------------------------------------------------------------------


def _history_filtered(
    request: CrestRequest,
    records: _Records,
    variables: Callable[[str], Mapping[str, Any]],
    process_ended: Callable[[str], bool],
) -> Predicate:
    checks = _common_predicates(request, _HISTORY_EQUAL, _HISTORY_LIKE, _HISTORY_DATES, variables)
    if flag_param(request, "finished"):
        checks.append(lambda item: item.get("endTime") is not None)
    if flag_param(request, "unfinished"):
        checks.append(lambda item: item.get("endTime") is None)
    if flag_param(request, "processFinished"):
        checks.append(lambda item: process_ended(item.get("processInstanceId") or ""))
    if flag_param(request, "processUnfinished"):
        checks.append(lambda item: not process_ended(item.get("processInstanceId") or ""))
    user = request.param("taskCandidateUser")
    if user is not None:
        checks.append(lambda item: user in (records(item).get("candidateUsers") or ()))
    if request.param("taskCandidateGroup") is not None:
        groups = _groups(request.param("taskCandidateGroup") or "")
        checks.append(lambda item: bool(groups & set(records(item).get("candidateGroups") or ())))
    return _all(checks)


def _history_fetch(
    store: ItemStore, request: CrestRequest, records: _Records, following: dict[str, Page]
) -> Callable:
    """The fetch of ``taskinstance/history``; ``following``: pages an offset's skip already
    read (``_history_skip``), by the token they start at, answered without a read."""
    terms = _plan_terms(request, _HISTORY_EQUAL)
    task_id, instance_id = terms.get("_id"), terms.get("processInstanceId")

    def shaped(items: Iterable[Any]) -> list[Item]:
        out = []
        for stored in items:
            if not history.is_task(stored):
                continue
            item = history_task_shape(stored.data)
            records.keep(item["_id"], stored.data)
            out.append(item)
        return out

    if isinstance(task_id, str) and instance_of(task_id):

        def fetch_one(token: Any, limit: int) -> tuple[list[Item], Any]:
            found = history.read_task(store, task_id)
            return shaped([found] if found is not None else []), None

        return fetch_one
    if isinstance(instance_id, str) and instance_id:

        def read(token: Any, limit: int) -> Page:
            return history.historic_tasks(store, instance_id, limit=limit, start=token)
    elif (state := _history_state(request)) is not None:

        def read(token: Any, limit: int) -> Page:
            ready = following.pop(token, None) if isinstance(token, str) else None
            if ready is not None:
                return ready
            return task_state_page(store, state, limit=limit, start=token)
    else:

        def read(token: Any, limit: int) -> Page:
            return history.task_listing(store, limit=limit, start=token)

    def fetch(token: Any, limit: int) -> tuple[list[Item], Any]:
        page = read(token, max(1, limit))
        return shaped(page.items), page.next_token

    return fetch


def _history_state(request: CrestRequest) -> bool | None:
    """The task state partition that holds every historic task the query can answer (True:
    finished, False: unfinished; None: neither, or both): ``filtered-query``'s
    ``finished=true`` or ``unfinished=true``, or a ``_queryFilter`` with ``endTime pr`` or
    ``!(endTime pr)`` among its top-level AND-ed terms (the rest of either is evaluated on
    what the partition lists)."""
    if request.query_filter is not None:
        states, _ = _filter_states(request.query_filter)
        return next(iter(states)) if len(states) == 1 else None
    if request.query_id != FILTERED_QUERY:
        return None
    finished, unfinished = flag_param(request, "finished"), flag_param(request, "unfinished")
    if finished == unfinished:
        return None
    return finished


def _history_state_only(request: CrestRequest) -> bool | None:
    """The task state a query selects by and by nothing else (then its partition lists
    exactly the answers: its count and an offset's skip serve them): ``filtered-query`` with
    the one parameter ``finished=true`` or ``unfinished=true``, ``_queryFilter=endTime pr`` or
    ``!(endTime pr)`` (AND-ed with ``true`` at most); None otherwise."""
    state = _history_state(request)
    if state is None:
        return None
    if request.query_filter is not None:
        return None if _filter_states(request.query_filter)[1] else state
    if list(request.additional_parameters) != ["finished" if state else "unfinished"]:
        return None
    return state


def _filter_states(node: crest_filter.Node) -> tuple[set[bool], bool]:
    """``(states, more)``: the states the top-level AND-ed ``endTime pr`` (finished: True) and
    ``!(endTime pr)`` (False) terms of a filter require, and whether it has any other term
    (``true`` aside)."""
    states: set[bool] = set()
    more = False
    pending = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, crest_filter.And):
            pending.extend(current.operands)
        elif _ends(current):
            states.add(True)
        elif isinstance(current, crest_filter.Not) and _ends(current.operand):
            states.add(False)
        elif not (isinstance(current, crest_filter.Constant) and current.value):
            more = True
    return states, more


def _ends(node: crest_filter.Node) -> bool:
    """Whether ``node`` is ``endTime pr``."""
    return isinstance(node, crest_filter.Presence) and tuple(node.field) == ("endTime",)


def _historic_variables(store: ItemStore, instance_id: str) -> dict[str, Any]:
    """The latest value of each instance-scope variable (history level ``activity`` and up)."""
    if not instance_id:
        return {}
    page = history.historic_variables(store, instance_id)
    return {
        cast(str, item.data.get("name")): item.data.get("value")
        for item in page.items
        if item.data.get("executionId") == instance_id
        and item.data.get("name") not in HIDDEN_VARIABLES
    }


def _process_ended(store: ItemStore, instance_id: str) -> bool:
    found = history.read_process(store, instance_id) if instance_id else None
    return found is not None and found.data.get("endTime") is not None


def history_sort_keys(request: CrestRequest) -> CrestRequest:
    """The request with ``taskId``/``taskName`` sort keys read as ``_id``/``name``."""
    if not any(key.name in _HISTORY_SORT_ALIASES for key in request.sort_keys):
        return request
    keys = tuple(
        SortKey((_HISTORY_SORT_ALIASES[key.name],), key.ascending)
        if key.name in _HISTORY_SORT_ALIASES
        else key
        for key in request.sort_keys
    )
    return replace(request, sort_keys=keys)


def history_task_source(container: Services, request: CrestRequest) -> QuerySource:
    """The ``QuerySource`` of ``taskinstance/history`` queries, planned for this request."""
    store = container.store
    records = _Records()
    variables = _PerInstance(lambda instance_id: _historic_variables(store, instance_id))
    ended = _PerInstance(lambda instance_id: _process_ended(store, instance_id))
    following: dict[str, Page] = {}
    fetch = _history_fetch(store, request, records, following)
    if _reads_instances(request):
        primed = variables if _reads_variables(request) else None
        fetch = _priming_history(fetch, store, primed, ended)
    extra: dict[str, Any] = {}
    only = _history_state_only(request)
    if only is not None:
        extra["skip"] = _history_skip(store, only, following)
    elif _history_state(request) is not None and not _history_single(request):
        # the state partition's 8 shards cost 8 Queries per read, whatever the filter keeps
        extra["batch"] = FILTERED_BATCH
    return QuerySource(
        fetch=fetch,
        sortable=HISTORY_SORT_KEYS,
        filtered_query=lambda req: _history_filtered(req, records, variables, ended),
        count=_history_task_count(container, request),
        **extra,
    )


def _history_single(request: CrestRequest) -> bool:
    """Whether the query reads one task or one instance's tasks (not a state partition)."""
    terms = _plan_terms(request, _HISTORY_EQUAL)
    task_id, instance_id = terms.get("_id"), terms.get("processInstanceId")
    return (isinstance(task_id, str) and instance_of(task_id) is not None) or (
        isinstance(instance_id, str) and bool(instance_id)
    )


def _history_skip(
    store: ItemStore, finished: bool, following: dict[str, Page]
) -> Callable[[int, bool, int], tuple[str | None, bool]]:
    """``QuerySource.skip`` over a task state partition (``history_index.task_state_skip``):
    the page after the skipped tasks is kept in ``following`` for the fetch from its token."""

    def skip(count: int, descending: bool, then: int) -> tuple[str | None, bool]:
        token, ended, page = task_state_skip(
            store, finished, count, descending=descending, then=then
        )
        if token is not None and page is not None:
            following[token] = page
        return token, ended

    return skip


def _history_task_count(container: Services, request: CrestRequest) -> Callable[[], int] | None:
    """The maintained count of every historic task (``history_index.task_count``, one Query)
    when the query selects them all, or of one state (``task_state_count``) when it selects by
    that state alone (``_history_state_only``), and no history TTL may have expired some
    (``counts_exact``); None otherwise."""
    if not counts_exact(container, None):
        return None
    state = _history_state_only(request)
    if state is not None:
        return lambda: task_state_count(container.store, state)
    if served_terms(request, _HISTORY_EQUAL) != {}:
        return None
    return lambda: task_count(container.store)
