"""pynamodb models of the four tables, built per table name (names come from ``Settings``).

Every table has the same envelope attributes (``storage.codec`` lists them) plus its sparse index
key attributes and the global secondary indexes that use them, declared here beside the model and
named after their keys (``kindShard-sort``: hash ``kind_shard``, range ``sort``). Indexes project
ALL attributes, tables are PAY_PER_REQUEST, ``expires`` is the TTL attribute (``create_table``
enables TTL on it).

``model_for`` builds the classes on first use and caches them; nothing is built at import time.
Models are plain records: the store translates them to and from ``Item``.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any, cast

from pynamodb.attributes import (
    BinaryAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.connection import Connection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from ... import aws
from ...settings import Settings
from ..codec import Record
from ..ports import INDEX_ATTRIBUTES, INDEXES, Index, Table

__all__ = [
    "StoredItem",
    "SharedClientConnection",
    "model_for",
    "table_name",
    "to_record",
    "from_record",
    "index_of",
]


class SharedClientConnection(Connection):
    """A pynamodb ``Connection`` over the container's cached botocore client (``aws.client``).

    pynamodb would otherwise build its own session and client per connection; sharing ours means
    one client per container and the request-counting hook on every DynamoDB call.
    """

    @property
    def client(self):
        return aws.client("dynamodb", self.region, self.host)


class StoredItem(Model):
    """The envelope every table shares; concrete classes (with a Meta) come from ``model_for``."""

    #: Which of our tables the concrete class stores.
    workflow_table: Table

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()
    body = BinaryAttribute(legacy_encoding=False, null=True)
    chunks = NumberAttribute(null=True)
    version = NumberAttribute(null=True)
    schema_version = NumberAttribute(default=1)
    expires = TTLAttribute(null=True)


_ENVELOPE = ("pk", "sk", "kind", "body", "chunks", "version", "schema_version")
_models: dict[tuple[Table, str, str, str | None], type[StoredItem]] = {}
_models_lock = threading.Lock()


def table_name(settings: Settings, table: Table) -> str:
    """The DynamoDB table name of ``table`` in this stage."""
    return {
        Table.REPOSITORY: settings.repository_table,
        Table.RUNTIME: settings.runtime_table,
        Table.HISTORY: settings.history_table,
        Table.DEADLETTER: settings.deadletter_table,
    }[table]


def _index_class(model_name: str, index: Index) -> type[GlobalSecondaryIndex]:
    spec = index.spec
    meta = type("Meta", (), {"index_name": spec.name, "projection": AllProjection()})
    attrs: dict[str, Any] = {
        "Meta": meta,
        spec.hash_attr: UnicodeAttribute(hash_key=True),
        spec.range_attr: UnicodeAttribute(range_key=True),
    }
    class_name = model_name + "".join(part.capitalize() for part in spec.name.split("-")) + "Index"
    return type(class_name, (GlobalSecondaryIndex,), attrs)


def model_for(settings: Settings, table: Table) -> type[StoredItem]:
    """The pynamodb model of ``table`` for this stage's name, region and endpoint (cached)."""
    name = table_name(settings, table)
    key = (table, name, settings.region, settings.endpoint_url)
    found = _models.get(key)
    if found is not None:
        return found
    with _models_lock:
        found = _models.get(key)
        if found is None:
            found = _build(table, name, settings.region, settings.endpoint_url)
            _models[key] = found
        return found


def _build(table: Table, name: str, region: str, host: str | None) -> type[StoredItem]:
    model_name = table.value.capitalize() + "Item"
    meta = type(
        "Meta",
        (),
        {"table_name": name, "region": region, "host": host, "billing_mode": "PAY_PER_REQUEST"},
    )
    attrs: dict[str, Any] = {"Meta": meta, "__module__": __name__, "workflow_table": table}
    for attr in sorted(INDEX_ATTRIBUTES[table]):
        attrs[attr] = UnicodeAttribute(null=True)
    for index in INDEXES[table]:
        attrs["index_" + index.name.lower()] = _index_class(model_name, index)()
    model = cast("type[StoredItem]", type(model_name, (StoredItem,), attrs))
    # Route the model's requests through the shared client (see SharedClientConnection).
    table_connection = model._get_connection()
    meta_table = table_connection.get_meta_table()
    shared = SharedClientConnection(region=region, host=host)
    shared.add_meta_table(meta_table)
    table_connection.connection = shared
    return model


def index_of(model: type[StoredItem], index: Index) -> GlobalSecondaryIndex:
    """The model's GSI object for ``index``."""
    return getattr(model, "index_" + index.name.lower())


def to_record(stored: StoredItem) -> Record:
    """The codec record of a model instance."""
    record: Record = {}
    for name in _ENVELOPE:
        value = getattr(stored, name)
        if value is not None:
            record[name] = int(value) if isinstance(value, float) else value
    if stored.expires is not None:
        record["expires"] = int(stored.expires.timestamp())
    for name in INDEX_ATTRIBUTES[type(stored).workflow_table]:
        value = getattr(stored, name, None)
        if value is not None:
            record[name] = value
    record.setdefault("body", b"")
    return record


def from_record(model: type[StoredItem], record: Record) -> StoredItem:
    """A model instance holding ``record``."""
    values = dict(record)
    expires = values.pop("expires", None)
    stored = model(**values)
    if expires is not None:
        stored.expires = datetime.fromtimestamp(expires, tz=UTC)
    return stored
