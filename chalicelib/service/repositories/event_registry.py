"""The event registry's items in the repository table: deployed event and channel definitions.

============================  ===============================  ====================  ======================
partition (``pk``)            sort key (``sk``)                ``kind``              index ``sort``
============================  ===============================  ====================  ======================
``event-def#<key>``           ``<deployTime>#<d>``             event-definition      (not indexed)
``channel-def#<key>``         ``<deployTime>#<d>``             channel-definition    ``<key>#<deployTime>#<d>``
``event-start#<eventKey>``    ``<processKey>#<activityId>``    event-start           (not indexed)
``event-start-key#<key>``     ``#starts``                      event-start-key       (not indexed)
============================  ===============================  ====================  ======================

An ``event-start`` item is a start event of a process key's latest version that starts on an
event type: one Query of the event key finds them all. The ``event-start-key`` item of a
process key lists its registered ``(eventKey, activityId)`` pairs and their definition, so a
new version (or deleting the latest) replaces exactly the items of the previous one.

One item per definition and deployment: the newest item of a key (one Query, descending,
limit 1) is the definition in force; deleting a deployment deletes its items, so the previous
deployment's definition is in force again. Channels are listed by the sparse ``kind-sort``
index (the inbound handler reads every inbound channel).
"""

from __future__ import annotations

from typing import Any

from ...storage.ports import Delete, Index, Item, ItemStore, Table

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
    "event_starts",
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


def event_start_key(event_key: str, process_key: str, activity_id: str) -> tuple[str, str]:
    """``(pk, sk)`` of the start event ``activity_id`` of ``process_key`` on ``event_key``."""
    return f"event-start#{event_key}", f"{process_key}#{activity_id}"


def event_start_item(event_key: str, process_key: str, activity_id: str, data: dict) -> Item:
    """The registration of a start event on ``event_key`` (``data``: definitionId, version,
    correlation, outParameters)."""
    pk, sk = event_start_key(event_key, process_key, activity_id)
    return Item(pk, sk, EVENT_START, {**data, "key": process_key, "activityId": activity_id})


def event_starts(store: ItemStore, event_key: str) -> list[Item]:
    """The start events registered on ``event_key`` (one Query)."""
    pk, _ = event_start_key(event_key, "", "")
    return list(store.query(Table.REPOSITORY, pk).items)


def starts_of_key_item(key: str, definition_id: str | None, entries: set) -> Item:
    """Which event-registry start events process key ``key`` has registered."""
    data = {"key": key, "definitionId": definition_id, "entries": sorted(list(e) for e in entries)}
    return Item(f"event-start-key#{key}", "#starts", "event-start-key", data)


def read_starts_of_key(store: ItemStore, key: str) -> Item | None:
    """The ``event-start-key`` item of process key ``key`` (one GetItem), or None."""
    return store.get(Table.REPOSITORY, f"event-start-key#{key}", "#starts")
