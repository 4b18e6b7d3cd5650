"""The event registry's items: deployed event and channel definitions (repository table) and
the start events registered on an event type (runtime table, beside the subscriptions).

Repository table:

============================  ===============================  ====================  ======================
partition (``pk``)            sort key (``sk``)                ``kind``              index ``sort``
============================  ===============================  ====================  ======================
``event-def#<key>``           ``<deployTime>#<d>``             event-definition      (not indexed)
``channel-def#<key>``         ``<deployTime>#<d>``             channel-definition    ``<key>#<deployTime>#<d>``
``event-start-key#<key>``     ``#starts``                      event-start-key       (not indexed)
============================  ===============================  ====================  ======================

Runtime table:

============================  ===============================  ====================  ======================
partition (``pk``)            sort key (``sk``)                ``kind``              ``event-sort`` index
============================  ===============================  ====================  ======================
``event-start#<eventKey>``    ``<processKey>#<activityId>``    event-start           ``message#eventRegistry:<eventKey>``,
                                                                                     ``!start#<processKey>#<activityId>``
============================  ===============================  ====================  ======================

An ``event-start`` item is a start event of a process key's latest version that starts on an
event type. It sits in the ``event-sort`` index partition of the subscriptions to that event
type (``message#eventRegistry:<eventKey>``, see ``instances.event_key``), sorted before them
(``!`` sorts before the subscriptions' ``<created>#<id>``): one Query of the partition answers
both halves of an inbound event's lookup, what it starts and whom it reaches without
correlation values, as Flowable's one ``ACT_RU_EVENT_SUBSCR`` query does. A subscription that
expects correlation values sits in a partition of its own values instead
(``instances.correlated_event_key``), which the event reads for each subset of its values
(Flowable's correlation keys: ``configuration IN (...)``). ``instance_reads.subscribers`` leaves them out, so every
other reader of the index sees subscriptions only. The ``event-start-key`` item of a process
key lists its registered ``(eventKey, activityId)`` pairs and their definition, so a new
version (or deleting the latest) replaces exactly the items of the previous one.

One item per definition and deployment: the newest item of a key (one Query, descending,
limit 1) is the definition in force; deleting a deployment deletes its items, so the previous
deployment's definition is in force again. Channels are listed by the sparse ``kind-sort``
index (the inbound handler reads every inbound channel).
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations
from typing import Any

from ...engine.elements import EVENT_REGISTRY_PREFIX
from ...storage.ports import Delete, Index, Item, ItemStore, Table
from .instances import correlated_event_key
from .instances import event_key as event_partition_key

__all__ = [
    "EVENT_DEFINITION",
    "CHANNEL_DEFINITION",
    "definition_item",
    "definition_delete",
    "latest_definition",
    "all_channels",
    "EVENT_START",
    "event_start_item",
    "event_start_key",
    "EVENT_START_TABLE",
    "START_SORT_PREFIX",
    "event_lookup",
    "MAX_CORRELATION_PARAMETERS",
    "legacy_event_start",
    "starts_of_key_item",
    "read_starts_of_key",
]

EVENT_START = "event-start"

EVENT_DEFINITION = "event-definition"
CHANNEL_DEFINITION = "channel-definition"
_PREFIX = {EVENT_DEFINITION: "event-def#", CHANNEL_DEFINITION: "channel-def#"}


def _pk(kind: str, key: str) -> str:
    return f"{_PREFIX[kind]}{key}"


def _sk(deploy_time: str, deployment_id: str) -> str:
    return f"{deploy_time}#{deployment_id}"


def definition_item(
    kind: str, key: str, deploy_time: str, deployment_id: str, data: dict[str, Any]
) -> Item:
    """The item of one event or channel definition deployed by ``deployment_id``."""
    index = (
        {"sort": f"{key}#{_sk(deploy_time, deployment_id)}"} if kind == CHANNEL_DEFINITION else {}
    )
    return Item(
        _pk(kind, key),
        _sk(deploy_time, deployment_id),
        kind,
        {**data, "deploymentId": deployment_id, "deployTime": deploy_time},
        index=index,
    )


def definition_delete(kind: str, key: str, deploy_time: str, deployment_id: str) -> Delete:
    """The write that removes a deployment's definition of ``key``."""
    return Delete(Table.REPOSITORY, _pk(kind, key), _sk(deploy_time, deployment_id))


def latest_definition(store: ItemStore, kind: str, key: str) -> Item | None:
    """The definition of ``key`` in force (the newest deployment's), or None (one Query)."""
    page = store.query(Table.REPOSITORY, _pk(kind, key), limit=1, descending=True)
    return page.items[0] if page.items else None


