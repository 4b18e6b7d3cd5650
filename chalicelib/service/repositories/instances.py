"""How a process instance's records are stored: one runtime item per record (DESIGN.md §3).

The engine's ``InstanceState`` is made of small records (header, executions, variables per
scope, tasks, subscriptions) and tracks which changed. This module maps them to items of the
instance's item collection (partition key = instance id) and back:

| record       | sort key                     | sparse index attributes                         |
|--------------|------------------------------|-------------------------------------------------|
| instance     | ``#header`` (holds version)  | ``kind_shard=instance#n``, ``sort=<start>#<id>`` |
| execution    | ``exec#<id>``                | ``kind_shard=execution#n``,                      |
|              |                              | ``sort=<instance start>#<instance id>#<id>``     |
| variable     | ``var#<scope id>/<name>``    |                                                 |
| task         | ``task#<id>``                | ``kind_shard=task#n``, ``assignee``, ``sort``    |
| subscription | ``sub#<id>``                 | ``event=<type>#<event name>``, ``sort``          |
|              |                              | (``|c=<digest>`` appended when it expects        |
|              |                              | correlation values: ``correlated_event_key``)    |
| candidate    | ``cand#<task>#u#<user>`` or  | ``candidate=u#<user>`` or ``g#<group>``, ``sort`` |
|              | ``cand#<task>#g#<group>``    | (``<create time>#<task id>``, as the task's)     |
| task lookup  | ``tlook#<task>#<attr>``      | ``lookup=task:<attr>[=<value>]``, ``sort`` (as   |
|              |                              | the task's)                                      |
| instance key | ``look#key/run`` or          | ``kind_shard=instance-keys#n`` or                |
|              | ``look#key/<attr>``          | ``instance-keys:<attr>=<value>``, ``sort`` (as   |
|              |                              | the header's; key-only)                          |

Candidate items list the open, unassigned tasks by candidate (the ``candidate-sort`` index): one
per candidate user and group of each such task, written in the task's commit, deleted when the
task is assigned, loses that candidate or ends. Each holds the task record *without* its
``kind`` (``candidate_task`` restores it), so an index page has all a task read needs while
``state_of`` and ``records_of``, which take only data with a ``kind``, never see them as records.

Task lookup items list the open tasks by what the admin UI's task grid filters on (the
``lookup-sort`` index, in partitions no instance lookup uses): ``tlook#<task>#un`` in
``task:unassigned`` while the task has no assignee, ``tlook#<task>#pdi`` in
``task:pdi=<definition id>`` and ``tlook#<task>#pdk`` in ``task:pdk=<definition key>`` (the key is
the id's first ``:`` part; long values hashed as ``lookup_key``). Like candidate items they hold
the task record without its ``kind`` (``candidate_task`` restores it), are written with every
put of their task in its commit and deleted when it ends (``task_lookup_items``); their
partitions are counted (``counters``) like every ``lookup-sort`` partition.

Lookup items list the running instances by the values the IDM queries compare for equality (the
``lookup-sort`` index): one per set attribute of the header, ``look#<attr>`` with ``lookup`` =
``<attr>=<value>`` (``bk`` business key, ``pdk`` definition key, ``pdi`` definition id, ``su``
start user, ``sup`` super instance; a value longer than ``LOOKUP_VALUE_BYTES`` UTF-8 bytes is
keyed ``<attr>#<sha256 hex>`` instead, so readers re-check the value) and ``sort`` as the
header's. Each holds a copy of the header data *without* its ``kind`` (so ``state_of`` ignores
it), so an index page answers a listing alone. They are written in the commit that puts the
header, when their content changed, and deleted in the commit that ends the instance.

Variable lookup items list the running instances by the value of an instance-scope variable
(``var-<name>`` and ``processVariables/<name> eq``), in the same index: one per variable whose
value has a text as the ``filtered-query`` compares it (``variable_text``: a string, a number's
JSON, ``true``/``false``; none for null, objects and lists, or ``HIDDEN_VARIABLES``),
``look#var/<name>`` with ``lookup`` = ``var:<name>=<text>`` (hashed when long:
``variable_lookup_key``) and ``sort`` as the header's. Unlike the lookup items above they are
*key-only* (data ``{"name": ..}``): a page of a variable partition is one Query plus one
BatchGetItem of the headers (``variable_lookup``). A header copy would answer in one request,
but the header is rewritten whenever any instance-scope variable changes, and every copy with
it: an instance with k variables would rewrite k items per variable change. Key-only, a
variable change writes its own item only when its text changed (a put; a delete when it
becomes null or an object, or goes) plus two counter writes (the old and the new partition's
count, ``counters``); starting an instance writes one item and one counter write per indexed
variable; ending it deletes them (and their counts). So that a commit's counter writes stay few
(a commit intent cannot defer them), an instance with more than ``VARIABLE_LOOKUP_MAX`` such
variables has one ``look#var*`` item in the ``VARIABLE_OVERFLOW`` partition instead, which
every variable lookup reads too (its instances are candidates for any value).
``variable_count`` gives the exact count for one ``var-`` parameter from the counters.

Instance key items are *key-only* twins of the header's listings, so an ``_pagedResultsOffset``
skips on keys instead of reading the skipped headers (or header copies) with their variables
(``instance_reads.running_skip``): ``look#key/run`` in the ``kindShard-sort`` partition
``instance-keys#<n>`` (``n`` the shard of the header's ``instance#<n>``), and ``look#key/<attr>``
in ``instance-keys:<attr>=<value>`` (``instance_key_partition``: the lookup item's partition
prefixed), each with ``sort`` as the header's and data ``{}`` (kind ``INSTANCE_KEY_KIND``).
They live in ``kindShard-sort`` under a base no counter counts (``counters.COUNTED``), so they
add no counter write and count nothing twice: the running listing and the lookup partitions
keep their own counts. Like the lookup items they are written when their key changes (the
start; a migration moves ``pdi``/``pdk``) and deleted by the commit that ends the instance: a
start writes 1 + one per set lookup attribute (at most 6 Puts, typically 3 or 4: definition
key and id, business key), an end deletes as many; a variable change writes none.

The header carries ``listed_variables``: the instance-scope variables when their JSON fits
``LISTED_VARIABLES_BYTES`` (any JSON values, objects and arrays included; ``HIDDEN_VARIABLES``
are left out). When they do not fit, the header carries ``variable_names`` instead (at most
``VARIABLE_NAMES_MAX`` names within the same bytes), so a reader gets the variables of a whole
page of such instances by key (``instance_reads.carried_runtime_variables``: one BatchGetItem
per 100 variables); only an instance with more names than that has neither, and a reader must
Query its variables (``instance_variables``: one Query reads up to 1 MB of them, the cheapest
read of that many). Any commit that changes an instance-scope variable rewrites the header (and
its lookup items) to keep them exact (``with_carried_variables``).

Execution items list the executions of running instances (``kindShard-sort``, ``execution#n``,
sharded by execution id, ordered by instance start, instance and execution id) and carry
``EXECUTION_HEADER``: the header fields an execution row shows (definition id and key, name,
business key, start user and time, status, super execution, root instance, tenant), so a page
of the listing, or an execution read by key, needs no read of its header. None of those changes
while an instance runs but the definition (migration): a commit whose header changes them
rewrites every execution of the instance; an ended instance's executions are gone (the engine
deletes them in the commit that ends it), and an execution item written without a header in
reach is simply not listed.

Data written before ``listed_variables``, lookup (variable lookup included), candidate and task
lookup items
and execution listing attributes lacks them:
``layout_repairs`` says what brings a loaded instance to this layout (the backfill command,
``service/instances/backfill.py``).

The reads of these items (collections, listings, indexes, counts) are in ``instance_reads.py``.

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
    Item,
)
from ...storage.sharding import shard_for, shard_key
from .layout import LIST_SHARDS

__all__ = [
    "RUNNING_LISTING",
    "TASK_PREFIX",
    "EXECUTION_PREFIX",
    "SUBSCRIPTION_PREFIX",
    "subscription_sort",
    "CORRELATION_MARK",
    "correlated_event_key",
    "OPEN_TASK_LISTING",
    "event_key",
    "variable_prefix",
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
    "TASK_LOOKUP_KIND",
    "TASK_UNASSIGNED",
    "task_lookup_key",
    "task_lookup_items",
    "HIDDEN_VARIABLES",
    "LISTED_VARIABLES",
    "LISTED_VARIABLES_BYTES",
    "LOOKUP_KIND",
    "LOOKUP_ATTRIBUTES",
    "LOOKUP_VALUE_BYTES",
    "listed_variables",
    "VARIABLE_NAMES",
    "VARIABLE_NAMES_MAX",
    "carried_variables",
    "with_carried_variables",
    "lookup_key",
    "lookup_items",
    "lookup_sk",
    "layout_repairs",
    "EXECUTION_LISTING",
    "EXECUTION_HEADER",
    "VARIABLE_LOOKUP_MAX",
    "VARIABLE_OVERFLOW",
    "LOOKUP_KEY_BYTES",
    "variable_text",
    "variable_lookup_key",
    "variable_items",
    "INSTANCE_KEYS",
    "INSTANCE_KEY_KIND",
    "instance_key_partition",
    "instance_key_sk",
    "key_items",
]

#: variables never shown, by any route (IDM's hidden security context, should a process set it)
HIDDEN_VARIABLES = frozenset({"openidmcontext"})
#: header key of the instance-scope variables a listing shows without reading them
LISTED_VARIABLES = "listed_variables"
#: at most this many bytes of JSON of listed variables (or of their names) per instance
LISTED_VARIABLES_BYTES = 4096
#: header key of the names of the instance-scope variables when their values do not fit it
VARIABLE_NAMES = "variable_names"
#: at most this many names (a BatchGetItem reads 100 keys; more are read by one Query)
VARIABLE_NAMES_MAX = 100
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
#: a variable's ``lookup`` value longer than this (UTF-8 bytes; its name is long) is keyed by the
#: SHA-256 of name and value: well under DynamoDB's 2,048 bytes of a GSI hash key
LOOKUP_KEY_BYTES = 1024
#: at most this many variable lookup items per running instance; an instance with more
#: indexable instance-scope variables has one ``VARIABLE_OVERFLOW`` item instead, so the counter
#: writes of one commit (which a commit intent cannot defer) stay few
VARIABLE_LOOKUP_MAX = 16
#: the ``lookup`` value listing the running instances whose variables are not indexed one by one
#: (more than ``VARIABLE_LOOKUP_MAX``): every variable lookup reads this partition too
VARIABLE_OVERFLOW = "var*"
_VARIABLE_LOOKUP_PREFIX = "look#var/"
_VARIABLE_OVERFLOW_SK = "look#var*"
#: ``kindShard-sort`` hash base of the running instances' key-only items (``key_items``): not a
#: counted listing, so ``counters`` writes nothing for them
INSTANCE_KEYS = "instance-keys"
#: ``Item.kind`` of the key-only items (data ``{}``)
INSTANCE_KEY_KIND = "instance-key"
_KEY_PREFIX = "look#key/"
#: the key item of the running listing (``look#key/<attr>`` for a lookup attribute)
_LISTING_KEY = "run"

#: execution item data key: the header fields an execution row shows (``_header_copy``)
EXECUTION_HEADER = "instance_header"
_EXECUTION_HEADER_FIELDS = (
    "definition_id",
    "definition_key",
    "name",
    "business_key",
    "start_user_id",
    "start_time",
    "status",
    "super_execution_id",
    "root_instance_id",
    "tenant_id",
)

#: ``Item.kind`` of candidate items (not a record kind: their data has no ``kind``)
CANDIDATE_KIND = "candidate"
_CANDIDATE_PREFIX = "cand#"

#: ``Item.kind`` of task lookup items (not a record kind: their data has no ``kind``)
TASK_LOOKUP_KIND = "task-lookup"
_TASK_LOOKUP_PREFIX = "tlook#"
#: the ``lookup-sort`` partition of the open unassigned tasks
TASK_UNASSIGNED = "task:unassigned"

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
        correlation = (record.get("configuration") or {}).get("correlation") or {}
        return {
            "event": correlated_event_key(record["type"], record["event_name"], correlation),
            "sort": subscription_sort(record),
        }
    return {}


def subscription_sort(record: Mapping[str, Any]) -> str:
    """A subscription's sort key in the ``event-sort`` index: ``<created>#<id>``."""
    return f"{record.get('created') or ''}#{record['id']}"


