"""Reads of the running instances' items (the layout is ``instances.py``): an instance's
collection or parts of it, the sharded listings, the lookup, task lookup, candidate,
subscription and variable indexes, and the maintained counts of their partitions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ...engine.runtime.records import InstanceStatus
from ...storage.aggregate import HEADER_SK
from ...storage.ports import (
    ConditionCheck,
    Index,
    Item,
    ItemStore,
    KeyRange,
    Page,
    Table,
    VersionIs,
)
from ...storage.sharding import (
    query_partitions,
    retarget,
    shard_key,
    skip_partitions,
    sole_position,
)
from . import counters
from .carried import read_carried
from .instances import (
    EXECUTION_LISTING,
    EXECUTION_PREFIX,
    INSTANCE_KEYS,
    OPEN_TASK_LISTING,
    RUNNING_LISTING,
    SUBSCRIPTION_PREFIX,
    SUBSCRIPTION_SORT_LOW,
    TASK_PREFIX,
    VARIABLE_OVERFLOW,
    event_key,
    instance_key_partition,
    lookup_key,
    lookup_sk,
    variable_lookup_key,
    variable_prefix,
)
from .layout import LIST_SHARDS, listing

__all__ = [
    "instance_records",
    "read_header",
    "carried_runtime_variables",
    "header_check",
    "is_header",
    "instance_variables",
    "open_tasks",
    "running_listing",
    "execution_prefix",
    "execution_listing",
    "execution_count",
    "instance_executions",
    "instance_subscriptions",
    "read_headers",
    "open_task_listing",
    "subscribers",
    "instance_lookup",
    "running_count",
    "lookup_count",
    "open_task_count",
    "assignee_count",
    "candidate_count",
    "any_lookup",
    "variable_lookup",
    "variable_count",
    "task_lookup",
    "task_lookup_count",
    "variable_skip",
    "running_skip",
    "keyed_headers",
]


def instance_records(store: ItemStore, instance_id: str) -> list[Item]:
    """Every item of an instance's collection (one strongly consistent Query)."""
    return store.query(Table.RUNTIME, instance_id).items


def read_header(store: ItemStore, instance_id: str) -> Item | None:
    """The header item of an instance (one GetItem), or None."""
    return store.get(Table.RUNTIME, instance_id, HEADER_SK)


def is_running(store: ItemStore, instance_id: str) -> bool:
    """Whether the instance exists and has not ended (one GetItem of its header)."""
    header = read_header(store, instance_id)
    return header is not None and header.data.get("status") not in _ENDED


#: the header ``status`` of an ended instance
_ENDED = tuple(status.value for status in InstanceStatus if status.is_ended)


def header_check(instance_id: str, version: int) -> ConditionCheck:
    """A transaction condition: the instance is still at ``version``."""
    return ConditionCheck(Table.RUNTIME, instance_id, HEADER_SK, VersionIs(version))


def is_header(item: Item) -> bool:
    """Whether a runtime item is an instance header."""
    return item.sk == HEADER_SK


def instance_variables(store: ItemStore, instance_id: str) -> Page:
    """The instance-scope variable items of a running instance (one Query)."""
    return store.query(Table.RUNTIME, instance_id, sk_prefix=variable_prefix(instance_id))


def carried_runtime_variables(
    store: ItemStore, headers: Iterable[Mapping[str, Any]], *, alone: bool = True
) -> dict[str, dict[str, Any]]:
    """The instance-scope variables of running instances, by id, from their headers' data
    (``carried.read_carried``): listed ones without a read, named ones in one BatchGetItem per
    100 variables, the rest (``alone``; else left out) one Query each."""
    return read_carried(
        store,
        Table.RUNTIME,
        headers,
        sort_key=lambda instance_id, name: variable_prefix(instance_id) + name,
        query=(lambda instance_id: instance_variables(store, instance_id)) if alone else None,
    )


