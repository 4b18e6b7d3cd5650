"""Queries and reads of ``job`` and ``job/deadletter`` (api-reference.md §3.6).

Both listings read a sharded ``kindShard-sort`` index (``job#n`` in the runtime table, ``dlq#n``
in the dead-letter table) merged in creation order: 8 shard Queries per read, and a filter no
key serves (``timersOnly``, ``messagesOnly``, ``withException``,
``exceptionMessage``, ``dueBefore``, ``dueAfter``) reads them within the query read budget, in
reads of at least ``layout.FILTERED_BATCH`` items (``QuerySource.batch``): a filter that one
listed job in 8 or more matches fills a page of 10 with one read (8 requests); a rarer one
reads more rounds of 8, up to the budget, then answers a short page with a cookie.
Equality served by a key instead (``filtered-query`` parameter, or an equality term of
``_queryFilter``):

* ``jobId`` (``_id``): that one job, one GetItem (a job's id locates it, dead or not);
* ``processInstanceId``, or ``executionId`` (whose id names its instance): the jobs of that
  instance's item collection, one Query (runtime jobs only: a dead-letter job is keyed by its
  own id, so the dead-letter listing is read within the budget).
* ``processDefinitionId``: the jobs of that definition's ``lookup-sort`` partition
  (``repositories.jobs.definition_jobs``), one Query per page (runtime jobs only).

``totalPagedResults`` with ``EXACT`` of an unfiltered ``job`` or ``job/deadletter`` query
(``_queryFilter=true``, ``query-all-ids``, a ``filtered-query`` without parameters) is the
listing's maintained count (``repositories.jobs.count_of``: one Query of 8 counter items, at
any size). Every transaction that writes a job adds its count (``repositories.jobs.counted``),
from the writes' conditions: +1 for a job created ``MustNotExist``, -1 for one deleted under its
version, 0 for a rewrite; an unconditioned job write raises. So the count is exact for what has
committed, whoever writes jobs concurrently. With a filter, ``EXACT`` counts within the read
budget (-1 past it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ...clock import format_iso
from ...crest import filter as crest_filter
from ...crest.request import CrestRequest
from ...errors import BadRequest, NotFound
from ...ids import instance_of
from ...storage.aggregate import retry_on_conflict
from ...storage.ports import Item
from ..container import Services
from ..querying import FILTERED_QUERY, QuerySource, date_param, flag_param, served_terms
from ..repositories.jobs import (
    DEAD_LETTER_KIND,
    JOB_KIND,
    count_of,
    counted,
    definition_jobs,
    delete_write,
    instance_jobs,
    job_listing,
)
from ..repositories.jobs import read_job as stored_job
from ..repositories.layout import FILTERED_BATCH
from .items import job_shape

__all__ = ["ITEM_FIELDS", "job_source", "read_job", "delete_job", "stacktrace"]

ITEM_FIELDS = frozenset(
    {
        "_id",
        "retries",
        "exceptionMessage",
        "tenantId",
        "jobHandlerType",
        "jobHandlerConfiguration",
        "dueDate",
        "processInstanceId",
        "executionId",
        "processDefinitionId",
        "jobType",
        "elementId",
        "elementName",
        "exclusive",
        "createTime",
    }
)
_EQUAL = {
    "jobId": "_id",
    "processDefinitionId": "processDefinitionId",
    "processInstanceId": "processInstanceId",
    "executionId": "executionId",
    "exceptionMessage": "exceptionMessage",
}


def _filtered(request: CrestRequest) -> Callable[[dict], bool]:
    timers, messages = flag_param(request, "timersOnly"), flag_param(request, "messagesOnly")
    if timers and messages:
        raise BadRequest("Cannot combine onlyTimers() with onlyMessages() in the same query")
    terms = {
        field: request.param(param)
        for param, field in _EQUAL.items()
        if request.param(param) is not None
    }
    with_exception = flag_param(request, "withException")
    due_before = format_iso(date_param(request, "dueBefore"))
    due_after = format_iso(date_param(request, "dueAfter"))

    def predicate(job: dict) -> bool:
        if any(job.get(field) != value for field, value in terms.items()):
            return False
        if timers and job.get("jobType") != "timer":
            return False
        if messages and job.get("jobType") != "message":
            return False
        if with_exception and not job.get("exceptionMessage"):
            return False
        due = job.get("dueDate") or ""
        if due_before is not None and not due < due_before:
            return False
        return due_after is None or due > due_after

    return predicate


def _terms(request: CrestRequest) -> Mapping[str, Any]:
    if request.query_filter is not None:
        return crest_filter.equality_terms(request.query_filter)
    if request.query_id == FILTERED_QUERY:
        return {field: request.param(param) for param, field in _EQUAL.items()}
    return {}


def _named(terms: Mapping[str, Any], field: str) -> str | None:
    value = terms.get(field)
    return value if isinstance(value, str) and value else None


def _instance_filter(terms: Mapping[str, Any]) -> str | None:
    """An instance id the query is limited to, when equality names one (by itself or by an
    execution of it)."""
    instance = _named(terms, "processInstanceId")
    if instance is not None:
        return instance
    execution = _named(terms, "executionId")
    return (instance_of(execution) or execution) if execution is not None else None


def job_source(container: Services, request: CrestRequest, *, dead: bool) -> QuerySource:
    """The ``QuerySource`` of ``job`` (or ``job/deadletter`` with ``dead``) queries."""
    store = container.store
    kind = DEAD_LETTER_KIND if dead else JOB_KIND
    terms = _terms(request)
    job_id = _named(terms, "_id")
    instance = None if dead else _instance_filter(terms)

    definition = None if dead else _named(terms, "processDefinitionId")

    def fetch(token: Any, limit: int) -> tuple[list[dict], Any]:
        if job_id is not None:
            item = stored_job(store, job_id, dead=dead)
            found = [item] if item is not None and item.kind == kind else []
            return [job_shape(item) for item in found], None
        if instance is not None:
            page = instance_jobs(store, instance, limit=max(limit, 1), start=token)
        elif definition is not None:
            page = definition_jobs(store, definition, limit=max(limit, 1), start=token)
        else:
            page = job_listing(store, dead=dead, limit=max(limit, 1), start=token)
        return [job_shape(item) for item in page.items if item.kind == kind], page.next_token

    listed = job_id is None and instance is None  # a listing or a definition partition
    return QuerySource(
        fetch=fetch,
        sortable=ITEM_FIELDS,
        filtered_query=_filtered,
        batch=FILTERED_BATCH if listed else 0,
        count=_listing_count(container, request, dead=dead),
    )


def _listing_count(
    container: Services, request: CrestRequest, *, dead: bool
) -> Callable[[], int | None] | None:
    """The maintained count of the whole listing, when the request selects all of it (no
    filter, ``query-all-ids``, ``_queryFilter=true``): one Query of its counter."""
    if served_terms(request, _EQUAL) != {}:
        return None
    return lambda: count_of(container.store, dead=dead)


def _load(container: Services, job_id: str, *, dead: bool) -> Item:
    item = stored_job(container.store, job_id, dead=dead)
    if item is None:
        raise NotFound(f"{'Dead-letter job' if dead else 'Job'} {job_id} not found")
    return item


def read_job(container: Services, job_id: str, *, dead: bool = False) -> dict:
    """One job (or dead-letter job); 404 when absent."""
    return job_shape(_load(container, job_id, dead=dead))


def delete_job(container: Services, job_id: str, *, dead: bool = False) -> dict:
    """Delete a job; 200 with the job as it was (a job deleted meanwhile: 404). A lost race
    (the job retried or locked meanwhile, or another commit on its counter shard) reloads and
    tries again, so a caller sees 409 only when the job keeps changing."""

    def attempt() -> dict:
        item = _load(container, job_id, dead=dead)
        container.store.transact(counted([delete_write(item, dead=dead)]))
        return job_shape(item)

    return retry_on_conflict(attempt, attempts=3, delay=0.05)


def stacktrace(container: Services, job_id: str, *, dead: bool = False) -> dict:
    """``{"_id", "stacktrace": text | null}``."""
    return {"_id": job_id, "stacktrace": _load(container, job_id, dead=dead).data.get("stacktrace")}
