"""Queries of ``processinstance`` (running instances) and ``processinstance/history``.

Reads (api-reference.md §3.3 parameters; items in the §8 shape):

* running instances: the runtime table's sharded ``kindShard-sort`` index (``instance#0..7``,
  headers only: an ended header leaves the index), merged in start-time order. The header
  carries the instance-scope variables (``listed_variables``), or when they do not fit their
  names (``variable_names``): the page's named variables cost one BatchGetItem per 100
  (``_Carried``); only an instance with more than 100 variables costs one Query of them;
* running instances with a top-level ``eq`` on business key, super instance, start user,
  definition id or key (or the same ``filtered-query`` parameters): one partition of the
  ``lookup-sort`` index (``LOOKUP_FIELDS``), in the same start order; the whole predicate is
  still evaluated on what it returns;
* history: the history table's ``kindShard-sort`` index (``hpi#0..7``), or with an indexed
  equality and/or a required state (``finished``/``unfinished``, ``endTime pr``) its
  ``lookup-sort`` partitions plus one BatchGetItem of the process items
  (``history_index.lookup_page``); each process item carries its ``listed_variables`` or their
  names, read as a running page's are;
* ``_id``/``processInstanceId`` equality (filter or parameter) reads that one instance instead
  of the listing.

Variables are skipped (no read) when the answer cannot need them: ``_fields``
without ``processVariables`` (and without an empty field, "all fields") and no filter or
``var-`` parameter.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from ...clock import format_iso
from ...crest import filter as crest_filter
from ...crest.fields import all_fields
from ...crest.request import CrestRequest
from ...storage.ports import Page
from ..container import Services
from ..querying import (
    FILTERED_QUERY,
    QUERY_ALL_IDS,
    QuerySource,
    date_param,
    flag_param,
    run_query,
    served_terms,
)
from ..repositories.history import carried_historic_variables, read_process
from ..repositories.history_index import (
    FINISHED,
    UNFINISHED,
    counts_exact,
    history_count,
    lookup_page,
    lookup_processes,
    lookup_skip,
)
from ..repositories.instance_reads import (
    carried_runtime_variables,
    instance_lookup,
    instance_records,
    is_header,
    keyed_headers,
    lookup_count,
    running_count,
    running_listing,
    running_skip,
    variable_count,
    variable_lookup,
    variable_skip,
)
from ..repositories.instances import LISTED_VARIABLES, variable_prefix, variable_text
from .shapes import (
    ITEM_FIELDS,
    DefinitionNames,
    history_item,
    instance_item,
)

__all__ = [
    "query_running",
    "query_history",
    "SORT_KEYS",
    "EQUAL_PARAMS",
    "DATE_PARAMS",
    "running_source",
    "history_source",
    "filtered_predicate",
    "sort_aliases",
]

#: api-reference.md §3.3 sort keys (plus every item field)
SORT_KEYS = ITEM_FIELDS | {"processInstanceBusinessKey"}
_SORT_ALIASES = {"processInstanceBusinessKey": "businessKey"}
#: filtered-query parameters compared for equality, and the item field each one reads
EQUAL_PARAMS = {
    "processDefinitionId": "processDefinitionId",
    "processDefinitionKey": "processDefinitionKey",
    "processInstanceBusinessKey": "businessKey",
    "processInstanceId": "_id",
    "superProcessInstanceId": "superProcessInstanceId",
    "startUserId": "startUserId",
}
#: date-bound parameters: (item field, True for a lower bound); bounds are inclusive
DATE_PARAMS = {
    "startedAfter": ("startTime", True),
    "startedBefore": ("startTime", False),
    "finishedAfter": ("endTime", True),
    "finishedBefore": ("endTime", False),
}
VAR_PREFIX = "var-"
Item = dict[str, Any]
#: item fields served by the ``lookup-sort`` index, most selective first, and their attribute
LOOKUP_FIELDS = {
    "businessKey": "bk",
    "superProcessInstanceId": "sup",
    "startUserId": "su",
    "processDefinitionId": "pdi",
    "processDefinitionKey": "pdk",
}


def _as_text(value: Any) -> str | None:
    """A variable's value as IDM compares it with a ``var-`` parameter (a string); the variable
    lookup items are keyed by the same text."""
    return variable_text(value)


def filtered_predicate(request: CrestRequest) -> Callable[[Item], bool]:
    """The ``filtered-query`` predicate (unknown parameters are ignored, as in IDM)."""
    terms = {
        field: request.param(param)
        for param, field in EQUAL_PARAMS.items()
        if request.param(param) is not None
    }
    bounds = [
        (field, lower, bound)
        for param, (field, lower) in DATE_PARAMS.items()
        if (bound := format_iso(date_param(request, param))) is not None
    ]
    variables = {
        name[len(VAR_PREFIX) :]: request.param(name)
        for name in request.additional_parameter_lists
        if name.startswith(VAR_PREFIX)
    }
    finished, unfinished = flag_param(request, "finished"), flag_param(request, "unfinished")
    involved = request.param("involvedUserId")

    def predicate(item: Item) -> bool:
        if any(item.get(field) != value for field, value in terms.items()):
            return False
        if finished and item.get("endTime") is None or unfinished and item.get("endTime"):
            return False
        if involved is not None and item.get("startUserId") != involved:
            return False
        for field, lower, bound in bounds:
            value = item.get(field)
            if value is None or (value < bound if lower else value > bound):
                return False
        values = item.get("processVariables") or {}
        return all(_as_text(values.get(name)) == expected for name, expected in variables.items())

    return predicate


def sort_aliases(request: CrestRequest) -> CrestRequest:
    """The request with IDM's sort key names mapped to item fields."""
    if not any(key.name in _SORT_ALIASES for key in request.sort_keys):
        return request
    keys = tuple(
        dataclasses.replace(key, field=(_SORT_ALIASES[key.name],))
        if key.name in _SORT_ALIASES
        else key
        for key in request.sort_keys
    )
    return dataclasses.replace(request, sort_keys=keys)


