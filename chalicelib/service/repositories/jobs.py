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

Counts (``counted``): the ``job`` and ``dlq`` listings keep maintained counts (sharded counter
items ``#count#kindShard-sort#job`` / ``#dlq``, ``repositories.counters``), changed only in the
transaction that writes the job, and only by what that transaction's conditions prove: a job
Put conditioned ``MustNotExist`` created one (+1), a job Delete conditioned ``VersionIs`` or
``MustExist`` removed one (-1), a version-conditioned Put replaced one (0). Every transaction
that writes a job goes through ``counted``; a job write without a condition raises
``UncountedJobWrite`` (its effect on the count could not be known).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from ... import ids
from ...clock import format_iso
from ...storage.ports import (
    COUNTER_KIND,
    AddCount,
    Delete,
    Index,
    Item,
    ItemStore,
    KeyRange,
    MustExist,
    MustNotExist,
    Page,
    Put,
    Table,
    VersionIs,
    Write,
)
from ...storage.sharding import query_shards, shard_for, shard_key
from . import counters
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
    "UncountedJobWrite",
    "job_count_writes",
    "is_job_write",
    "counted",
    "count_of",
    "counter_items",
    "count_shard",
    "recount_writes",
]

JOB_KIND = "job"
DEAD_LETTER_KIND = "deadletter"
#: the listing prefixes of the ``kindShard-sort`` index
JOB_LISTING = "job"
DEAD_LETTER_LISTING = "dlq"
_JOB_SK_PREFIX = "job#"
_DEAD_LETTER_SK = "#job"
#: the counter collections of the two listings (``counted``)
_COUNTER_PKS = frozenset(
    counters.counter_pk(Index.KIND_SHARD_SORT, prefix)
    for prefix in (JOB_LISTING, DEAD_LETTER_LISTING)
)
#: the due-date index partitions: ``due#<n>``
_DUE_PREFIX = "due"
#: the ``lookup-sort`` attribute of a job's definition
DEFINITION_LOOKUP = "jobdef"


class UncountedJobWrite(RuntimeError):
    """A job write whose effect on the job counts cannot be known (a Put or Delete of a job
    without a condition), or a transaction counted twice: a programming error."""


def _counted_listing(write: Write) -> tuple[Table, str, str] | None:
    """``(table, listing prefix, entity id)`` of a write of a job item, else None."""
    if not isinstance(write, (Put, Delete)):
        return None
    pk, sk = (write.item.pk, write.item.sk) if isinstance(write, Put) else (write.pk, write.sk)
    if write.table is Table.RUNTIME and sk.startswith(_JOB_SK_PREFIX):
        return Table.RUNTIME, JOB_LISTING, pk
    if write.table is Table.DEADLETTER and sk == _DEAD_LETTER_SK:
        return Table.DEADLETTER, DEAD_LETTER_LISTING, pk
    return None


def is_job_write(write: Write) -> bool:
    """Whether ``write`` puts or deletes a job (runtime or dead-letter)."""
    return _counted_listing(write) is not None


def job_count_writes(writes: Iterable[Write]) -> list[AddCount]:
    """The counter writes of a transaction's job writes: +1 for a job Put conditioned
    ``MustNotExist``, -1 for a job Delete conditioned ``VersionIs`` or ``MustExist``, 0 for a
    Put replacing a job (``VersionIs``/``MustExist``), summed per listing into ONE counter item
    per listing (the shard of the first counted job's item collection: its instance, or the job
    itself). A count is the sum of its shards, so where a delta lands does not matter; one
    item per listing keeps a transaction at most two writes larger (a dead-letter move or a
    revive: both listings) however many collections its jobs belong to (a deploy's timer
    start jobs, a broadcast's chunk).

    Raises ``UncountedJobWrite`` for a job Put or Delete without a condition (or a Delete
    conditioned ``MustNotExist``)."""
    deltas: dict[tuple[Table, str], int] = {}
    entities: dict[tuple[Table, str], str] = {}
    for write in writes:
        listing = _counted_listing(write)
        if listing is None or not isinstance(write, (Put, Delete)):
            continue
        table, prefix, entity = listing
        condition = write.condition
        if isinstance(write, Put):
            if condition is None:
                raise UncountedJobWrite(f"a job Put without a condition: {write.item.pk!r}")
            delta = 1 if isinstance(condition, MustNotExist) else 0
        else:
            if not isinstance(condition, (VersionIs, MustExist)):
                raise UncountedJobWrite(f"a job Delete without a condition: {write.pk!r}")
            delta = -1
        if delta:
            entities.setdefault((table, prefix), entity)
            deltas[(table, prefix)] = deltas.get((table, prefix), 0) + delta
    return [
        counters.add(table, Index.KIND_SHARD_SORT, prefix, entities[(table, prefix)], delta)
        for (table, prefix), delta in deltas.items()
        if delta
    ]


