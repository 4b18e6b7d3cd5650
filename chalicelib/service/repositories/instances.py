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

Lookup items list the running instances by the values the IDM queries compare for equality (the
``lookup-sort`` index): one per set attribute of the header, ``look#<attr>`` with ``lookup`` =
``<attr>=<value>`` (``bk`` business key, ``pdk`` definition key, ``pdi`` definition id, ``su``
start user, ``sup`` super instance; a value longer than ``LOOKUP_VALUE_BYTES`` UTF-8 bytes is
keyed ``<attr>#<sha256 hex>`` instead, so readers re-check the value) and ``sort`` as the
header's. Each holds a copy of the header data *without* its ``kind`` (so ``state_of`` ignores
it), so an index page answers a listing alone. They are written in the commit that puts the
header, when their content changed, and deleted in the commit that ends the instance.

The header carries ``listed_variables``: the instance-scope variables when every one of them
is of simple value (string, number, boolean, null) and their JSON fits ``LISTED_VARIABLES_BYTES``
(``HIDDEN_VARIABLES`` are left out). When they do not fit, the key is absent and a reader must
Query the instance's variables (``instance_variables``). Any commit that changes an
instance-scope variable rewrites the header (and its lookup items) to keep it exact.

Data written before ``listed_variables``, lookup and candidate items lacks them:
``layout_repairs`` says what brings a loaded instance to this layout (the backfill command,
``service/instances/backfill.py``).

Each variable is its own item, so a large value (up to DynamoDB's item limit, and past it
through the storage layer's chunking) never inflates anything else, and no variable is copied
per task.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
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
from . import counters
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
    "HIDDEN_VARIABLES",
    "LISTED_VARIABLES",
    "LISTED_VARIABLES_BYTES",
    "LISTED_VALUE_CHARS",
    "LOOKUP_KIND",
    "LOOKUP_ATTRIBUTES",
    "LOOKUP_VALUE_BYTES",
    "listed_variables",
    "lookup_key",
    "lookup_items",
    "instance_lookup",
    "any_lookup",
    "running_count",
    "open_task_count",
    "assignee_count",
    "candidate_count",
    "lookup_count",
    "layout_repairs",
]

#: variables never shown, by any route (IDM's hidden security context, should a process set it)
HIDDEN_VARIABLES = frozenset({"openidmcontext"})
#: header key of the instance-scope variables a listing shows without reading them
LISTED_VARIABLES = "listed_variables"
#: at most this many bytes of JSON of listed variables per instance; more: read per instance
LISTED_VARIABLES_BYTES = 4096
#: a listed string variable has at most this many characters
LISTED_VALUE_CHARS = 1024
#: ``Item.kind`` of lookup items (not a record kind: their data has no ``kind``)
LOOKUP_KIND = "lookup"
_LOOKUP_PREFIX = "look#"
#: lookup attribute -> the header record field it indexes (``lookup-sort``)
LOOKUP_ATTRIBUTES = {
    "bk": "business_key",
    "pdk": "definition_key",
    "pdi": "definition_id",
    "su": "start_user_id",
    "sup": "super_instance_id",
}
#: values longer than this (UTF-8 bytes) are keyed by their SHA-256 in the ``lookup`` attribute
LOOKUP_VALUE_BYTES = 256

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


def _simple(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, float)):
        return True
    return isinstance(value, str) and len(value) <= LISTED_VALUE_CHARS


def listed_variables(variables: Mapping[str, Any]) -> dict[str, Any] | None:
    """The ``listed_variables`` of an instance whose instance-scope variables are
    ``variables`` (hidden ones left out), or None when they do not fit on the header."""
    shown = {name: value for name, value in variables.items() if name not in HIDDEN_VARIABLES}
    if not all(_simple(value) for value in shown.values()):
        return None
    size = len(json.dumps(shown, separators=(",", ":"), ensure_ascii=False).encode())
    return shown if size <= LISTED_VARIABLES_BYTES else None


def lookup_key(attribute: str, value: str) -> str:
    """The ``lookup-sort`` hash value of ``value`` of a lookup attribute (``bk``, ``pdk``, ...)."""
    if len(value.encode()) <= LOOKUP_VALUE_BYTES:
        return f"{attribute}={value}"
    return f"{attribute}#{hashlib.sha256(value.encode()).hexdigest()}"


def lookup_items(instance_id: str, header: Item) -> list[Item]:
    """The lookup items a header item should have: none unless it is listed (running)."""
    if "sort" not in header.index:
        return []
    data = {name: value for name, value in header.data.items() if name != "kind"}
    items = []
    for attribute, name in LOOKUP_ATTRIBUTES.items():
        value = header.data.get(name)
        if isinstance(value, str):
            items.append(
                Item(
                    pk=instance_id,
                    sk=_LOOKUP_PREFIX + attribute,
                    kind=LOOKUP_KIND,
                    data=data,
                    index={"lookup": lookup_key(attribute, value), "sort": header.index["sort"]},
                )
            )
    return items


