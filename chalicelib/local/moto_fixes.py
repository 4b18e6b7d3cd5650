"""One performance fix to moto's DynamoDB, for local mode, the tests and the benchmarks.

moto's ``transact_write_items`` keeps a backup of every table a transaction touches, so it can
roll back when a condition fails. It takes that backup once per *write* rather than once per
table, and each backup is a deep copy of the whole table: a transaction of 100 writes
deep-copies its table 100 times, a 500-way fan-out (thousands of items, dozens of
transactions) takes minutes instead of seconds, and even a one-item commit costs time in
proportion to everything stored (a signal broadcast to 200 instances ran at about one
delivery a second, issue 16).

``install()`` makes each table's backup happen once per transaction, and makes it a snapshot
rather than a deep copy: a shallow copy of the table whose item map is copied two levels deep
(hash key, range key), with a deep copy of only the items the transaction names (an
``Update`` changes its item in place; a ``Put`` or ``Delete`` replaces or removes the entry,
which the copied map does not see). A rollback puts that snapshot back, as moto puts back its
copy: what the transaction does, and its rollback, are unchanged.

A main-table ``Query`` (one partition) sorts every item of the table to pick the partition's
(``Table.all_items``): 70 ms a query with 200 waiting instances, most of a signal delivery's
time. ``install()`` hands such a query only its partition's items (moto still filters and sorts
them as before), and an index query the table's items unsorted (moto sorts what matches by the
index keys and then the table's, a total order, so the first sort was wasted). Index queries
still read the whole table: moto keeps no index.

And one to moto's SQS: ``send_message`` reads the queue's ``attributes`` (for FIFO
deduplication only), which counts every message of the queue three times (the approximate
numbers), so each send cost time in proportion to the backlog and a sweep re-sending 200 jobs
took seconds of the one interpreter lock. ``install()`` answers a standard queue's send an empty
map (what it reads there, ``ContentBasedDeduplication``, is FIFO only); ``GetQueueAttributes`` still counts them.

And one to moto's JSON responses: its serializer walks botocore's output shape value by value,
and for each of an ``AttributeValue``'s ten members asks a chain of alias providers which keys
to look up (about a third of a query's time over a few hundred items). ``install()`` serializes
an ``AttributeValue`` given as a dict holding member names only (what moto's items give) by
looking each member up directly, and a string member as the string: what the generic walk
yields for such a dict (no alias of a member is another member's name or a key it holds), with
the keys in the model's order; any other member (binary, sets, maps, lists, booleans) and any
other value still go through the generic walk.

Never imported by the Lambda handlers: moto is a development dependency.
"""

from __future__ import annotations

import copy
import functools
import inspect
import threading
import types
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["install"]

_installed = False


def install() -> None:
    """Patch moto's DynamoDB backend (idempotent, thread-safe: the memo is per thread)."""
    global _installed
    if _installed:
        return
    from moto.dynamodb import models

    local = threading.local()

    def deepcopy(value: Any, memo: Any = None) -> Any:
        backups = getattr(local, "backups", None)
        if backups is None or not isinstance(value, models.Table):
            return copy.deepcopy(value, memo)
        if id(value) not in backups:  # keeps ``value`` alive, so its id stays unique
            backups[id(value)] = (value, _snapshot(value, local.operations))
        return backups[id(value)][1]

    original = models.DynamoDBBackend.transact_write_items

    @functools.wraps(original)
    def transact_write_items(self: Any, transact_items: Any) -> Any:
        outer = getattr(local, "backups", None), getattr(local, "operations", None)
        local.backups = {}
        local.operations = [op for item in transact_items for op in item.values()]
        try:
            return original(self, transact_items)
        finally:
            local.backups, local.operations = outer

    # replacing a module's name and a class's method: typed as Any on purpose
    patched_module: Any = models
    patched_backend: Any = models.DynamoDBBackend
    patched_module.copy = types.SimpleNamespace(deepcopy=deepcopy, copy=copy.copy)
    patched_backend.transact_write_items = transact_write_items
    _install_partition_query(local)
    _install_sqs_send(local)
    _install_attribute_values()
    _installed = True


