"""The history table: historic process instances, tasks, variables and activity segments.

============================  ======================  =============================  =================
partition (``pk``)            sort key (``sk``)       ``kind``                       index
============================  ======================  =============================  =================
instance id                   ``#process``            history-process-instance       ``kind_shard=hpi#n``,
                                                                                     ``sort=<startTime>#<id>``
instance id                   ``task#<id>``           history-task-instance          ``kind_shard=htask#n``,
                                                                                     ``sort=<createTime>#<id>``,
                                                                                     ``lookup=htask-state=<state>#n``
instance id                   ``var#<id>``            history-variable-instance      (not indexed)
instance id                   ``vdet#<id>``           history-variable-detail        (not indexed)
instance id                   ``acts#<segment id>``   history-activities             (not indexed)
instance id                   ``look#state``,         history-lookup (key-only)      ``lookup=...``,
                              ``look#<attr>``                                        ``sort`` as
                                                                                     ``#process``
``#count#lookup-sort#<base>``  ``0``..``7``            counter                        (not indexed)
============================  ======================  =============================  =================

The historic process item also carries ``listed_variables`` (the instance-scope variables it
keeps, when they fit; else their names: ``carried_historic_variables``), and the lookup items and
counters make the history **read model**:
``processinstance/history`` by state (``finished``/``unfinished``, a sharded partition) and by
business key, definition key and id, start user and super instance in either or both states,
in start order, with maintained counts. Design, write costs and the limits of the counts:
``repositories.history_index``, which the unit of work calls (``commit_writes``) instead of
``history_items`` alone.

Every item carries the history TTL (``history_ttl``; None: kept). ``history_items`` turns a
command's history records into items: the latest record of each history item (every record is
the whole item), activity records as one segment per instance.

Historic activity instances are stored as one segment item per instance per command.

Flowable keeps a row per activity and per sequence flow taken (``ACT_HI_ACTINST``); an
automatic run of a few hundred loop turns records thousands. No route of the IDM API reads
them one by one (they are audit data), so instead of one history item each they are written as
**segments**: the activity records a command made for an instance (the latest record of each
activity instance, in the order they started) go into one item ``acts#<segment id>`` of the
instance's history partition. The codec compresses it (and splits it past its chunk size), so
a command costs one history write for its activities, not one per activity: workload P of
``bench/engine.py`` (500 scripted loop turns) writes 9 history items (its process, variables
and one segment) instead of 3,014.

An activity opened in one command (a user task) and closed in a later one has its start record
in the first segment and its end record in the second: :func:`read` folds them, a record with
an ``endTime`` winning over one without. Segments are never updated except by migration
(:func:`repointed`), and deleted with the rest of the instance's history.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import timedelta
from types import MappingProxyType
from typing import Any, cast

from ...engine.runtime.effects import HistoryKind, HistoryRecord
from ...ids import instance_of, new_id
from ...storage.ports import Item, ItemStore, Page, Put, Table
from ...storage.sharding import shard_for, shard_key
from ..container import Services
from .carried import read_carried
from .layout import LIST_SHARDS, listing

__all__ = [
    "SEGMENT_PREFIX",
    "carried_historic_variables",
    "SEGMENT_KIND",
    "HISTORY_SK",
    "segment_item",
    "read",
    "repointed",
    "history_item",
    "sort_key_of",
    "history_items",
    "history_ttl",
    "PROCESS_LISTING",
    "TASK_LISTING",
    "read_process",
    "read_processes",
    "read_task",
    "is_task",
    "historic_tasks",
    "historic_variables",
    "process_listing",
    "task_listing",
    "TASK_STATE_PREFIX",
    "task_state_base",
    "task_state_key",
]

#: sort-key prefix of the segments in an instance's history partition
SEGMENT_PREFIX = "acts#"
SEGMENT_KIND = "history-activities"


def segment_item(instance_id: str, records: Iterable[Any], *, now_ms: int, ttl: int | None) -> Item:
    """The segment of one command's activity records for one instance (each a dict, or a
    history record's read-only view of one); ``now_ms`` orders it among the instance's
    segments, ``ttl`` is the history TTL (``history_ttl``)."""
    # ``copy()``: a record's fields are a read-only mapping over a dict; copying that dict is
    # several times faster than building one from the mapping
    return Item(
        instance_id,
        SEGMENT_PREFIX + new_id(now_ms),
        SEGMENT_KIND,
        {"records": [record.copy() for record in records]},
        {},
        ttl,
    )


def read(store: ItemStore, instance_id: str) -> list[dict[str, Any]]:
    """Every historic activity instance of the instance, in the order they started; each as
    its latest record (one Query of the segments)."""
    folded: dict[str, dict[str, Any]] = {}
    for item in store.query(Table.HISTORY, instance_id, sk_prefix=SEGMENT_PREFIX).items:
        for record in item.data.get("records", ()):
            known = folded.get(record["id"])
            if known is None or not known.get("endTime") or record.get("endTime"):
                folded[record["id"]] = record
    return list(folded.values())


def repointed(store: ItemStore, instance_id: str, definition_id: str) -> list[Put]:
    """Rewrites of the instance's segments naming another definition (a migration re-points
    its history to ``definition_id``)."""
    writes = []
    for item in store.query(Table.HISTORY, instance_id, sk_prefix=SEGMENT_PREFIX).items:
        records = item.data.get("records", ())
        if all(record.get("processDefinitionId") == definition_id for record in records):
            continue
        data = {
            **item.data,
            "records": [{**record, "processDefinitionId": definition_id} for record in records],
        }
        writes.append(
            Put(Table.HISTORY, replace(item, data=data), replaces_chunks=item.stored_chunks)
        )
    return writes


#: history sort key per kind (``{}`` is the record id); activity records go into segments
HISTORY_SK = {
    HistoryKind.PROCESS_INSTANCE: "#process",
    HistoryKind.TASK_INSTANCE: "task#{}",
    HistoryKind.VARIABLE_INSTANCE: "var#{}",
    HistoryKind.VARIABLE_DETAIL: "vdet#{}",
}
_LISTED = {
    HistoryKind.PROCESS_INSTANCE: ("hpi", "startTime"),
    HistoryKind.TASK_INSTANCE: ("htask", "createTime"),
}
#: per kind, what ``history_item`` needs of it: the sort-key prefix, whether the record id
#: follows it (``HISTORY_SK``), and the item kind (computed once, not per record)
_HISTORY_LAYOUT = {
    kind: (sk.replace("{}", ""), "{}" in sk, f"history-{kind.value}")
    for kind, sk in HISTORY_SK.items()
}


#: the ``lookup`` prefix of the historic tasks' state partitions (``task_state_base``)
TASK_STATE_PREFIX = "htask-state="


def task_state_base(finished: bool) -> str:
    """The historic tasks' state partition (its shards are ``<base>#<n>``; its counter is
    ``<base>``): ``htask-state=finished`` or ``htask-state=unfinished``."""
    return TASK_STATE_PREFIX + ("finished" if finished else "unfinished")


def task_state_key(task_id: str, finished: bool) -> str:
    """The ``lookup`` of a historic task item: its shard of its state partition."""
    return shard_key(task_state_base(finished), shard_for(task_id, LIST_SHARDS))


def history_items(
    container: Services,
    effects: Iterable[Any],
    processes: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Item]:
    """The history-table items of a command's history records: the latest record of each
    history item (every record is the whole item), activity records as one segment per
    instance (``segment_item``). ``processes``: per instance id, the data of its historic
    process item to write instead of (or without) an engine record (the record with its
    ``listed_variables``: ``history_index.commit_writes``)."""
    latest: dict[tuple[HistoryKind, str], HistoryRecord] = {}
    for effect in effects:
        if isinstance(effect, HistoryRecord):
            latest[(effect.kind, effect.id)] = effect
    for instance_id, data in (processes or {}).items():
        latest[(HistoryKind.PROCESS_INSTANCE, instance_id)] = HistoryRecord.owned(
            instance_id, HistoryKind.PROCESS_INSTANCE, instance_id, dict(data)
        )
    ttl = history_ttl(container)  # the command's time is one: computed once for all items
    items: list[Item] = []
    activities: dict[str, list[Any]] = {}
    for record in latest.values():
        if record.kind is HistoryKind.ACTIVITY_INSTANCE:
            activities.setdefault(record.instance_id, []).append(record.fields)
        else:
            items.append(history_item(record, ttl))
    if activities:
        now_ms = int(container.clock.now().timestamp() * 1000)
        items.extend(
            segment_item(instance_id, records, now_ms=now_ms, ttl=ttl)
            for instance_id, records in activities.items()
        )
    return items


def history_ttl(container: Services) -> int | None:
    """The epoch-seconds TTL of a history item written now (None: kept)."""
    days = container.settings.history_ttl_days
    if not days:
        return None
    return int((container.clock.now() + timedelta(days=days)).timestamp())


def sort_key_of(record: HistoryRecord) -> str:
    """The sort key of the history item of ``record`` (a kind in ``HISTORY_SK``)."""
    return HISTORY_SK[record.kind].format(record.id)


def history_item(record: HistoryRecord, ttl: int | None) -> Item:
    """The history-table item of one history record (not an activity: see
    :func:`history_items`), expiring at ``ttl`` (:func:`history_ttl`)."""
    kind = record.kind
    prefix, with_id, item_kind = _HISTORY_LAYOUT[kind]
    # a read-only view of a dict: copy() is the fast copy
    data = cast("MappingProxyType[str, Any]", record.fields).copy()
    listed = _LISTED.get(kind)
    if listed is None:
        index: dict[str, str] = {}
    else:
        shard_prefix, time_field = listed
        index = {
            "kind_shard": shard_key(shard_prefix, shard_for(record.id, LIST_SHARDS)),
            "sort": f"{data.get(time_field) or ''}#{record.id}",
        }
        if kind is HistoryKind.TASK_INSTANCE:
            # the task's state partition of the ``lookup-sort`` index (same ``sort``)
            index["lookup"] = task_state_key(record.id, bool(data.get("endTime")))
    return Item(
        record.instance_id, prefix + record.id if with_id else prefix, item_kind, data, index, ttl
    )


# --- reads ------------------------------------------------------------------------------------

#: the ``kindShard-sort`` listings of the history table (``layout.listing``)
PROCESS_LISTING = _LISTED[HistoryKind.PROCESS_INSTANCE][0]
TASK_LISTING = _LISTED[HistoryKind.TASK_INSTANCE][0]
_PROCESS_SK = HISTORY_SK[HistoryKind.PROCESS_INSTANCE]
_TASK_PREFIX = HISTORY_SK[HistoryKind.TASK_INSTANCE].replace("{}", "")
_VARIABLE_PREFIX = HISTORY_SK[HistoryKind.VARIABLE_INSTANCE].replace("{}", "")


def read_process(store: ItemStore, instance_id: str) -> Item | None:
    """The historic process instance item (one GetItem), or None."""
    return store.get(Table.HISTORY, instance_id, _PROCESS_SK)


def read_processes(store: ItemStore, instance_ids: Iterable[str]) -> dict[str, Item]:
    """The historic process instance items of ``instance_ids`` that exist, by instance id (one
    BatchGetItem per 100 ids; none for no ids)."""
    keys = [(instance_id, _PROCESS_SK) for instance_id in dict.fromkeys(instance_ids)]
    return {item.pk: item for item in store.batch_get(Table.HISTORY, keys)} if keys else {}


def read_task(store: ItemStore, task_id: str) -> Item | None:
    """A historic task item, located by its id alone (one GetItem), or None."""
    instance_id = instance_of(task_id)
    if instance_id is None:
        return None
    return store.get(Table.HISTORY, instance_id, f"{_TASK_PREFIX}{task_id}")


def is_task(item: Item) -> bool:
    """Whether a history item is a historic task."""
    return item.sk.startswith(_TASK_PREFIX)


def historic_tasks(
    store: ItemStore, instance_id: str, *, limit: int | None = None, start: str | None = None
) -> Page:
    """The historic task items of an instance (one Query per page)."""
    return store.query(Table.HISTORY, instance_id, sk_prefix=_TASK_PREFIX, limit=limit, start=start)


def historic_variables(store: ItemStore, instance_id: str, *, scope_id: str | None = None) -> Page:
    """The historic variable items of an instance (``scope_id``: of that scope only; the
    instance's own scope is ``scope_id=instance_id``)."""
    prefix = (
        _VARIABLE_PREFIX if scope_id is None else f"{_VARIABLE_PREFIX}{instance_id}/{scope_id}/"
    )
    return store.query(Table.HISTORY, instance_id, sk_prefix=prefix)


def carried_historic_variables(
    store: ItemStore, processes: Iterable[Mapping[str, Any]], *, alone: bool = True
) -> dict[str, dict[str, Any]]:
    """The kept instance-scope variables of historic instances, by id, from their process
    items' data (``carried.read_carried``): listed ones without a read, named ones in one
    BatchGetItem per 100 variables, the rest (``alone``; else left out) one Query each."""
    return read_carried(
        store,
        Table.HISTORY,
        processes,
        sort_key=lambda instance_id, name: f"{_VARIABLE_PREFIX}{instance_id}/{instance_id}/{name}",
        query=(
            (lambda instance_id: historic_variables(store, instance_id, scope_id=instance_id))
            if alone
            else None
        ),
    )


def process_listing(store: ItemStore, **page: Any) -> Page:
    """One page of the historic process instances (``layout.listing`` arguments)."""
    return listing(store, Table.HISTORY, PROCESS_LISTING, **page)


def task_listing(store: ItemStore, **page: Any) -> Page:
    """One page of the historic tasks (``layout.listing`` arguments)."""
    return listing(store, Table.HISTORY, TASK_LISTING, **page)
