"""Running a CREST query over a storage source: query ids, filters, sorting, paging, fields.

A resource describes its collection with a ``QuerySource``: how to read its items page by page
from storage (already in the resource's JSON shape), which sort keys it accepts, and the
predicates of its ``filtered-query`` parameters. ``run_query`` does the rest the same way for
every resource:

* ``_queryId=query-all-ids``: items with ``_id`` only; ``_queryFilter``: any valid filter,
  evaluated over each item; ``_queryId=filtered-query``: the resource's parameter predicates;
  another ``_queryId``: 400 ``Unknown query-id``.
* One request reads at most ``read_budget`` items from storage (``WORKFLOW_QUERY_READ_BUDGET``),
  counted before filtering.
* Without ``_sortKeys``, pages are read lazily. A page ends when it is full or when the budget
  is spent; either way its cookie resumes exactly where the reading stopped, so a filter that
  matches little gives short (even empty) pages with cookies rather than reading the whole
  listing. ``_pagedResultsOffset`` skips matching items: a source whose listing the request
  selects exactly (``QuerySource.skip``: an index partition of key-only items) skips up to
  ``MAX_OFFSET`` of them by reading their keys alone, then reads the page's items only;
  otherwise the items it skips are read on top of the budget, up to ``MAX_OFFSET`` of them (so
  a request costs what it asks for: its offset plus its page); an offset past that answers an
  empty page whose cookie carries the rest of the skip.
* ``EXACT``/``ESTIMATE`` counts come from the source's maintained count (``QuerySource.count``:
  one request) when the request selects exactly what the source lists (no filter beyond the
  equality the source's index serves), else from reading the whole matching set when it fits
  in the budget left after the page; otherwise ``totalPagedResults`` is -1.
* With ``_sortKeys``, the whole matching set is read (within the budget), sorted, then paged by
  offset; a matching set the budget cannot read is a 400 naming the budget (sorting part of
  it would give a silently wrong order).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..crest import filter as crest_filter
from ..crest.enums import CountPolicy
from ..crest.fields import select_fields
from ..crest.paging import (
    Pager,
    PageResult,
    effective_page_size,
    encode_cookie,
    page,
    sort_items,
)
from ..crest.request import CrestRequest
from ..crest.responses import order_keys, query_envelope
from ..errors import BadRequest

__all__ = [
    "QuerySource",
    "run_query",
    "served_terms",
    "MAX_OFFSET",
    "budget_exceeded",
    "QUERY_ALL_IDS",
    "FILTERED_QUERY",
    "flag_param",
    "date_param",
]

QUERY_ALL_IDS = "query-all-ids"
FILTERED_QUERY = "filtered-query"
#: items an ``_pagedResultsOffset`` may skip on top of the read budget, per request
MAX_OFFSET = 10_000


def flag_param(request: CrestRequest, name: str) -> bool:
    """A ``filtered-query`` flag as IDM's ``Boolean.parseBoolean``: only ``true`` (any case)."""
    return (request.param(name) or "").strip().lower() == "true"


def date_param(request: CrestRequest, name: str) -> datetime | None:
    """A ``filtered-query`` date-time parameter (UTC), None when absent; 400 naming it when it
    is not ISO-8601."""
    from ..clock import parse_iso

    value = request.param(name)
    if value is None:
        return None
    try:
        return parse_iso(value)
    except ValueError:
        raise BadRequest(
            f"The value '{value}' for parameter '{name}' is not an ISO-8601 date-time"
        ) from None


Item = dict[str, Any]
Fetch = Callable[[Any, int], "tuple[Sequence[Item], Any]"]


