"""Maintained counts of index partitions: ``totalPagedResults`` without walking a listing.

A query's ``_totalPagedResultsPolicy=EXACT`` over a listing or an index partition (the running
instances, the instances of one definition key, the open tasks of one candidate group, ...) is
answered from a counter instead of reading the partition. Each counted partition has
``COUNTER_SHARDS`` counter items in its own item collection of the same table:

=================================================  ===========================  ==========
partition (``pk``)                                 sort key (``sk``)            ``version``
=================================================  ===========================  ==========
``#count#<index name>#<base>``                      ``<shard>`` (``0``..``7``)   the count
=================================================  ===========================  ==========

``base`` is the index hash value, except for a sharded listing (``kindShard-sort``), whose
shards ``instance#0`` .. ``instance#7`` share one counter ``instance``. The writer picks the
counter shard from the id of the entity whose items change (``shard_for``), so concurrent commits
of different instances rarely touch the same counter item (DynamoDB cancels a transaction that
overlaps another on one item: the command is retried like any lost race). A reader Queries the
counter collection (one request, at most ``COUNTER_SHARDS`` items) and sums.

Counts change with ``AddCount`` writes in the same transaction as the items they count, so a
count is exact for what has committed: two concurrent commits each add their own delta, and a
reader sees either commit whole or not at all. A commit too large for one transaction (a commit
intent, ``storage/intent.py``) defers its counts with its items and applies them batch by
batch, each batch exactly once, so while it is applied count and listing grow together.

``membership_deltas`` derives the counts from the items a commit writes and the items it
replaces: the runtime unit of work calls it with every changed instance.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from ...storage.ports import COUNTER_KIND, INDEXES, AddCount, Index, Item, ItemStore, Table
from ...storage.sharding import shard_for

__all__ = [
    "COUNTER_SHARDS",
    "COUNTED",
    "counter_pk",
    "add",
    "merged",
    "read",
    "read_total",
    "membership",
    "membership_deltas",
    "recounted",
]

#: counter items per counted partition
COUNTER_SHARDS = 8
_PREFIX = "#count#"

#: the index partitions the runtime items keep counts of. ``kindShard-sort``: only the listings
#: named (the job listings' counts are kept by ``repositories.jobs.counted``)
COUNTED: Mapping[Table, Mapping[Index, frozenset[str] | None]] = {
    Table.RUNTIME: {
        Index.KIND_SHARD_SORT: frozenset({"instance", "task", "execution"}),
        Index.LOOKUP_SORT: None,  # None: every partition
        Index.CANDIDATE_SORT: None,
        Index.ASSIGNEE_SORT: None,
    },
}


#: kinds whose items are in counted indexes but not counted here: jobs (in ``lookup-sort`` by
#: their definition) are written outside the instance unit of work; their ``job``/``dlq``
#: listings are counted from each job write's condition instead (``repositories.jobs.counted``)
_UNCOUNTED_KINDS = frozenset({"job"})


def counter_pk(index: Index, base: str) -> str:
    """The item collection of the counter of ``base`` in ``index``."""
    return f"{_PREFIX}{index.spec.name}#{base}"


def add(table: Table, index: Index, base: str, entity_id: str, delta: int) -> AddCount:
    """The write adding ``delta`` to the count of ``base`` in ``index`` (the shard of
    ``entity_id``'s counter item)."""
    return AddCount(
        table, counter_pk(index, base), str(shard_for(entity_id, COUNTER_SHARDS)), delta
    )


def merged(writes: Iterable[AddCount]) -> list[AddCount]:
    """``writes`` with one write per counter item (deltas summed; zero sums dropped): a
    transaction may not touch one item twice."""
    totals: Counter[tuple[Table, str, str]] = Counter()
    for write in writes:
        totals[(write.table, write.pk, write.sk)] += write.delta
    return [AddCount(t, pk, sk, delta) for (t, pk, sk), delta in totals.items() if delta]


def read(store: ItemStore, table: Table, index: Index, base: str) -> int:
    """The count of ``base`` in ``index`` (one strongly consistent Query)."""
    return sum(int(item.version or 0) for item in store.query(table, counter_pk(index, base)).items)


def read_total(store: ItemStore, table: Table, index: Index, bases: Iterable[str]) -> int:
    """The sum of the counts of ``bases`` in ``index``: for one base its Query (``read``); for
    more, one strongly consistent BatchGetItem of every counter shard of each (up to 12 bases:
    one request instead of one Query per base, for 8 item reads per base instead of about one
    read unit per Query)."""
    wanted = list(dict.fromkeys(bases))
    if len(wanted) == 1:
        return read(store, table, index, wanted[0])
    keys = [
        (counter_pk(index, base), str(shard)) for base in wanted for shard in range(COUNTER_SHARDS)
    ]
    return sum(int(item.version or 0) for item in store.batch_get(table, keys)) if keys else 0


def _base(index: Index, hash_value: str) -> str:
    if index is Index.KIND_SHARD_SORT:
        return hash_value.rpartition("#")[0]
    return hash_value


def membership(table: Table, item: Item) -> set[tuple[Index, str]]:
    """The counted ``(index, base)`` partitions ``item`` is listed in."""
    counted = COUNTED.get(table, {})
    if item.kind in _UNCOUNTED_KINDS:
        return set()
    attrs = {"kind": item.kind, **item.index}
    found = set()
    for index in INDEXES[table]:
        if index not in counted:
            continue
        spec = index.spec
        hash_value = attrs.get(spec.hash_attr)
        if hash_value is None or spec.range_attr not in attrs:
            continue  # a sparse index lists only items with both attributes
        base = _base(index, hash_value)
        allowed = counted[index]
        if allowed is None or base in allowed:
            found.add((index, base))
    return found


def recounted(collections: Iterable[tuple[str, Iterable[Item]]], table: Table) -> list[Item]:
    """The counter items that count ``collections`` (``(entity id, its items)`` pairs: every
    collection of the table whose items are counted) exactly: every shard of every partition
    met, zero shards included. Writing them replaces the counts of those partitions (the
    backfill of data written before counters)."""
    totals: Counter[tuple[Index, str, str]] = Counter()
    for entity_id, items in collections:
        shard = str(shard_for(entity_id, COUNTER_SHARDS))
        for item in items:
            for index, base in membership(table, item):
                totals[(index, base, shard)] += 1
    partitions = sorted({(index.spec.name, index, base) for index, base, _ in totals})
    return [
        Item(
            counter_pk(index, base),
            str(shard),
            COUNTER_KIND,
            version=totals[(index, base, str(shard))],
        )
        for _, index, base in partitions
        for shard in range(COUNTER_SHARDS)
    ]


def membership_deltas(
    table: Table,
    entity_id: str,
    puts: Iterable[Item],
    deletes: Iterable[str],
    stored: Mapping[str, Item],
) -> list[AddCount]:
    """The counter writes of a commit of one item collection: ``puts`` (items written) and
    ``deletes`` (sort keys deleted) over ``stored`` (the collection as loaded, by sort key)."""
    delta: Counter[tuple[Index, str]] = Counter()
    for item in puts:
        old = stored.get(item.sk)
        before = membership(table, old) if old is not None else set()
        after = membership(table, item)
        delta.update(after - before)
        delta.subtract(before - after)
    for sk in set(deletes):
        old = stored.get(sk)
        if old is not None:
            delta.subtract(membership(table, old))
    return merged(
        add(table, index, base, entity_id, change)
        for (index, base), change in delta.items()
        if change
    )