def open_tasks(
    store: ItemStore,
    instance_id: str,
    *,
    task_id: str | None = None,
    limit: int | None = None,
    start: str | None = None,
) -> Page:
    """The task items of a running instance (``task_id``: that task only), in id order."""
    return store.query(
        Table.RUNTIME,
        instance_id,
        sk_prefix=f"{TASK_PREFIX}{task_id or ''}",
        limit=limit,
        start=start,
    )


def running_listing(store: ItemStore, **page: Any) -> Page:
    """One page of the running instances' headers (``layout.listing`` arguments)."""
    return listing(store, Table.RUNTIME, RUNNING_LISTING, **page)


def execution_prefix(execution_id: str = "") -> str:
    """The sort key of an execution item (``execution_id`` empty: the prefix of them all)."""
    return f"{EXECUTION_PREFIX}{execution_id}"


def execution_listing(store: ItemStore, **page: Any) -> Page:
    """One page of the executions of every running instance (``layout.listing`` arguments):
    items whose data is the execution record plus ``EXECUTION_HEADER``."""
    return listing(store, Table.RUNTIME, EXECUTION_LISTING, **page)


def execution_count(store: ItemStore) -> int:
    """How many executions running instances have (the maintained counter: one Query)."""
    return counters.read(store, Table.RUNTIME, Index.KIND_SHARD_SORT, EXECUTION_LISTING)


def instance_executions(
    store: ItemStore, instance_id: str, *, limit: int | None = None, start: str | None = None
) -> Page:
    """The execution items of one instance, in id order (one Query per page)."""
    return store.query(
        Table.RUNTIME, instance_id, sk_prefix=EXECUTION_PREFIX, limit=limit, start=start
    )


def instance_subscriptions(store: ItemStore, instance_id: str) -> Page:
    """The subscription items of one running instance (one Query)."""
    return store.query(Table.RUNTIME, instance_id, sk_prefix=SUBSCRIPTION_PREFIX)


def read_headers(store: ItemStore, instance_ids: Iterable[str]) -> dict[str, Item]:
    """The header items of ``instance_ids`` that exist, by instance id (one BatchGetItem per
    100 ids; none for no ids)."""
    keys = [(instance_id, HEADER_SK) for instance_id in dict.fromkeys(instance_ids)]
    return {item.pk: item for item in store.batch_get(Table.RUNTIME, keys)} if keys else {}


def open_task_listing(store: ItemStore, **page: Any) -> Page:
    """One page of the open tasks of every instance (``layout.listing`` arguments)."""
    return listing(store, Table.RUNTIME, OPEN_TASK_LISTING, **page)


def subscribers(
    store: ItemStore,
    kind: str,
    name: str,
    *,
    bound: str | None = None,
    limit: int | None = None,
    start: str | None = None,
    low: str | None = None,
    high: str | None = None,
) -> Page:
    """One page of the subscriptions to ``kind#name`` (``event-sort`` index; eventually
    consistent): items whose ``data`` is the subscription record. ``bound``: only those
    created up to that ISO time (the index ``sort`` is ``<created>#<id>``, see
    ``subscription_sort``); ``low``/``high``: only sort keys in ``[low, high]`` (``high``
    wins over ``bound``). The event registry's start registrations in the same partition sort
    below ``SUBSCRIPTION_SORT_LOW`` and are never read here."""
    upper = high or (f"{bound}#\uffff" if bound else None)
    key_range = KeyRange.between(max(low or "", SUBSCRIPTION_SORT_LOW), upper or "\uffff")
    return store.query_index(
        Table.RUNTIME,
        Index.EVENT_SORT,
        event_key(kind, name),
        key_range=key_range,
        limit=limit,
        start=start,
    )


def instance_lookup(
    store: ItemStore,
    attribute: str,
    value: str,
    *,
    limit: int | None = None,
    start: str | None = None,
    descending: bool = False,
) -> Page:
    """One page of the running instances whose ``attribute`` (``LOOKUP_ATTRIBUTES``) may equal
    ``value`` (``lookup-sort`` index; eventually consistent), in start order: items whose
    ``data`` is the header data (without ``kind``). A long value is keyed by its hash: compare
    the field again."""
    return store.query_index(
        Table.RUNTIME,
        Index.LOOKUP_SORT,
        lookup_key(attribute, value),
        limit=limit,
        start=start,
        descending=descending,
    )


