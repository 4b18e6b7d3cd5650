"""Job items: where a job lives in the runtime and dead-letter tables, and its index entries.

============================  =======================  ============  ===================================
table, partition (``pk``)     sort key (``sk``)        ``kind``      index attributes
============================  =======================  ============  ===================================
runtime, instance id ``I``    ``job#<job id>``         job           ``kind_shard=job#n``,
                                                                     ``sort=<createTime>#<id>``;
                                                                     ``due_shard=due#n``,
                                                                     ``due_at=<ISO due time>#<id>``
runtime, the job id           ``job#<job id>``         job           (a job without an instance: a
                                                                     signal broadcast) same indexes
dead-letter, the job id       ``#job``                 deadletter    ``kind_shard=dlq#n``,
                                                                     ``sort=<createTime>#<id>``
============================  =======================  ============  ===================================

A job's id is ``ids.child_id(I)``, so the id alone locates it. The ``job#n`` and ``dlq#n``
shards are the ``job`` and ``job/deadletter`` listings; ``due#n`` is the due-date index the
sweep reads (every job has a due time: ``createTime`` when it may run at once).

A runtime job of a definition also carries ``lookup=jobdef=<processDefinitionId>`` (hashed when
long, as ``instances.lookup_key``): the jobs of one definition are a partition of the
``lookup-sort`` index, in creation order (``sort``), so ``processDefinitionId`` queries read it
(``definition_jobs``: one Query per page) instead of the listing. No write more: the attribute
rides on the job item (one more index entry written with it; a retry or a lock rewrites it
with the item). Not counted (``counters.membership`` skips jobs). Jobs written before it gain
it from the backfill (``lookup_repair``) or their next rewrite.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from ... import ids
from ...clock import format_iso
from ...storage.ports import (
    Delete,
    Index,
    Item,
    ItemStore,
    KeyRange,
    Page,
    Put,
    Table,
    VersionIs,
)
from ...storage.sharding import query_shards, shard_for, shard_key
from .instances import lookup_key
from .layout import DUE_SHARDS, LIST_SHARDS, listing

__all__ = [
    "rescheduled_job",
    "job_without",
    "JOB_KIND",
    "DEAD_LETTER_KIND",
    "JOB_LISTING",
    "DEAD_LETTER_LISTING",
    "job_key",
    "job_id_of",
    "dead_letter_key",
    "due_index",
    "due_of",
    "listing_index",
    "job_item",
    "dead_letter_item",
    "job_done_write",
    "table_of",
    "read_job",
    "delete_write",
    "instance_jobs",
    "job_listing",
    "due_jobs",
    "DEFINITION_LOOKUP",
    "definition_index",
    "definition_jobs",
    "lookup_repair",
]

JOB_KIND = "job"
DEAD_LETTER_KIND = "deadletter"
#: the listing prefixes of the ``kindShard-sort`` index
JOB_LISTING = "job"
DEAD_LETTER_LISTING = "dlq"
_JOB_SK_PREFIX = "job#"
#: the due-date index partitions: ``due#<n>``
_DUE_PREFIX = "due"
#: the ``lookup-sort`` attribute of a job's definition
DEFINITION_LOOKUP = "jobdef"


def job_key(job_id: str) -> tuple[str, str]:
    """The (pk, sk) of a job item, from its id alone."""
    return ids.instance_of(job_id) or job_id, f"{_JOB_SK_PREFIX}{job_id}"


def job_id_of(item: Item) -> str:
    """The job id of a job item (or of its due-date index entry), from its sort key."""
    return item.sk.split("#", 1)[1]


def dead_letter_key(job_id: str) -> tuple[str, str]:
    """The (pk, sk) of a dead-letter job."""
    return job_id, "#job"


def due_index(job_id: str, due: datetime) -> dict[str, str]:
    """The index attributes that put a job in the due-date index."""
    return {
        "due_shard": shard_key(_DUE_PREFIX, shard_for(job_id, DUE_SHARDS)),
        "due_at": f"{format_iso(due)}#{job_id}",
    }


def due_of(item: Item) -> str:
    """The ISO due time of a due-date index entry."""
    return item.index["due_at"].split("#", 1)[0]


def listing_index(prefix: str, job_id: str, created: str) -> dict[str, str]:
    """The index attributes of the ``job`` (``JOB_LISTING``) or ``job/deadletter``
    (``DEAD_LETTER_LISTING``) listing."""
    return {
        "kind_shard": shard_key(prefix, shard_for(job_id, LIST_SHARDS)),
        "sort": f"{created}#{job_id}",
    }


def job_item(data: dict, due: datetime, version: int = 1) -> Item:
    """The runtime item of a job whose API shape (plus ``stacktrace``) is ``data``, due at
    ``due``: listed, and in the due-date index."""
    job_id = data["_id"]
    pk, sk = job_key(job_id)
    index = {
        **listing_index(JOB_LISTING, job_id, data["createTime"]),
        **due_index(job_id, due),
        **definition_index(data),
    }
    return Item(pk, sk, JOB_KIND, data, index=index, version=version)


def definition_index(data: dict) -> dict[str, str]:
    """The ``lookup`` attribute that lists a job in its definition's ``lookup-sort`` partition
    (none for a job of no definition); its ``sort`` is the listing's."""
    definition = data.get("processDefinitionId")
    if not isinstance(definition, str) or not definition:
        return {}
    return {"lookup": lookup_key(DEFINITION_LOOKUP, definition)}