#: no subscription sorts below this (``<created>#<id>``: an ISO time or ``#``); the event
#: registry's start registrations share the partitions of event types and sort below it
#: (``event_registry.START_SORT_PREFIX``), so a read of subscriptions starts here
SUBSCRIPTION_SORT_LOW = "#"


#: how long the header of an ended instance stays in the runtime table (then DynamoDB's TTL
#: removes it; the history table keeps the instance). Late duplicate commands still meet it.
ENDED_HEADER_TTL = timedelta(days=7)


def _header_copy(header: Mapping[str, Any]) -> dict[str, Any]:
    return {name: header.get(name) for name in _EXECUTION_HEADER_FIELDS}


def _execution_item(instance_id: str, record: dict, header: Mapping[str, Any] | None) -> Item:
    """An execution's item: listed, with the header copy, while ``header`` (data of the
    instance's header after the commit) is running."""
    data = {name: value for name, value in record.items() if name != EXECUTION_HEADER}
    index: dict[str, str] = {}
    if header is not None and not header.get("end_time"):
        data[EXECUTION_HEADER] = _header_copy(header)
        index = {
            "kind_shard": shard_key(EXECUTION_LISTING, shard_for(record["id"], LIST_SHARDS)),
            "sort": f"{header.get('start_time') or ''}#{instance_id}#{record['id']}",
        }
    return Item(
        pk=instance_id,
        sk=sort_key_of(RecordKind.EXECUTION.value, record["id"]),
        kind=RecordKind.EXECUTION.value,
        data=data,
        index=index,
    )