def _instance_scope(instance_id: str, kind: str, key: Any) -> str | None:
    """The variable name when ``(kind, key)`` is an instance-scope variable, else None."""
    if kind != RecordKind.VARIABLE.value:
        return None
    scope, _, name = str(key).partition("/")
    return name if scope == instance_id else None


def _header_puts(
    changes: ChangeSet, stored: Mapping[str, Item], puts: list[Item], deletes: list[str]
) -> None:
    """Keep ``listed_variables`` and the lookup items exact: rewrite the header when a variable
    of the instance scope changed, and the lookup items when the header changed."""
    instance_id = changes.instance_id
    header_record = next((r for r in changes.puts if r["kind"] == RecordKind.INSTANCE.value), None)
    changed: dict[str, Any] = {}
    removed: set[str] = set()
    for record in changes.puts:
        name = _instance_scope(instance_id, record["kind"], _record_key(record))
        if name is not None:
            changed[name] = record.get("value")
    for kind, key in changes.deletes:
        name = _instance_scope(instance_id, kind, key)
        if name is not None:
            removed.add(name)
    old_header = stored.get(HEADER_SK)
    if HEADER_SK in deletes:  # the instance goes: so do its lookup items
        deletes.extend(sk for sk in stored if sk.startswith(_LOOKUP_PREFIX))
        return
    if header_record is None:
        if not (changed or removed) or old_header is None:
            return
        header_record = {n: v for n, v in old_header.data.items() if n != LISTED_VARIABLES}
    prefix = variable_prefix(instance_id)
    variables = {
        item.data["name"]: item.data.get("value")
        for sk, item in stored.items()
        if sk.startswith(prefix) and item.data.get("kind")
    }
    variables.update(changed)
    for name in removed - set(changed):
        variables.pop(name, None)
    data = dict(header_record)
    listed = listed_variables(variables)
    if listed is not None:
        data[LISTED_VARIABLES] = listed
    header = item_of(instance_id, data)
    puts[:] = [item for item in puts if item.sk != HEADER_SK]
    puts.insert(0, header)
    wanted = {item.sk: item for item in lookup_items(instance_id, header)}
    for sk, item in wanted.items():
        old = stored.get(sk)
        if old is None or old.data != item.data or old.index != item.index:
            puts.append(item)
    deletes.extend(sk for sk in stored if sk.startswith(_LOOKUP_PREFIX) and sk not in wanted)


def changed_items(
    changes: ChangeSet, previous: Aggregate | None = None
) -> tuple[list[Item], list[str]]:
    """``(puts, deleted sort keys)`` for ``AggregateStore.commit``.

    ``previous``: the aggregate as loaded, whose candidate items of a changed task and lookup
    items that are not wanted any more are deleted (None: a new instance, which has none).
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
    _header_puts(changes, stored, puts, deletes)
    return puts, deletes


def _differs(old: Item | None, new: Item) -> bool:
    return old is None or (old.data, old.index, old.ttl) != (new.data, new.index, new.ttl)


def layout_repairs(aggregate: Aggregate) -> tuple[list[Item], list[str]]:
    """``(puts, deleted sort keys)`` that bring a loaded running instance to what the current
    layout writes (the backfill of data written before ``listed_variables``, lookup and
    candidate items): the header with its ``listed_variables``, its lookup items, and the
    candidate items of its open unassigned tasks. Nothing for an instance already current, or
    ended, or gone; commit with ``AggregateStore.commit`` at the loaded version."""
    header = aggregate.header
    if header is None or "sort" not in header.index or header.ttl is not None:
        return [], []
    instance_id = aggregate.pk
    stored = aggregate.items
    prefix = variable_prefix(instance_id)
    variables = {
        item.data["name"]: item.data.get("value")
        for sk, item in stored.items()
        if sk.startswith(prefix) and item.data.get("kind")
    }
    data = {name: value for name, value in header.data.items() if name != LISTED_VARIABLES}
    listed = listed_variables(variables)
    if listed is not None:
        data[LISTED_VARIABLES] = listed
    wanted_header = item_of(instance_id, data)
    puts: list[Item] = []
    deletes: list[str] = []
    if _differs(header, wanted_header):
        puts.append(wanted_header)
    wanted = {item.sk: item for item in lookup_items(instance_id, wanted_header)}
    for task in stored.values():
        if task.sk.startswith(_TASK_PREFIX) and task.data.get("kind") == RecordKind.TASK.value:
            wanted.update((item.sk, item) for item in candidate_items(instance_id, task.data))
    puts.extend(item for sk, item in wanted.items() if _differs(stored.get(sk), item))
    deletes.extend(
        sk
        for sk in stored
        if sk.startswith((_LOOKUP_PREFIX, _CANDIDATE_PREFIX)) and sk not in wanted
    )
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