def _job_counter(write: Write) -> bool:
    return isinstance(write, AddCount) and write.pk in _COUNTER_PKS


def counted(writes: Iterable[Write]) -> list[Write]:
    """``writes`` (one transaction's, before any commit-intent split: conditions still on)
    with the job counter writes they make (``job_count_writes``). Raises
    ``UncountedJobWrite`` when they already carry job counts (counted twice)."""
    writes = list(writes)
    if any(_job_counter(write) for write in writes):
        raise UncountedJobWrite("a transaction's job writes counted twice")
    return [*writes, *job_count_writes(writes)]


def count_of(store: ItemStore, *, dead: bool = False) -> int:
    """The maintained count of the ``job`` (``dead``: ``job/deadletter``) listing (one
    Query)."""
    prefix = DEAD_LETTER_LISTING if dead else JOB_LISTING
    return counters.read(store, table_of(dead=dead), Index.KIND_SHARD_SORT, prefix)


def counter_items(store: ItemStore, *, dead: bool = False) -> dict[str, Item]:
    """The counter items of the ``job`` (``dead``: ``job/deadletter``) listing, by sort key
    (one Query)."""
    prefix = DEAD_LETTER_LISTING if dead else JOB_LISTING
    pk = counters.counter_pk(Index.KIND_SHARD_SORT, prefix)
    return {item.sk: item for item in store.query(table_of(dead=dead), pk).items}


def count_shard(item: Item) -> str:
    """The counter shard (sort key) a listed job is counted in (``job_count_writes``)."""
    return str(shard_for(item.pk, counters.COUNTER_SHARDS))


def recount_writes(
    before: Mapping[str, Item], totals: Mapping[str, int], *, dead: bool = False
) -> list[Write]:
    """The writes that set the listing's counter shards to ``totals`` (by shard), each
    conditioned on the item as ``counter_items`` read it (``before``): a commit counted
    meanwhile fails them. Counter items of other sort keys (bulk seeding's) are deleted (their
    counts are in ``totals``)."""
    table = table_of(dead=dead)
    pk = counters.counter_pk(Index.KIND_SHARD_SORT, DEAD_LETTER_LISTING if dead else JOB_LISTING)
    shards = [str(shard) for shard in range(counters.COUNTER_SHARDS)]
    writes: list[Write] = []
    for shard in shards:
        old = before.get(shard)
        condition = MustNotExist() if old is None else VersionIs(int(old.version or 0))
        item = Item(pk, shard, COUNTER_KIND, version=int(totals.get(shard, 0)))
        writes.append(Put(table, item, condition))
    writes.extend(
        Delete(table, pk, sk, VersionIs(int(old.version or 0)))
        for sk, old in before.items()
        if sk not in shards
    )
    return writes


def job_key(job_id: str) -> tuple[str, str]:
    """The (pk, sk) of a job item, from its id alone."""
    return ids.instance_of(job_id) or job_id, f"{_JOB_SK_PREFIX}{job_id}"


def job_id_of(item: Item) -> str:
    """The job id of a job item (or of its due-date index entry), from its sort key."""
    return item.sk.split("#", 1)[1]


def dead_letter_key(job_id: str) -> tuple[str, str]:
    """The (pk, sk) of a dead-letter job."""
    return job_id, _DEAD_LETTER_SK


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


def due_jobs(
    store: ItemStore,
    until: str,
    *,
    limit: int,
    start: str | None = None,
    since: str | None = None,
) -> Page:
    """One page of the due-date index: jobs due up to the ISO time prefix ``until`` (inclusive
    of every job due at that text's instant and before), in due order; with ``since``, only
    those due at that ISO time or later."""
    return query_shards(
        store,
        Table.RUNTIME,
        Index.DUE_SHARD_DUE_AT,
        _DUE_PREFIX,
        DUE_SHARDS,
        key_range=KeyRange.between(since, until) if since else KeyRange.at_most(until),
        limit=limit,
        start=start,
    )
