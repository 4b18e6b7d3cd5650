"""How a process instance's records are stored: one runtime item per record (DESIGN.md §3).

The engine's ``InstanceState`` is made of small records (header, executions, variables per
scope, tasks, subscriptions) and tracks which changed. This module maps them to items of the
instance's item collection (partition key = instance id) and back:

| record       | sort key                     | sparse index attributes                         |
|--------------|------------------------------|-------------------------------------------------|
| instance     | ``#header`` (holds version)  | ``kind_shard=instance#n``, ``sort=<start>#<id>`` |
| execution    | ``exec#<id>``                | ``event`` for subscriptions only (below)         |
| variable     | ``var#<scope id>/<name>``    |                                                 |
| task         | ``task#<id>``                | ``kind_shard=task#n``, ``assignee``, ``sort``    |
| subscription | ``sub#<id>``                 | ``event=<type>#<event name>``, ``sort``          |
| candidate    | ``cand#<task>#u#<user>`` or  | ``candidate=u#<user>`` or ``g#<group>``, ``sort`` |
|              | ``cand#<task>#g#<group>``    | (``<create time>#<task id>``, as the task's)     |

Candidate items list the open, unassigned tasks by candidate (the ``candidate-sort`` index): one
per candidate user and group of each such task, written in the task's commit, deleted when the
task is assigned, loses that candidate or ends. Each holds the task record *without* its
``kind`` (``candidate_task`` restores it), so an index page has all a task read needs while
``state_of`` and ``records_of``, which take only data with a ``kind``, never see them as records.

Each variable is its own item, so a large value (up to DynamoDB's item limit, and past it
through the storage layer's chunking) never inflates anything else, and no variable is copied
per task.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from ...clock import parse_iso
from ...engine.runtime.records import RecordKind
from ...engine.runtime.state import ChangeSet, InstanceState
from ...storage.aggregate import HEADER_KIND, HEADER_SK, Aggregate
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
from ...storage.sharding import shard_for, shard_key
from .layout import LIST_SHARDS, listing

__all__ = [
    "RUNNING_LISTING",
    "OPEN_TASK_LISTING",
    "event_key",
    "instance_records",
    "read_header",
    "header_check",
    "is_header",
    "variable_prefix",
    "instance_variables",
    "open_tasks",
    "running_listing",
    "open_task_listing",
    "subscribers",
    "ENDED_HEADER_TTL",
    "CANDIDATE_KIND",
    "sort_key_of",
    "item_of",
    "state_of",
    "changed_items",
    "records_of",
    "candidate_items",
    "candidate_key",
    "candidate_task",
]

#: shards of the instance and task listings (``kindShard-sort`` index)

#: ``Item.kind`` of candidate items (not a record kind: their data has no ``kind``)
CANDIDATE_KIND = "candidate"
_CANDIDATE_PREFIX = "cand#"

_PREFIX = {
    RecordKind.EXECUTION.value: "exec#",
    RecordKind.VARIABLE.value: "var#",
    RecordKind.TASK.value: "task#",
    RecordKind.SUBSCRIPTION.value: "sub#",
}


def sort_key_of(kind: str, key: Any) -> str:
    """The sort key of the record ``(kind, key)`` (a ``storage_key`` of the engine)."""
    if kind == RecordKind.INSTANCE.value:
        return HEADER_SK
    try:
        return _PREFIX[kind] + str(key)
    except KeyError:
        raise ValueError(f"unknown record kind {kind!r}") from None


def _record_key(record: dict) -> Any:
    if record["kind"] == RecordKind.VARIABLE.value:
        return f"{record['scope_id']}/{record['name']}"
    return record["id"]


def _index_of(record: dict) -> dict[str, str]:
    kind = record["kind"]
    if kind == RecordKind.INSTANCE.value:
        return {
            "kind_shard": shard_key(RUNNING_LISTING, shard_for(record["id"], LIST_SHARDS)),
            "sort": f"{record.get('start_time') or ''}#{record['id']}",
        }
    if kind == RecordKind.TASK.value:
        index = {
            "kind_shard": shard_key(OPEN_TASK_LISTING, shard_for(record["id"], LIST_SHARDS)),
            "sort": f"{record.get('create_time') or ''}#{record['id']}",
        }
        if record.get("assignee"):
            index["assignee"] = record["assignee"]
        return index
    if kind == RecordKind.SUBSCRIPTION.value and record.get("event_name"):
        return {
            "event": event_key(record["type"], record["event_name"]),
            "sort": f"{record.get('created') or ''}#{record['id']}",
        }
    return {}


#: how long the header of an ended instance stays in the runtime table (then DynamoDB's TTL
#: removes it; the history table keeps the instance). Late duplicate commands still meet it.
ENDED_HEADER_TTL = timedelta(days=7)


def item_of(instance_id: str, record: dict) -> Item:
    """The runtime item that stores ``record`` (a dict from the engine's ``to_dict``)."""
    kind = record["kind"]
    item_kind = HEADER_KIND if kind == RecordKind.INSTANCE.value else kind
    ttl = None
    if kind == RecordKind.INSTANCE.value and record.get("end_time"):
        ttl = int((parse_iso(record["end_time"]) + ENDED_HEADER_TTL).timestamp())
    index = {} if ttl is not None else _index_of(record)  # ended: no longer listed
    return Item(
        pk=instance_id,
        sk=sort_key_of(kind, _record_key(record)),
        kind=item_kind,
        data=dict(record),
        index=index,
        ttl=ttl,
    )


def state_of(aggregate: Aggregate) -> InstanceState:
    """The engine state of a loaded aggregate (clean: nothing to write yet)."""
    return InstanceState.from_records(
        item.data for item in aggregate.items.values() if item.data.get("kind")
    )


def candidate_key(user: str | None = None, group: str | None = None) -> str:
    """The ``candidate-sort`` hash value of a candidate user (``u#..``) or group (``g#..``)."""
    return f"u#{user}" if user is not None else f"g#{group}"


def _candidate_prefix(task_id: str) -> str:
    return f"{_CANDIDATE_PREFIX}{task_id}#"


def candidate_items(instance_id: str, task: dict) -> list[Item]:
    """The candidate items a task record should have: none unless open and unassigned."""
    if task.get("assignee"):
        return []
    keys = [candidate_key(user=u) for u in task.get("candidate_users") or ()] + [
        candidate_key(group=g) for g in task.get("candidate_groups") or ()
    ]
    data = {name: value for name, value in task.items() if name != "kind"}
    sort = f"{task.get('create_time') or ''}#{task['id']}"
    items = {}
    for key in keys:
        sk = _candidate_prefix(task["id"]) + key
        items[sk] = Item(
            pk=instance_id,
            sk=sk,
            kind=CANDIDATE_KIND,
            data=data,
            index={"candidate": key, "sort": sort},
        )
    return list(items.values())


def candidate_task(item: Item) -> dict:
    """The task record a candidate item holds (with its ``kind`` back)."""
    return {**item.data, "kind": RecordKind.TASK.value}


def changed_items(
    changes: ChangeSet, previous: Aggregate | None = None
) -> tuple[list[Item], list[str]]:
    """``(puts, deleted sort keys)`` for ``AggregateStore.commit``.

    ``previous``: the aggregate as loaded, whose candidate items of a changed task that are not
    wanted any more are deleted (None: a new instance, which has none).
    """
    instance_id = changes.instance_id
    stored = previous.items if previous is not None else {}
    puts = [item_of(instance_id, record) for record in changes.puts]
    deletes = [sort_key_of(kind, key) for kind, key in changes.deletes]
    for record in changes.puts:
        if record["kind"] == RecordKind.TASK.value:
            wanted = candidate_items(instance_id, record)
            puts.extend(wanted)
            keep = {item.sk for item in wanted}
            deletes.extend(
                sk
                for sk in stored
                if sk.startswith(_candidate_prefix(record["id"])) and sk not in keep
            )
    for kind, key in changes.deletes:
        if kind == RecordKind.TASK.value:
            deletes.extend(sk for sk in stored if sk.startswith(_candidate_prefix(str(key))))
    return puts, deletes


def records_of(items: Iterable[Item]) -> list[dict]:
    """The record dicts stored in ``items`` (index reads return whole items)."""
    return [item.data for item in items if item.data.get("kind")]


# --- reads ------------------------------------------------------------------------------------

#: the ``kindShard-sort`` listings of the runtime table (``layout.listing``)
RUNNING_LISTING = "instance"
OPEN_TASK_LISTING = "task"
_VARIABLE_PREFIX = "var#"
_TASK_PREFIX = "task#"


def event_key(kind: str, name: str) -> str:
    """The ``event-sort`` index partition of the subscriptions to event ``name`` of ``kind``
    (``message``, ``signal``, ...)."""
    return f"{kind}#{name}"


def instance_records(store: ItemStore, instance_id: str) -> list[Item]:
    """Every item of an instance's collection (one strongly consistent Query)."""
    return store.query(Table.RUNTIME, instance_id).items


def read_header(store: ItemStore, instance_id: str) -> Item | None:
    """The header item of an instance (one GetItem), or None."""
    return store.get(Table.RUNTIME, instance_id, HEADER_SK)


def header_check(instance_id: str, version: int) -> ConditionCheck:
    """A transaction condition: the instance is still at ``version``."""
    return ConditionCheck(Table.RUNTIME, instance_id, HEADER_SK, VersionIs(version))


def is_header(item: Item) -> bool:
    """Whether a runtime item is an instance header."""
    return item.sk == HEADER_SK


def variable_prefix(instance_id: str, scope_id: str | None = None) -> str:
    """The sort-key prefix of the variables of scope ``scope_id`` (default: the instance)."""
    return f"{_VARIABLE_PREFIX}{scope_id or instance_id}/"


def instance_variables(store: ItemStore, instance_id: str) -> Page:
    """The instance-scope variable items of a running instance (one Query)."""
    return store.query(Table.RUNTIME, instance_id, sk_prefix=variable_prefix(instance_id))


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
        sk_prefix=f"{_TASK_PREFIX}{task_id or ''}",
        limit=limit,
        start=start,
    )


def running_listing(store: ItemStore, **page: Any) -> Page:
    """One page of the running instances' headers (``layout.listing`` arguments)."""
    return listing(store, Table.RUNTIME, RUNNING_LISTING, **page)


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
) -> Page:
    """One page of the subscriptions to ``kind#name`` (``event-sort`` index; eventually
    consistent): items whose ``data`` is the subscription record. ``bound``: only those
    created up to that ISO time (the index ``sort`` is ``<created>#<id>``)."""
    key_range = KeyRange.at_most(f"{bound}#\uffff") if bound else None
    return store.query_index(
        Table.RUNTIME,
        Index.EVENT_SORT,
        event_key(kind, name),
        key_range=key_range,
        limit=limit,
        start=start,
    )