def running_count(store: ItemStore) -> int:
    """How many instances run (their maintained count: one Query)."""
    return counters.read(store, Table.RUNTIME, Index.KIND_SHARD_SORT, RUNNING_LISTING)


def lookup_count(store: ItemStore, attribute: str, value: str) -> int:
    """How many running instances have ``attribute`` (``LOOKUP_ATTRIBUTES``) equal to
    ``value`` (the maintained count of its ``lookup-sort`` partition: one Query)."""
    return counters.read(store, Table.RUNTIME, Index.LOOKUP_SORT, lookup_key(attribute, value))


def open_task_count(store: ItemStore) -> int:
    """How many tasks are open (their maintained count: one Query)."""
    return counters.read(store, Table.RUNTIME, Index.KIND_SHARD_SORT, OPEN_TASK_LISTING)


def assignee_count(store: ItemStore, assignee: str) -> int:
    """How many open tasks ``assignee`` holds (``assignee-sort`` partition count: one Query)."""
    return counters.read(store, Table.RUNTIME, Index.ASSIGNEE_SORT, assignee)


def candidate_count(store: ItemStore, key: str) -> int:
    """How many open unassigned tasks have the candidate ``key`` (``candidate_key``): the
    maintained count of its ``candidate-sort`` partition (one Query)."""
    return counters.read(store, Table.RUNTIME, Index.CANDIDATE_SORT, key)


def any_lookup(store: ItemStore, attribute: str, value: str) -> bool:
    """Whether a running instance has ``attribute`` equal to ``value``: one index Query of at
    most one item (a long value is keyed by its SHA-256: a collision is not a concern)."""
    return bool(instance_lookup(store, attribute, value, limit=1).items)


def variable_lookup(
    store: ItemStore,
    name: str,
    texts: Sequence[str],
    *,
    limit: int | None = None,
    start: str | None = None,
    descending: bool = False,
) -> Page:
    """One page of the running instances whose instance-scope variable ``name`` may have one of
    ``texts`` (``variable_text``), in start order: their header items, plus those of the
    instances whose variables are not indexed one by one (``VARIABLE_OVERFLOW``). The
    ``lookup-sort`` partitions are merged (one Query each: ``len(texts) + 1``), then one
    BatchGetItem reads the headers (strongly consistent; an instance that ended meanwhile is
    left out). The items are candidates: compare the variable again (a long text is keyed by
    its hash; the overflow partition holds any value)."""
    keys = [variable_lookup_key(name, text) for text in dict.fromkeys(texts)]
    page = query_partitions(
        store,
        Table.RUNTIME,
        Index.LOOKUP_SORT,
        [*keys, VARIABLE_OVERFLOW],
        limit=max(limit or 100, 1),
        start=start,
        descending=descending,
    )
    wanted = list(dict.fromkeys(item.pk for item in page.items))
    headers = store.batch_get(Table.RUNTIME, [(pk, HEADER_SK) for pk in wanted]) if wanted else []
    running = [item for item in headers if "sort" in item.index and item.ttl is None]
    return Page(running, page.next_token, page.items_read + len(headers))


def variable_skip(
    store: ItemStore, name: str, texts: Sequence[str], count: int, *, descending: bool = False
) -> tuple[str | None, bool]:
    """``(token, ended)``: where ``variable_lookup`` (same ``name`` and ``texts``) continues
    after its first ``count`` instances, found by reading the key-only lookup items alone (no
    header). Exact only when the ``VARIABLE_OVERFLOW`` partition is empty (``variable_count``
    is not None) and one text is looked up (an instance is then in one partition only)."""
    keys = [variable_lookup_key(name, text) for text in dict.fromkeys(texts)]
    token, ended, _ = skip_partitions(
        store,
        Table.RUNTIME,
        Index.LOOKUP_SORT,
        [*keys, VARIABLE_OVERFLOW],
        count,
        descending=descending,
    )
    return token, ended