@dataclass
class QuerySource:
    """What a resource tells ``run_query`` about its collection."""

    fetch: Fetch
    #: the sort keys of ``api-reference.md`` plus every top-level field of the item shape
    sortable: frozenset[str]
    #: ``filtered-query``: builds the predicate from the request's additional parameters
    filtered_query: Callable[[CrestRequest], Callable[[Item], bool]] | None = None
    #: further query ids this resource serves (``unassignedTaskQuery``, say)
    query_ids: dict[str, Callable[[CrestRequest], Callable[[Item], bool]]] = field(
        default_factory=dict
    )
    #: what the caller may see (authorization filtering); None: everything
    visible: Callable[[Item], bool] | None = None
    #: the field ``fetch`` already returns items in ascending order of (ties in storage order),
    #: with ``fetch_descending`` reading the same items in the opposite order: a sort on that
    #: field alone is then read page by page within the budget instead of as a whole set
    ordered_by: str | None = None
    fetch_descending: Fetch | None = None
    #: completes the items of the answered page only (reads the filter and sort did not need,
    #: such as a historic instance's variables), so items read but not answered cost nothing more
    complete: Callable[[list[Item]], list[Item]] | None = None
    #: the number of items ``fetch`` lists, from a maintained count (see ``served_terms``): set
    #: only when the request's predicate selects every one of them; it may answer None (no
    #: count can tell: then the matching set is counted by reading, within the budget)
    count: Callable[[], int | None] | None = None
    #: ``skip(n, descending, then)``: positions a read of ``fetch`` (``descending``: of
    #: ``fetch_descending``) after its first ``n`` items by reading index keys only (no item,
    #: no variable), as ``(storage token, ended)``; set only when every item ``fetch`` lists
    #: matches the request (as ``count``), so an ``_pagedResultsOffset`` costs the skipped
    #: keys. ``then``: the items the page will fetch from there, which the source may read
    #: with the skip and answer the page's first fetch from (no second Query of the keys)
    skip: Callable[[int, bool, int], tuple[Any, bool]] | None = None
    #: the least a fetch asks for when the request filters what ``fetch`` lists (a listing of
    #: 8 shards costs 8 Queries per fetch whatever it returns): ``Pager``'s ``batch``
    batch: int = 0


def served_terms(request: CrestRequest, equal_params: Mapping[str, str]) -> dict[str, Any] | None:
    """The equality terms a query selects its items by, when it selects by nothing else: ``{}``
    for ``_queryFilter=true``, ``query-all-ids`` or a ``filtered-query`` without parameters;
    ``{field: value}`` for a filter that is only ``eq`` terms (``crest.filter.conjunction_terms``)
    or a ``filtered-query`` whose every parameter is one of ``equal_params`` (parameter -> item
    field); None otherwise. A source whose index partition is keyed by exactly these terms can
    answer a count from the partition's counter."""
    if request.query_filter is not None:
        return crest_filter.conjunction_terms(request.query_filter)
    if request.query_id == QUERY_ALL_IDS:
        return {}
    if request.query_id != FILTERED_QUERY:
        return None
    terms: dict[str, Any] = {}
    for name, value in request.additional_parameters.items():
        field_name = equal_params.get(name)
        if field_name is None or terms.get(field_name, value) != value:
            return None
        terms[field_name] = value
    return terms


def _predicate(request: CrestRequest, source: QuerySource) -> Callable[[Item], bool]:
    if request.query_filter is not None:
        node = request.query_filter
        return lambda item: crest_filter.matches(node, item)
    query_id = request.query_id
    if query_id == QUERY_ALL_IDS:
        return lambda item: True
    if query_id == FILTERED_QUERY and source.filtered_query is not None:
        return source.filtered_query(request)
    if query_id in source.query_ids:
        return source.query_ids[query_id](request)
    if query_id is None and request.query_expression is not None:
        raise BadRequest("_queryExpression is not supported; use _queryFilter")
    raise BadRequest(f"Unknown query-id: {query_id!r}")


def _shape(item: Item, request: CrestRequest) -> Item:
    """An answered item: whole, ``query-all-ids`` included (as WrenIDM and OpenIDM answer it;
    the IDM UIs read ``name`` and ``key`` from it: DECISIONS.md), or as ``_fields`` selects."""
    if request.fields:
        return order_keys(select_fields(item, request.fields))
    return order_keys(item)