#: ``partition`` of an index query: every item, in no particular order
_UNSORTED = object()


def _install_partition_query(local: threading.local) -> None:
    """A main-table query reads its partition only (see the module's docstring)."""
    from moto.dynamodb.models import table as tables

    table_class: Any = tables.Table
    all_items, query = table_class.all_items, table_class.query
    index_position = list(inspect.signature(query).parameters).index("index_name")

    def partition_items(self: Any) -> Any:
        hash_key = getattr(local, "partition", None)
        if hash_key is None or not self.range_key_attr:
            return all_items(self)
        if hash_key is _UNSORTED:
            return [item for entry in self.items.values() for item in entry.values()]
        return list(self.items[hash_key].values()) if hash_key in self.items else []

    @functools.wraps(query)
    def partition_query(self: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = (
            args[index_position - 1] if len(args) >= index_position else kwargs.get("index_name")
        )
        outer = getattr(local, "partition", None)
        if index_name is not None:
            local.partition = _UNSORTED
        else:
            local.partition = args[0] if args else None
        try:
            return query(self, *args, **kwargs)
        finally:
            local.partition = outer

    table_class.all_items = partition_items
    table_class.query = partition_query


def _install_sqs_send(local: threading.local) -> None:
    """``send_message`` without counting the queue's messages (see the module's docstring)."""
    from moto.sqs import models

    queue_class: Any = models.Queue
    backend: Any = models.SQSBackend
    attributes = queue_class.attributes
    send = backend.send_message

    def cheap_attributes(queue: Any) -> Any:
        if getattr(local, "sending", False) and not queue.fifo_queue:
            return {}  # all a standard queue's send reads is FIFO deduplication: absent
        return attributes.fget(queue)

    @functools.wraps(send)
    def send_message(self: Any, *args: Any, **kwargs: Any) -> Any:
        outer = getattr(local, "sending", False)
        local.sending = True
        try:
            return send(self, *args, **kwargs)
        finally:
            local.sending = outer

    queue_class.attributes = property(cheap_attributes)
    backend.send_message = send_message


def _install_attribute_values() -> None:
    """``AttributeValue`` dicts serialized without the alias lookups (see the module's docstring)."""
    from moto.core import serialize

    serializer: Any = serialize.BaseJSONSerializer
    generic = serializer._serialize

    def attribute_value(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if (
            shape.name != "AttributeValue"
            or not key
            or type(value) is not dict
            or not value.keys() <= shape.members.keys()
        ):
            generic(self, serialized, value, shape, key)
            return
        self.path.append(key)
        wrapper: dict[str, Any] = {}
        for name, member in shape.members.items():
            member_value = value.get(name)
            if member_value is None:
                continue
            if type(member_value) is str and member.type_name == "string":
                wrapper[self.get_serialized_name(member, name)] = member_value
            else:
                generic(self, wrapper, member_value, member, name)
        serialized[self.get_serialized_name(shape, key)] = wrapper
        self.path.pop()

    serializer._serialize = attribute_value


def _snapshot(table: Any, operations: Iterable[Mapping[str, Any]]) -> Any:
    """What rolling back a transaction of ``operations`` on ``table`` needs: the table with its
    own item map (two levels), and its own copy of every item an operation names."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    snapshot = copy.copy(table)
    ranged = bool(table.range_key_attr)
    items: Any = defaultdict(dict)
    for hash_value, entry in list(table.items.items()):  # one step: other threads may write
        items[hash_value] = dict(entry) if ranged else entry
    snapshot.items = items
    for operation in operations:
        if operation.get("TableName") != table.name:
            continue
        key = operation.get("Key") or operation.get("Item") or {}
        if table.hash_key_attr not in key:
            continue
        hash_value = DynamoType(key[table.hash_key_attr])
        if ranged:
            if table.range_key_attr not in key:
                continue
            range_value = DynamoType(key[table.range_key_attr])
            item = table.items.get(hash_value, {}).get(range_value)
            if item is not None:
                items[hash_value][range_value] = copy.deepcopy(item)
        elif hash_value in table.items:
            items[hash_value] = copy.deepcopy(table.items[hash_value])
    return snapshot