def item_of(instance_id: str, record: dict, header: Mapping[str, Any] | None = None) -> Item:
    """The runtime item that stores ``record`` (a dict from the engine's ``to_dict``);
    ``header``: the instance's header data, which an execution's item copies and is listed by."""
    kind = record["kind"]
    if kind == RecordKind.EXECUTION.value:
        return _execution_item(instance_id, record, header)
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


def task_lookup_key(attribute: str, value: str) -> str:
    """The ``lookup-sort`` hash value of the open tasks whose ``attribute`` (``pdi`` definition
    id, ``pdk`` definition key) is ``value``: ``task:<attr>=<value>`` (hashed when long)."""
    return lookup_key(f"task:{attribute}", value)


def _task_lookup_prefix(task_id: str) -> str:
    return f"{_TASK_LOOKUP_PREFIX}{task_id}#"


def task_lookup_items(instance_id: str, task: dict) -> list[Item]:
    """The task lookup items an open task record should have: its definition id and key, and
    ``TASK_UNASSIGNED`` while it has no assignee."""
    partitions: dict[str, str] = {}
    if not task.get("assignee"):
        partitions["un"] = TASK_UNASSIGNED
    definition_id = task.get("definition_id")
    if isinstance(definition_id, str) and definition_id:
        partitions["pdi"] = task_lookup_key("pdi", definition_id)
        partitions["pdk"] = task_lookup_key("pdk", definition_id.split(":")[0])
    data = {name: value for name, value in task.items() if name != "kind"}
    sort = f"{task.get('create_time') or ''}#{task['id']}"
    return [
        Item(
            pk=instance_id,
            sk=_task_lookup_prefix(task["id"]) + attribute,
            kind=TASK_LOOKUP_KIND,
            data=data,
            index={"lookup": key, "sort": sort},
        )
        for attribute, key in partitions.items()
    ]