def _selects_by_variables(request: CrestRequest) -> bool:
    """Whether choosing or ordering the items reads ``processVariables`` (a filter or sort key
    on them, a ``var-`` parameter): then every item read needs its variables."""
    if request.query_filter is not None and any(
        segments[:1] == ("processVariables",)
        for segments in crest_filter.referenced_fields(request.query_filter)
    ):
        return True
    if any(key.field[:1] == ("processVariables",) for key in request.sort_keys):
        return True
    return request.query_id == FILTERED_QUERY and any(
        name.startswith(VAR_PREFIX) for name in request.additional_parameter_lists
    )


def _needs_variables(request: CrestRequest) -> bool:
    if request.query_filter is not None:
        return True
    if request.query_id == FILTERED_QUERY and any(
        name.startswith(VAR_PREFIX) for name in request.additional_parameter_lists
    ):
        return True
    if not all_fields(request.fields):
        return any(segments[:1] == ("processVariables",) for segments in request.fields)
    return True


def _wanted_id(request: CrestRequest) -> str | None:
    """An instance id the query must equal (then one instance is read, not the listing)."""
    if request.query_filter is not None:
        terms = crest_filter.equality_terms(request.query_filter)
        value = terms.get("_id", terms.get("processInstanceId"))
    elif request.query_id == FILTERED_QUERY:
        value = request.param("processInstanceId")
    else:
        value = None
    return value if isinstance(value, str) and value else None


def _lookup_term(request: CrestRequest) -> tuple[str, str] | None:
    """``(lookup attribute, value)`` of the most selective indexed equality the query requires
    of every item (None: nothing to look up)."""
    terms: Mapping[str, Any]
    if request.query_filter is not None:
        terms = crest_filter.equality_terms(request.query_filter)
    elif request.query_id == FILTERED_QUERY:
        terms = {field: request.param(param) for param, field in EQUAL_PARAMS.items()}
    else:
        return None
    for field, attribute in LOOKUP_FIELDS.items():
        value = terms.get(field)
        if isinstance(value, str):
            return attribute, value
    return None


#: lookup attributes near-unique per value: preferred to a variable lookup
_UNIQUE_LOOKUPS = frozenset({"bk", "sup"})