def budget_exceeded(budget: int) -> BadRequest:
    """The 400 of a sorted query whose matching set cannot be read within the budget."""
    return BadRequest(
        f"Sorting this query needs every matching item, and it reads more than the query read "
        f"budget of {budget} items (WORKFLOW_QUERY_READ_BUDGET); narrow it with a filter an "
        "index serves, or page it without _sortKeys"
    )


def _ordered_fetch(request: CrestRequest, source: QuerySource) -> Fetch | None:
    """The fetch that returns items in the order the request sorts them, when it sorts on
    the source's own order alone (``startTime`` of an instance listing, say)."""
    if len(request.sort_keys) != 1 or source.ordered_by is None:
        return None
    [key] = request.sort_keys
    if key.name != source.ordered_by:
        return None
    return source.fetch if key.ascending else source.fetch_descending


def run_query(
    request: CrestRequest, source: QuerySource, *, max_page_size: int, read_budget: int
) -> dict:
    """The CREST query envelope for ``request`` over ``source``, reading at most
    ``read_budget`` items from storage (DECISIONS.md "Bounded work per request")."""
    if read_budget < 1:
        raise ValueError("read_budget must be >= 1")
    matches = _predicate(request, source)
    visible = source.visible
    predicate = matches if visible is None else (lambda item: visible(item) and matches(item))
    policy = request.total_paged_results_policy or CountPolicy.NONE
    counted = policy in (CountPolicy.EXACT, CountPolicy.ESTIMATE)
    if request.sort_keys:
        sort_items((), request.sort_keys, allowed=source.sortable)  # a bad key is a 400 first
    fetch = _ordered_fetch(request, source) if request.sort_keys else source.fetch
    if fetch is None:
        scanned = Pager(source.fetch, predicate).scan(read_budget)
        if not scanned.complete:
            raise budget_exceeded(read_budget)
        ordered = sort_items(scanned.items, request.sort_keys)
        envelope = page(
            ordered,
            request.page_size,
            offset=request.paged_results_offset,
            cookie=request.paged_results_cookie,
            max_page_size=max_page_size,
            count_policy=policy,
        )
        envelope["result"] = [
            _shape(item, request) for item in _completed(source, envelope["result"])
        ]
        envelope["resultCount"] = len(envelope["result"])
        return envelope
    size = effective_page_size(request.page_size, max_page_size)
    thinned = source.count is None and served_terms(request, {}) != {}
    pager = Pager(fetch, predicate, batch=source.batch if thinned else 0)
    offset = request.paged_results_offset
    cookie = request.paged_results_cookie
    result: PageResult[Item] | None = None
    if offset and source.skip is not None and visible is None and offset <= MAX_OFFSET:
        descending = fetch is source.fetch_descending and fetch is not source.fetch
        token, ended = source.skip(offset, descending, size + 1)
        if ended:
            result = PageResult([], None, 0)
        else:
            cookie, offset = encode_cookie({"token": token, "consumed": 0}), 0
    if result is None:
        result = pager.page(
            size, cookie=cookie, offset=offset, budget=read_budget + min(offset, MAX_OFFSET)
        )
    total = None
    if counted and source.count is not None and visible is None:
        total = source.count()
    if counted and total is None:
        from_start = not request.paged_results_cookie and not request.paged_results_offset
        if from_start and result.cookie is None:
            total = len(result.items)  # the whole set was read for this page
        elif result.read < read_budget:
            counting = Pager(fetch, predicate).scan(read_budget - result.read)
            total = len(counting.items) if counting.complete else None  # -1: unknown
    answered = _completed(source, list(result.items))
    return query_envelope([_shape(item, request) for item in answered], result.cookie, total)


def _completed(source: QuerySource, items: list[Item]) -> list[Item]:
    return source.complete(items) if source.complete is not None else items


def shaped(items: Iterable[Item]) -> list[Item]:
    """Items with ``_id`` and ``_rev`` first (CREST's order)."""
    return [order_keys(item) for item in items]