def _task_items(instance_id: str, task: dict) -> list[Item]:
    """Every index item (candidate and task lookup) of an open task record."""
    return candidate_items(instance_id, task) + task_lookup_items(instance_id, task)


def _task_item_prefixes(task_id: str) -> tuple[str, str]:
    return _candidate_prefix(task_id), _task_lookup_prefix(task_id)


def candidate_task(item: Item) -> dict:
    """The task record a candidate item holds (with its ``kind`` back)."""
    return {**item.data, "kind": RecordKind.TASK.value}


def listed_variables(variables: Mapping[str, Any]) -> dict[str, Any] | None:
    """The ``listed_variables`` of an instance whose instance-scope variables are
    ``variables`` (hidden ones left out), or None when their JSON does not fit on the header
    (``LISTED_VARIABLES_BYTES``). Any JSON value is listed: objects and arrays as well as
    strings, numbers, booleans and null."""
    shown = {name: value for name, value in variables.items() if name not in HIDDEN_VARIABLES}
    try:
        text = json.dumps(shown, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError):  # not JSON (never stored so): read from the variables
        return None
    return shown if len(text.encode()) <= LISTED_VARIABLES_BYTES else None


def carried_variables(variables: Mapping[str, Any]) -> dict[str, Any]:
    """What a header (or a historic process item) carries of its instance-scope ``variables``:
    ``{LISTED_VARIABLES: ...}`` when they fit (``listed_variables``), else ``{VARIABLE_NAMES:
    [sorted names]}`` when there are at most ``VARIABLE_NAMES_MAX`` names within
    ``LISTED_VARIABLES_BYTES`` of JSON (a reader gets them by key), else nothing (a reader
    Queries them). Hidden variables are left out."""
    listed = listed_variables(variables)
    if listed is not None:
        return {LISTED_VARIABLES: listed}
    names = sorted(name for name in variables if name not in HIDDEN_VARIABLES)
    text = json.dumps(names, separators=(",", ":"), ensure_ascii=False)
    if len(names) <= VARIABLE_NAMES_MAX and len(text.encode()) <= LISTED_VARIABLES_BYTES:
        return {VARIABLE_NAMES: names}
    return {}


