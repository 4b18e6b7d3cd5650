"""Move event-registry start registrations to where the inbound handler now reads them.

Before the registrations shared the ``event-sort`` partition of their event type with the
subscriptions (``repositories/event_registry.py``), each was an unindexed item of the
repository table, and an inbound event cost one Query more. This walk finds them through the
``event-start-key`` item of every deployed process key and moves each, in one transaction, to
the runtime table (put there, deleted here). Idempotent: a moved registration is not found in
the repository table again, so a second run moves nothing. Run by
``python -m chalicelib.local.backfill``; no Lambda handler imports it.
"""

from __future__ import annotations

from ...storage.ports import Delete, Index, ItemStore, Put, Table
from ..repositories import event_registry as repo
from ..repositories.definitions import PROCESS_DEFINITION

__all__ = ["move_event_starts"]


def _process_keys(store: ItemStore) -> set[str]:
    keys: set[str] = set()
    token = None
    while True:
        page = store.query_index(
            Table.REPOSITORY, Index.KIND_SORT, PROCESS_DEFINITION, limit=500, start=token
        )
        keys.update(str(item.data["key"]) for item in page.items if item.data.get("key"))
        token = page.next_token
        if token is None:
            return keys


def move_event_starts(store: ItemStore, *, dry_run: bool = False) -> int:
    """Move every registration still in the repository table; returns how many were (or,
    with ``dry_run``, would be) moved."""
    moved = 0
    for key in sorted(_process_keys(store)):
        registered = repo.read_starts_of_key(store, key)
        if registered is None:
            continue
        for event_key, activity_id in registered.data.get("entries", []):
            legacy = repo.legacy_event_start(store, event_key, key, activity_id)
            if legacy is None:
                continue
            moved += 1
            if dry_run:
                continue
            data = {k: v for k, v in legacy.data.items() if k not in ("key", "activityId")}
            item = repo.event_start_item(event_key, key, activity_id, data)
            store.transact(
                [
                    Put(repo.EVENT_START_TABLE, item),
                    Delete(Table.REPOSITORY, legacy.pk, legacy.sk),
                ]
            )
    return moved