def variable_count(store: ItemStore, name: str, text: str) -> int | None:
    """How many running instances have the instance-scope variable ``name`` with the text
    ``text`` (what ``var-<name>=<text>`` matches), from the maintained counters (two Queries),
    or None when some running instance's variables are not indexed one by one
    (``VARIABLE_OVERFLOW``): then only reading them can tell."""
    if counters.read(store, Table.RUNTIME, Index.LOOKUP_SORT, VARIABLE_OVERFLOW):
        return None
    return counters.read(store, Table.RUNTIME, Index.LOOKUP_SORT, variable_lookup_key(name, text))


def task_lookup(
    store: ItemStore,
    key: str,
    *,
    limit: int | None = None,
    start: str | None = None,
    descending: bool = False,
) -> Page:
    """One page of the open tasks in the task lookup partition ``key`` (``TASK_UNASSIGNED`` or
    ``task_lookup_key``; ``lookup-sort`` index, eventually consistent), in creation order:
    items whose ``data`` is the task record without its ``kind`` (``candidate_task``). A long
    value is keyed by its hash: compare the field again."""
    return store.query_index(
        Table.RUNTIME, Index.LOOKUP_SORT, key, limit=limit, start=start, descending=descending
    )


def task_lookup_count(store: ItemStore, key: str) -> int:
    """How many open tasks the task lookup partition ``key`` lists (its maintained count: one
    Query)."""
    return counters.read(store, Table.RUNTIME, Index.LOOKUP_SORT, key)


def running_skip(
    store: ItemStore,
    count: int,
    *,
    attribute: str | None = None,
    value: str | None = None,
    descending: bool = False,
    then: int = 0,
) -> tuple[str | None, bool, Page | None]:
    """``(token, ended, following)``: where ``running_listing`` (no ``attribute``) or
    ``instance_lookup`` of ``attribute`` and ``value`` continues after its first ``count``
    instances, found by reading the instances' key-only items (``instances.key_items``) alone,
    no header: one index Query per key partition (the listing's 8 shards, or the one of the
    lookup; ``sharding.skip_partitions``), which also reads the up to ``then`` key items after
    them: ``following``, whose headers ``keyed_headers`` reads (one BatchGetItem). ``token``
    and ``following``'s token resume the header read itself (``running_listing`` or
    ``instance_lookup``: ``sharding.retarget``), so paging on from there reads headers as
    without an offset. ``ended``: no instance follows the first ``count``. Exact once every
    running instance has its key items (the backfill adds them to those started before)."""
    if attribute is None or value is None:
        keys = [shard_key(INSTANCE_KEYS, n) for n in range(LIST_SHARDS)]
        targets = [shard_key(RUNNING_LISTING, n) for n in range(LIST_SHARDS)]
        index, sk = Index.KIND_SHARD_SORT, HEADER_SK
    else:
        keys = [instance_key_partition(attribute, value)]
        targets = [lookup_key(attribute, value)]
        index, sk = Index.LOOKUP_SORT, lookup_sk(attribute)

    def moved(token: str | None) -> str | None:
        target = retarget(token, Index.KIND_SHARD_SORT, len(keys), index, targets, sk)
        return target if index is Index.KIND_SHARD_SORT else sole_position(target)

    token, ended, following = skip_partitions(
        store,
        Table.RUNTIME,
        Index.KIND_SHARD_SORT,
        keys,
        count,
        descending=descending,
        then=then,
    )
    if following is not None:
        following = Page(following.items, moved(following.next_token))
    return moved(token), ended, following


def keyed_headers(store: ItemStore, keys: Page) -> Page:
    """The running headers of a page of key items (``running_skip``), in its order, with its
    token (one BatchGetItem; none for no items): an instance that ended meanwhile is left out."""
    if not keys.items:
        return Page([], keys.next_token)
    headers = store.batch_get(Table.RUNTIME, [(item.pk, HEADER_SK) for item in keys.items])
    running = [item for item in headers if "sort" in item.index and item.ttl is None]
    return Page(running, keys.next_token, len(headers))