def with_carried_variables(data: Mapping[str, Any], variables: Mapping[str, Any]) -> dict:
    """``data`` (of a header or historic process item) with what it carries of ``variables``
    now (``carried_variables``) in place of what it carried before."""
    kept = {n: v for n, v in data.items() if n not in (LISTED_VARIABLES, VARIABLE_NAMES)}
    kept.update(carried_variables(variables))
    return kept


def lookup_key(attribute: str, value: str) -> str:
    """The ``lookup-sort`` hash value of ``value`` of a lookup attribute (``bk``, ``pdk``, ...)."""
    if len(value.encode()) <= LOOKUP_VALUE_BYTES:
        return f"{attribute}={value}"
    return f"{attribute}#{hashlib.sha256(value.encode()).hexdigest()}"


def lookup_sk(attribute: str) -> str:
    """The sort key of an instance's lookup item of ``attribute`` (``LOOKUP_ATTRIBUTES``)."""
    return _LOOKUP_PREFIX + attribute


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
                    sk=lookup_sk(attribute),
                    kind=LOOKUP_KIND,
                    data=data,
                    index={"lookup": lookup_key(attribute, value), "sort": header.index["sort"]},
                )
            )
    return items


def variable_text(value: Any) -> str | None:
    """A variable's value as a ``var-<name>`` parameter compares it (a string, as IDM), or None
    when no parameter can equal it (null, an object or a list)."""
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return str(value)


def variable_lookup_key(name: str, text: str) -> str:
    """The ``lookup-sort`` hash value of the instances whose variable ``name`` has the text
    ``text`` (``variable_text``): ``var:<name>=<text>``; ``var:<name>#<sha256 of text>`` when the
    text is long; ``var#<sha256 of both>`` when the name holds ``=`` or ``#`` (which would make
    the short forms ambiguous) or the key would pass ``LOOKUP_KEY_BYTES``."""
    key = lookup_key(f"var:{name}", text)
    if "=" in name or "#" in name or len(key.encode()) > LOOKUP_KEY_BYTES:
        both = json.dumps([name, text], ensure_ascii=False).encode()
        return f"var#{hashlib.sha256(both).hexdigest()}"
    return key


def variable_items(instance_id: str, variables: Mapping[str, Any], sort: str) -> list[Item]:
    """The variable lookup items of a running instance whose instance-scope variables are
    ``variables`` and whose header's ``sort`` is ``sort``: one key-only item per variable with a
    text (``variable_text``; hidden ones left out), or one ``VARIABLE_OVERFLOW`` item when there
    are more than ``VARIABLE_LOOKUP_MAX``."""
    texts = {
        name: text
        for name, value in variables.items()
        if name not in HIDDEN_VARIABLES and (text := variable_text(value)) is not None
    }
    if len(texts) > VARIABLE_LOOKUP_MAX:
        index = {"lookup": VARIABLE_OVERFLOW, "sort": sort}
        return [Item(instance_id, _VARIABLE_OVERFLOW_SK, LOOKUP_KIND, {}, index)]
    return [
        Item(
            pk=instance_id,
            sk=_VARIABLE_LOOKUP_PREFIX + name,
            kind=LOOKUP_KIND,
            data={"name": name},
            index={"lookup": variable_lookup_key(name, text), "sort": sort},
        )
        for name, text in sorted(texts.items())
    ]


def instance_key_partition(attribute: str | None = None, value: str | None = None) -> str:
    """The ``kindShard-sort`` hash value of the key items of the running instances whose
    ``attribute`` (``LOOKUP_ATTRIBUTES``) is ``value``: ``instance-keys:<lookup_key>``; no
    attribute: the base of the listing's shards (``instance-keys``, shards ``#0`` .. ``#7``)."""
    if attribute is None or value is None:
        return INSTANCE_KEYS
    return f"{INSTANCE_KEYS}:{lookup_key(attribute, value)}"