def lookup_repair(item: Item) -> Put | None:
    """The rewrite that lists a runtime job written before ``definition_index`` in its
    definition's partition (same version, conditioned on it: a runner that read it still
    commits), or None when it needs none."""
    wanted = definition_index(item.data)
    if item.kind != JOB_KIND or "sort" not in item.index or not wanted:
        return None
    if all(item.index.get(name) == value for name, value in wanted.items()):
        return None
    repaired = replace(item, index={**item.index, **wanted})
    return Put(
        Table.RUNTIME, repaired, VersionIs(item.version or 1), replaces_chunks=item.stored_chunks
    )


def rescheduled_job(item: Item, data: dict, due: datetime) -> Item:
    """``item`` (a job) with its data replaced by ``data`` and due again at ``due``, one
    version on."""
    return item.next_version(data, index={**item.index, **due_index(data["_id"], due)})


def job_without(item: Item, names: tuple[str, ...]) -> Item:
    """``item`` (a job, same version: its Put stays conditioned on the version read) without
    the data fields ``names`` (an external worker job's lock, released)."""
    data = {k: v for k, v in item.data.items() if k not in names}
    return replace(item, data=data)


def dead_letter_item(data: dict) -> Item:
    """The dead-letter item of a job whose data is ``data``."""
    job_id = data["_id"]
    pk, sk = dead_letter_key(job_id)
    index = listing_index(DEAD_LETTER_LISTING, job_id, data["createTime"])
    return Item(pk, sk, DEAD_LETTER_KIND, data, index=index, version=1)


def job_done_write(item: Item) -> Delete:
    """The write that removes a job once its work commits (conditioned on its version)."""
    return Delete(Table.RUNTIME, item.pk, item.sk, VersionIs(item.version or 1), item.stored_chunks)


def table_of(*, dead: bool) -> Table:
    """The table of a job (``dead``: of a dead-letter job)."""
    return Table.DEADLETTER if dead else Table.RUNTIME


def read_job(store: ItemStore, job_id: str, *, dead: bool = False) -> Item | None:
    """A job item (``dead``: a dead-letter job), by its id alone (one GetItem), or None."""
    pk, sk = dead_letter_key(job_id) if dead else job_key(job_id)
    return store.get(table_of(dead=dead), pk, sk)


def delete_write(item: Item, *, dead: bool = False) -> Delete:
    """The write that deletes a job (or dead-letter job) as read (conditioned on its version)."""
    return Delete(
        table_of(dead=dead), item.pk, item.sk, VersionIs(item.version or 1), item.stored_chunks
    )


def instance_jobs(
    store: ItemStore, instance_id: str, *, limit: int | None = None, start: str | None = None
) -> Page:
    """The job items of one instance (one Query per page)."""
    return store.query(
        Table.RUNTIME, instance_id, sk_prefix=_JOB_SK_PREFIX, limit=limit, start=start
    )


def job_listing(store: ItemStore, *, dead: bool = False, **page: Any) -> Page:
    """One page of the ``job`` (or ``job/deadletter``) listing (``layout.listing`` arguments)."""
    prefix = DEAD_LETTER_LISTING if dead else JOB_LISTING
    return listing(store, table_of(dead=dead), prefix, **page)


def definition_jobs(
    store: ItemStore, definition_id: str, *, limit: int | None = None, start: str | None = None
) -> Page:
    """One page of the runtime jobs of one definition, in creation order (its ``lookup-sort``
    partition: one Query; eventually consistent; a long id is keyed by its hash: compare the
    field again)."""
    return store.query_index(
        Table.RUNTIME,
        Index.LOOKUP_SORT,
        lookup_key(DEFINITION_LOOKUP, definition_id),
        limit=limit,
        start=start,
    )


def due_jobs(store: ItemStore, until: str, *, limit: int, start: str | None = None) -> Page:
    """One page of the due-date index: jobs due up to the ISO time prefix ``until`` (inclusive
    of every job due at that text's instant and before), in due order."""
    return query_shards(
        store,
        Table.RUNTIME,
        Index.DUE_SHARD_DUE_AT,
        _DUE_PREFIX,
        DUE_SHARDS,
        key_range=KeyRange.at_most(until),
        limit=limit,
        start=start,
    )