def all_channels(store: ItemStore) -> list[Item]:
    """The channel definitions in force: the newest item of each channel key (index Query)."""
    newest: dict[str, Item] = {}
    token = None
    while True:
        page = store.query_index(
            Table.REPOSITORY, Index.KIND_SORT, CHANNEL_DEFINITION, limit=500, start=token
        )
        for item in page.items:
            key = item.data["key"]
            if key not in newest or item.sk > newest[key].sk:
                newest[key] = item
        token = page.next_token
        if token is None:
            return list(newest.values())


#: where the start registrations live: beside the subscriptions they are looked up with
EVENT_START_TABLE = Table.RUNTIME
#: the ``event-sort`` sort prefix of a start registration (before every ``<created>#<id>``)
START_SORT_PREFIX = "!start#"


def event_start_key(event_key: str, process_key: str, activity_id: str) -> tuple[str, str]:
    """``(pk, sk)`` of the start event ``activity_id`` of ``process_key`` on ``event_key``."""
    return f"event-start#{event_key}", f"{process_key}#{activity_id}"


def event_start_item(event_key: str, process_key: str, activity_id: str, data: dict) -> Item:
    """The registration of a start event on ``event_key`` (``data``: definitionId, version,
    correlation, outParameters), in the ``event-sort`` partition of the event type."""
    pk, sk = event_start_key(event_key, process_key, activity_id)
    index = {
        "event": event_partition_key("message", f"{EVENT_REGISTRY_PREFIX}{event_key}"),
        "sort": f"{START_SORT_PREFIX}{sk}",
    }
    data = {**data, "key": process_key, "activityId": activity_id}
    return Item(pk, sk, EVENT_START, data, index=index)


def event_lookup(
    store: ItemStore, event_key: str, correlation: Mapping[str, Any] | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(start registrations, subscriptions)`` of ``event_key`` that an event with the
    correlation values ``correlation`` may match: the data of the start events registered on
    it and of the executions subscribed to it without correlation values (one Query of its
    ``event-sort`` partition), plus the subscriptions expecting each non-empty subset of
    ``correlation`` (one Query of each subset's partition, ``instances.correlated_event_key``;
    more only past 1 MB of items). So an event reads what may match it, never every
    subscription to its type: 2 Queries for an event with one correlation parameter, at most
    ``2 ** MAX_CORRELATION_PARAMETERS`` with the most a definition may have. The caller still
    compares the values (a legacy subscription written before the digest sits in the first
    partition). Eventually consistent, like every index read: a registration or subscription
    a few hundred milliseconds old may be missed."""
    name = f"{EVENT_REGISTRY_PREFIX}{event_key}"
    starts: list[dict[str, Any]] = []
    subscriptions: list[dict[str, Any]] = []
    for partition in _partitions(name, correlation or {}):
        token = None
        while True:
            page = store.query_index(Table.RUNTIME, Index.EVENT_SORT, partition, start=token)
            for item in page.items:
                (starts if item.kind == EVENT_START else subscriptions).append(item.data)
            token = page.next_token
            if token is None:
                break
    return starts, subscriptions


#: the most correlation parameters an event definition may have: an inbound event reads one
#: ``event-sort`` partition per subset of its correlation values (validated at deploy)
MAX_CORRELATION_PARAMETERS = 4


def _partitions(name: str, correlation: Mapping[str, Any]) -> list[str]:
    """The event's own partition, then one per non-empty subset of its correlation values."""
    pairs = sorted(correlation.items())
    return [event_partition_key("message", name)] + [
        correlated_event_key("message", name, dict(subset))
        for size in range(1, len(pairs) + 1)
        for subset in combinations(pairs, size)
    ]


def legacy_event_start(
    store: ItemStore, event_key: str, process_key: str, activity_id: str
) -> Item | None:
    """A registration written by the earlier layout (repository table, not indexed), or
    None: read only by the backfill that moves it."""
    return store.get(Table.REPOSITORY, *event_start_key(event_key, process_key, activity_id))


def starts_of_key_item(key: str, definition_id: str | None, entries: set) -> Item:
    """Which event-registry start events process key ``key`` has registered."""
    data = {"key": key, "definitionId": definition_id, "entries": sorted(list(e) for e in entries)}
    return Item(f"event-start-key#{key}", "#starts", "event-start-key", data)


def read_starts_of_key(store: ItemStore, key: str) -> Item | None:
    """The ``event-start-key`` item of process key ``key`` (one GetItem), or None."""
    return store.get(Table.REPOSITORY, f"event-start-key#{key}", "#starts")