def instance_key_sk(attribute: str | None = None) -> str:
    """The sort key of an instance's key item of the listing (None) or of ``attribute``."""
    return _KEY_PREFIX + (attribute or _LISTING_KEY)


def key_items(instance_id: str, header: Item) -> list[Item]:
    """The key-only items a header item should have: none unless it is listed (running); one in
    the listing's shard (``instance-keys#<n>``, as the header's ``instance#<n>``) and one per
    set lookup attribute (``instance_key_partition``), all sorted as the header."""
    if "sort" not in header.index:
        return []
    sort = header.index["sort"]
    shard = shard_key(INSTANCE_KEYS, shard_for(instance_id, LIST_SHARDS))
    items = [
        Item(
            instance_id,
            instance_key_sk(),
            INSTANCE_KEY_KIND,
            {},
            {"kind_shard": shard, "sort": sort},
        )
    ]
    for attribute, name in LOOKUP_ATTRIBUTES.items():
        value = header.data.get(name)
        if isinstance(value, str):
            partition = instance_key_partition(attribute, value)
            index = {"kind_shard": partition, "sort": sort}
            items.append(
                Item(instance_id, instance_key_sk(attribute), INSTANCE_KEY_KIND, {}, index)
            )
    return items


def _index_items(instance_id: str, header: Item, variables: Mapping[str, Any]) -> list[Item]:
    """Every lookup item a header item and its instance-scope ``variables`` should have (the key
    items included: they share the ``look#`` prefix, so they go with the others)."""
    if "sort" not in header.index:
        return []
    return (
        lookup_items(instance_id, header)
        + variable_items(instance_id, variables, header.index["sort"])
        + key_items(instance_id, header)
    )


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
        header_record = dict(old_header.data)
    prefix = variable_prefix(instance_id)
    variables = {
        item.data["name"]: item.data.get("value")
        for sk, item in stored.items()
        if sk.startswith(prefix) and item.data.get("kind")
    }
    variables.update(changed)
    for name in removed - set(changed):
        variables.pop(name, None)
    header = item_of(instance_id, with_carried_variables(header_record, variables))
    puts[:] = [item for item in puts if item.sk != HEADER_SK]
    puts.insert(0, header)
    wanted = {item.sk: item for item in _index_items(instance_id, header, variables)}
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
    executions = [r for r in changes.puts if r["kind"] == RecordKind.EXECUTION.value]
    puts = [
        item_of(instance_id, r) for r in changes.puts if r["kind"] != RecordKind.EXECUTION.value
    ]
    deletes = [sort_key_of(kind, key) for kind, key in changes.deletes]
    for record in changes.puts:
        if record["kind"] == RecordKind.TASK.value:
            wanted = _task_items(instance_id, record)
            puts.extend(wanted)
            keep = {item.sk for item in wanted}
            deletes.extend(
                sk
                for sk in stored
                if sk.startswith(_task_item_prefixes(record["id"])) and sk not in keep
            )
    for kind, key in changes.deletes:
        if kind == RecordKind.TASK.value:
            deletes.extend(sk for sk in stored if sk.startswith(_task_item_prefixes(str(key))))
    _header_puts(changes, stored, puts, deletes)
    _execution_puts(instance_id, executions, stored, puts, deletes)
    return puts, deletes


def _execution_puts(
    instance_id: str,
    executions: list[dict],
    stored: Mapping[str, Item],
    puts: list[Item],
    deletes: list[str],
) -> None:
    """Add the items of the changed ``executions``, listed under the header as committed; and
    when the header's copied fields change (a migration), every other execution's too."""
    old_header = stored.get(HEADER_SK)
    new_header = next((item for item in puts if item.sk == HEADER_SK), None)
    header = None if HEADER_SK in deletes else (new_header or old_header)
    data = header.data if header is not None else None
    puts.extend(item_of(instance_id, record, data) for record in executions)
    if new_header is None or old_header is None or data is None:
        return
    if _header_copy(old_header.data) == _header_copy(data):
        return
    written = {item.sk for item in puts} | set(deletes)
    for sk, old in stored.items():
        if sk.startswith(EXECUTION_PREFIX) and old.data.get("kind") and sk not in written:
            item = item_of(instance_id, old.data, data)
            if _differs(old, item):
                puts.append(item)