def _filter_texts(value: Any) -> tuple[str, ...]:
    """The variable texts a ``_queryFilter`` ``eq`` value can match: a number equals the
    integer and the floating point spelling of itself (``7`` and ``7.0``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        text = variable_text(value)
        return (text,) if text is not None else ()
    spellings: list[Any] = [value]
    if isinstance(value, float) and value.is_integer():
        spellings.append(int(value))
    elif isinstance(value, int) and abs(value) < 2**1023 and float(value) == value:
        spellings.append(float(value))  # exactly: 2**53 + 1 has no float spelling
    return tuple(dict.fromkeys(t for v in spellings if (t := variable_text(v)) is not None))


def _variable_term(request: CrestRequest) -> tuple[str, tuple[str, ...]] | None:
    """``(variable name, texts)`` of an instance-scope variable equality the query requires of
    every item: the first ``var-`` parameter of a ``filtered-query``, or a top-level
    ``processVariables/<name> eq <value>`` of a filter (None: none)."""
    if request.query_filter is not None:
        for segments, value in crest_filter.equality_paths(request.query_filter).items():
            if len(segments) == 2 and segments[0] == "processVariables" and segments[1]:
                texts = _filter_texts(value)
                if texts:
                    return segments[1], texts
        return None
    if request.query_id != FILTERED_QUERY:
        return None
    for param in request.additional_parameter_lists:
        given = request.param(param)
        if param.startswith(VAR_PREFIX) and len(param) > len(VAR_PREFIX) and given is not None:
            return param[len(VAR_PREFIX) :], (given,)
    return None


#: shapes the data of a batch of headers (or historic process items) into query items
Shape = Callable[[list[Mapping[str, Any]]], list[Item]]


def _listing(
    container: Services, read: Callable[..., Page], shape: Shape, *, descending: bool = False
) -> Callable:
    def fetch(token: Any, limit: int) -> tuple[list[Item], Any]:
        page = read(container.store, limit=max(limit, 1), start=token, descending=descending)
        return shape([item.data for item in page.items]), page.next_token

    return fetch


def _in_start_order(
    container: Services, read: Callable[..., Page], shape: Shape, **source: Any
) -> QuerySource:
    """A source over a listing sorted by ``<startTime>#<id>``: ``_sortKeys=startTime`` or
    ``-startTime`` alone reads it in that order, page by page, within the read budget."""
    return QuerySource(
        fetch=_listing(container, read, shape),
        fetch_descending=_listing(container, read, shape, descending=True),
        ordered_by="startTime",
        **source,
    )


def _single(fetch_one: Callable[[], Item | None]) -> Callable:
    def fetch(token: Any, limit: int) -> tuple[list[Item], Any]:
        found = fetch_one()
        return ([found] if found is not None else []), None

    return fetch


class _Carried:
    """The variables of the items a query reads, from what their headers (or historic process
    items) carry (``carried_runtime_variables``/``carried_historic_variables``, ``read``).

    ``upfront`` (choosing or ordering the items looks at their variables): every batch read
    gets all its variables at once, listed ones free, named ones in one BatchGetItem per 100.
    Else a batch gets only its listed ones (no read), and ``complete`` reads the rest for the
    answered page alone, in the same way.
    """

    def __init__(
        self, container: Services, read: Callable[..., dict[str, dict]], upfront: bool
    ) -> None:
        self._store = container.store
        self._read = read
        self._upfront = upfront
        #: the data of the items whose variables were left for ``complete``, by instance id
        self._deferred: dict[str, Mapping[str, Any]] = {}

    def of(self, carriers: list[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
        if self._upfront:
            return self._read(self._store, carriers)
        listed = [c for c in carriers if isinstance(c.get(LISTED_VARIABLES), dict)]
        found = self._read(self._store, listed)  # no read: they carry their values
        self._deferred.update((c["id"], c) for c in carriers if c["id"] not in found)
        return found

    def complete(self, items: list[Item]) -> list[Item]:
        wanted = [self._deferred[item["_id"]] for item in items if item["_id"] in self._deferred]
        found = self._read(self._store, wanted) if wanted else {}
        return [
            dict(item, processVariables=found[item["_id"]]) if item["_id"] in found else item
            for item in items
        ]


def running_source(container: Services, request: CrestRequest) -> QuerySource:
    """The ``QuerySource`` of ``processinstance`` queries (running instances only)."""
    names = DefinitionNames(container)
    with_variables = _needs_variables(request)
    variables = _Carried(container, carried_runtime_variables, _selects_by_variables(request))

    def shape(headers: list[Mapping[str, Any]]) -> list[Item]:
        found = variables.of(headers) if with_variables else {}
        return [instance_item(header, names, found.get(header["id"], {})) for header in headers]

    wanted = _wanted_id(request)
    lookup = _lookup_term(request)
    if wanted is not None:

        def one() -> Item | None:
            items = instance_records(container.store, wanted)
            header = next((i.data for i in items if is_header(i) and i.data.get("id")), None)
            if header is None or header.get("end_time"):
                return None
            variables = {
                i.data["name"]: i.data.get("value")
                for i in items
                if i.sk.startswith(variable_prefix(wanted))
            }
            return instance_item(header, names, variables)

        return QuerySource(
            fetch=_single(one), sortable=SORT_KEYS, filtered_query=filtered_predicate
        )
    read: Callable[..., Page] = running_listing
    extra: dict[str, Any] = {}
    variable = (
        _variable_term(request) if lookup is None or lookup[0] not in _UNIQUE_LOOKUPS else None
    )
    if variable is not None:
        name, texts = variable

        def read(store: Any, **page: Any) -> Page:
            return variable_lookup(store, name, texts, **page)

        if _skips_by_variable_keys(container, request, name):
            extra["skip"] = lambda count, descending, then: variable_skip(
                container.store, name, texts, count, descending=descending
            )

    elif lookup is not None:
        attribute, value = lookup

        def read(store: Any, **page: Any) -> Page:
            return instance_lookup(store, attribute, value, **page)

    if variable is None and _running_exact(request, lookup):
        extra["skip"], read = _skipping(container, lookup, read)
    return _in_start_order(
        container,
        read,
        shape,
        sortable=SORT_KEYS,
        filtered_query=filtered_predicate,
        complete=variables.complete,
        count=_running_count(container, request),
        **extra,
    )


def _running_exact(request: CrestRequest, lookup: tuple[str, str] | None) -> bool:
    """Whether the running listing (``lookup`` None) or the ``lookup-sort`` partition of
    ``lookup`` holds exactly the instances the request selects: no filter but that equality
    (then an offset is skipped on the instances' key items: ``instance_reads.running_skip``)."""
    terms = served_terms(request, EQUAL_PARAMS)
    if terms is None or not request.paged_results_offset:
        return False
    if lookup is None:
        return terms == {}
    if len(terms) != 1:
        return False
    [(field, term)] = terms.items()
    return LOOKUP_FIELDS.get(field) == lookup[0] and term == lookup[1]


def _skipping(
    container: Services, lookup: tuple[str, str] | None, read: Callable[..., Page]
) -> tuple[Callable[[int, bool, int], tuple[str | None, bool]], Callable[..., Page]]:
    """``(skip, read)``: an offset's skip on the key items of the running listing or of the
    lookup partition ``lookup`` (``running_skip``), and ``read`` answering the page right after
    it from the key items the skip read (their headers: one BatchGetItem, no Query again)."""
    attribute, value = lookup or (None, None)
    #: key items read by an offset's skip, by the token they start at
    following: dict[str, Page] = {}

    def skip(count: int, descending: bool, then: int) -> tuple[str | None, bool]:
        token, ended, keys = running_skip(
            container.store,
            count,
            attribute=attribute,
            value=value,
            descending=descending,
            then=then,
        )
        if token is not None and keys is not None:
            following[token] = keys
        return token, ended

    def after_skip(store: Any, **page: Any) -> Page:
        keys = following.pop(page.get("start") or "", None)
        if keys is not None:
            return keyed_headers(store, keys)
        return read(store, **page)

    return skip, after_skip


def _skips_by_variable_keys(container: Services, request: CrestRequest, name: str) -> bool:
    """Whether an ``_pagedResultsOffset`` of a ``var-<name>`` query is skipped on the variable
    partition's key-only items: the request has an offset and selects by that one parameter
    alone, and no running instance is in the ``VARIABLE_OVERFLOW`` partition (one counter
    Query, made only for a request with an offset)."""
    params = request.additional_parameters
    if not request.paged_results_offset or request.query_id != FILTERED_QUERY:
        return False
    if request.query_filter is not None or list(params) != [VAR_PREFIX + name]:
        return False
    return variable_count(container.store, name, params[VAR_PREFIX + name]) is not None


def _running_count(container: Services, request: CrestRequest) -> Callable[[], int | None] | None:
    """The maintained count that answers ``request`` exactly, if one does: the running listing
    for no filter, a ``lookup-sort`` partition for one equality on a looked-up field or one
    ``var-<name>`` parameter alone."""
    params = request.additional_parameters
    if request.query_id == FILTERED_QUERY and request.query_filter is None and len(params) == 1:
        [(name, text)] = params.items()
        if name.startswith(VAR_PREFIX) and len(name) > len(VAR_PREFIX):
            return lambda: variable_count(container.store, name[len(VAR_PREFIX) :], text)
    terms = served_terms(request, EQUAL_PARAMS)
    if terms == {}:
        return lambda: running_count(container.store)
    if terms is not None and len(terms) == 1:
        [(field, value)] = terms.items()
        attribute = LOOKUP_FIELDS.get(field)
        if attribute is not None and isinstance(value, str):
            return lambda: lookup_count(container.store, attribute, value)
    return None


def _history_state(request: CrestRequest) -> str | None:
    """The state every answered historic instance must be in (``finished``/``unfinished``),
    when the query requires one: ``filtered-query``'s ``finished=true``/``unfinished=true``, or
    a top-level AND-ed ``endTime pr`` / ``!(endTime pr)`` of ``_queryFilter``."""
    if request.query_filter is not None:
        pending = [request.query_filter]
        while pending:
            node = pending.pop(0)
            if isinstance(node, crest_filter.And):
                pending[0:0] = list(node.operands)
            elif isinstance(node, crest_filter.Presence) and tuple(node.field) == ("endTime",):
                return FINISHED
            elif (
                isinstance(node, crest_filter.Not)
                and isinstance(node.operand, crest_filter.Presence)
                and tuple(node.operand.field) == ("endTime",)
            ):
                return UNFINISHED
        return None
    if request.query_id == FILTERED_QUERY:
        if flag_param(request, "finished"):
            return FINISHED
        if flag_param(request, "unfinished"):
            return UNFINISHED
    return None


def _history_selection(request: CrestRequest) -> tuple[dict[str, Any], str | None] | None:
    """``(equality terms, state)`` when the query selects its historic instances by nothing
    else (``_queryFilter`` of ``eq`` terms and at most an ``endTime pr`` or ``!(endTime pr)``,
    a ``filtered-query`` of equality parameters and ``finished``/``unfinished``); else None."""
    state = _history_state(request)
    if request.query_filter is not None:
        states: set[str] = set()
        kept = crest_filter.And(tuple(_without_state(request.query_filter, states)))
        found = crest_filter.conjunction_terms(kept)
        if found is None or len(states) > 1:  # both states: nothing matches, nothing to count
            return None
        return found, state
    if request.query_id == QUERY_ALL_IDS:
        return {}, None
    if request.query_id != FILTERED_QUERY:
        return None
    if flag_param(request, "finished") and flag_param(request, "unfinished"):
        return None
    terms: dict[str, Any] = {}
    for name, value in request.additional_parameters.items():
        if name in ("finished", "unfinished"):
            continue
        field_name = EQUAL_PARAMS.get(name)
        if field_name is None:
            return None
        terms[field_name] = value
    return terms, state


def _without_state(node: crest_filter.Node, states: set[str]) -> list[crest_filter.Node]:
    """The top-level AND-ed terms of ``node`` but ``endTime pr`` and ``!(endTime pr)``, whose
    states go into ``states``."""
    operands = list(node.operands) if isinstance(node, crest_filter.And) else [node]
    kept: list[crest_filter.Node] = []
    for operand in operands:
        if isinstance(operand, crest_filter.And):
            kept.extend(_without_state(operand, states))
        elif isinstance(operand, crest_filter.Presence) and tuple(operand.field) == ("endTime",):
            states.add(FINISHED)
        elif (
            isinstance(operand, crest_filter.Not)
            and isinstance(operand.operand, crest_filter.Presence)
            and tuple(operand.operand.field) == ("endTime",)
        ):
            states.add(UNFINISHED)
        else:
            kept.append(operand)
    return kept


def _history_count(container: Services, request: CrestRequest) -> Callable[[], int] | None:
    """The maintained count that answers a history query exactly, if one does: all, finished
    or unfinished instances, or those of one looked-up equality in either or both states
    (``history_index.history_count``, one request); None when the count cannot hold (a
    history TTL: ``counts_exact``) or the query selects by anything else."""
    selection = _history_selection(request)
    if selection is None:
        return None
    terms, state = selection
    if not counts_exact(container, state):
        return None
    if not terms:
        return lambda: history_count(container.store, state=state)
    if len(terms) == 1:
        [(field, value)] = terms.items()
        attribute = LOOKUP_FIELDS.get(field)
        if attribute is not None and isinstance(value, str):
            return lambda: history_count(container.store, attribute, value, state)
    return None


def history_source(container: Services, request: CrestRequest) -> QuerySource:
    """The ``QuerySource`` of ``processinstance/history`` queries (finished and running).

    Served in start order by the history ``lookup-sort`` partitions of the most selective
    indexed equality and the state the query requires (``history_index.lookup_page``), else by
    the ``hpi`` listing; the whole predicate is still evaluated on what they return. Items
    carry the process item's ``listed_variables``; those whose variables do not fit are read
    by name for the answered page (for every batch read, when choosing the items needs them:
    ``_Carried``)."""
    names = DefinitionNames(container)
    upfront = _selects_by_variables(request)
    variables = _Carried(container, carried_historic_variables, upfront)

    def shape(records: list[Mapping[str, Any]]) -> list[Item]:
        found = variables.of(records)
        return [history_item(record, names, found.get(record["id"], {})) for record in records]

    extra: dict[str, Any] = (
        {"complete": variables.complete} if not upfront and _needs_variables(request) else {}
    )

    wanted = _wanted_id(request)
    if wanted is not None:

        def one() -> Item | None:
            found = read_process(container.store, wanted)
            return shape([found.data])[0] if found is not None else None

        return QuerySource(
            fetch=_single(one), sortable=SORT_KEYS, filtered_query=filtered_predicate, **extra
        )
    attribute, value = _lookup_term(request) or (None, None)
    state = _history_state(request)

    #: lookup items read by an offset's skip, by the token they start at (``lookup_skip``)
    following: dict[str, Page] = {}

    def read(store: Any, **page: Any) -> Page:
        keys = following.pop(page.get("start") or "", None)
        if keys is not None:
            return lookup_processes(store, keys)
        return lookup_page(store, attribute, value, state, **page)

    def skip(count: int, descending: bool, then: int) -> tuple[str | None, bool]:
        token, ended, keys = lookup_skip(
            container.store, attribute, value, state, count, descending=descending, then=then
        )
        if token is not None and keys is not None:
            following[token] = keys
        return token, ended

    if _history_exact(request, attribute, value, state):
        extra["skip"] = skip
    return _in_start_order(
        container,
        read,
        shape,
        sortable=SORT_KEYS,
        filtered_query=filtered_predicate,
        count=_history_count(container, request),
        **extra,
    )


def _history_exact(
    request: CrestRequest, attribute: str | None, value: str | None, state: str | None
) -> bool:
    """Whether the ``lookup-sort`` partitions ``lookup_page`` reads for ``attribute``,
    ``value`` and ``state`` hold exactly the historic instances the request selects (then an
    offset is skipped on their key-only items: ``history_index.lookup_skip``)."""
    selection = _history_selection(request)
    if selection is None or selection[1] != state:
        return False
    terms = selection[0]
    if not terms:
        return attribute is None and state is not None
    if len(terms) != 1 or attribute is None:
        return False
    [(field, term)] = terms.items()
    return LOOKUP_FIELDS.get(field) == attribute and term == value


def query_running(container: Services, request: CrestRequest) -> dict:
    """The CREST query envelope of ``processinstance``."""
    request = sort_aliases(request)
    return run_query(
        request,
        running_source(container, request),
        max_page_size=container.settings.max_page_size,
        read_budget=container.settings.query_read_budget,
    )


def query_history(container: Services, request: CrestRequest) -> dict:
    """The CREST query envelope of ``processinstance/history``."""
    request = sort_aliases(request)
    return run_query(
        request,
        history_source(container, request),
        max_page_size=container.settings.max_page_size,
        read_budget=container.settings.query_read_budget,
    )