def _differs(old: Item | None, new: Item) -> bool:
    return old is None or (old.data, old.index, old.ttl) != (new.data, new.index, new.ttl)


def layout_repairs(aggregate: Aggregate) -> tuple[list[Item], list[str]]:
    """``(puts, deleted sort keys)`` that bring a loaded running instance to what the current
    layout writes (the backfill of data written before ``listed_variables``, lookup, instance
    key, candidate and task lookup items, the execution listing and correlated subscription
    partitions): the header with its ``listed_variables``, its lookup and key items, the
    candidate and task lookup items of its open tasks, its executions listed with their header
    copy, and its subscriptions in their ``event-sort`` partitions. Nothing for an instance
    already current, or
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
    wanted_header = item_of(instance_id, with_carried_variables(header.data, variables))
    puts: list[Item] = []
    deletes: list[str] = []
    if _differs(header, wanted_header):
        puts.append(wanted_header)
    wanted = {item.sk: item for item in _index_items(instance_id, wanted_header, variables)}
    for task in stored.values():
        if task.sk.startswith(TASK_PREFIX) and task.data.get("kind") == RecordKind.TASK.value:
            wanted.update((item.sk, item) for item in _task_items(instance_id, task.data))
    for execution in stored.values():
        if execution.sk.startswith(EXECUTION_PREFIX) and execution.data.get("kind"):
            execution_item = item_of(instance_id, execution.data, wanted_header.data)
            wanted[execution_item.sk] = execution_item
    for subscription in stored.values():  # correlated ones move to their values' partition
        if subscription.sk.startswith(SUBSCRIPTION_PREFIX) and subscription.data.get("kind"):
            wanted[subscription.sk] = item_of(instance_id, subscription.data)
    puts.extend(item for sk, item in wanted.items() if _differs(stored.get(sk), item))
    deletes.extend(
        sk
        for sk in stored
        if sk.startswith((_LOOKUP_PREFIX, _CANDIDATE_PREFIX, _TASK_LOOKUP_PREFIX))
        and sk not in wanted
    )
    return puts, deletes


def records_of(items: Iterable[Item]) -> list[dict]:
    """The record dicts stored in ``items`` (index reads return whole items)."""
    return [item.data for item in items if item.data.get("kind")]


# --- keys the readers share (the reads themselves: ``instance_reads.py``) ---------------------

#: the ``kindShard-sort`` listings of the runtime table (``layout.listing``)
RUNNING_LISTING = "instance"
OPEN_TASK_LISTING = "task"
EXECUTION_LISTING = "execution"
_VARIABLE_PREFIX = "var#"
TASK_PREFIX = "task#"
EXECUTION_PREFIX = "exec#"
SUBSCRIPTION_PREFIX = "sub#"


def event_key(kind: str, name: str) -> str:
    """The ``event-sort`` index partition of the subscriptions to event ``name`` of ``kind``
    (``message``, ``signal``, ...)."""
    return f"{kind}#{name}"


#: between an event partition and the digest of the correlation values its subscriptions expect
CORRELATION_MARK = "|c="


def correlated_event_key(kind: str, name: str, correlation: Mapping[str, Any]) -> str:
    """The ``event-sort`` partition of the subscriptions to ``kind#name`` that expect the
    correlation values ``correlation`` (name -> value: an event-registry catch): ``event_key``
    plus ``CORRELATION_MARK`` and a digest of the sorted ``(name, text of the value)`` pairs;
    ``event_key`` itself when there are none. An inbound event reads the partition of each
    subset of its own correlation values (Flowable's correlation keys), so it reads the
    subscriptions that may match it, not every subscription to its type. Values compare as
    text, as the matching does (``inbound._equal``): a subscription's values are texts."""
    if not correlation:
        return event_key(kind, name)
    pairs = sorted((str(n), str(v)) for n, v in correlation.items())
    text = json.dumps(pairs, ensure_ascii=False, separators=(",", ":"))
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
    return f"{event_key(kind, name)}{CORRELATION_MARK}{digest}"


def variable_prefix(instance_id: str, scope_id: str | None = None) -> str:
    """The sort-key prefix of the variables of scope ``scope_id`` (default: the instance)."""
    return f"{_VARIABLE_PREFIX}{scope_id or instance_id}/"
