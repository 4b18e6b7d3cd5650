"""Historic activity instances, stored as one segment item per instance per command.

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

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from ..ids import new_id
from ..storage.ports import Item, Put, Table

__all__ = ["SEGMENT_PREFIX", "SEGMENT_KIND", "segment_item", "read", "repointed"]

#: sort-key prefix of the segments in an instance's history partition
SEGMENT_PREFIX = "acts#"
SEGMENT_KIND = "history-activities"


def segment_item(instance_id: str, records: Iterable[Any], *, now_ms: int, ttl: int | None) -> Item:
    """The segment of one command's activity records for one instance (each a dict, or a
    history record's read-only view of one); ``now_ms`` orders it among the instance's
    segments, ``ttl`` is the history TTL (``instances.history_ttl``)."""
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


def read(store: Any, instance_id: str) -> list[dict[str, Any]]:
    """Every historic activity instance of the instance, in the order they started; each as
    its latest record (one Query of the segments)."""
    folded: dict[str, dict[str, Any]] = {}
    for item in store.query(Table.HISTORY, instance_id, sk_prefix=SEGMENT_PREFIX).items:
        for record in item.data.get("records", ()):
            known = folded.get(record["id"])
            if known is None or not known.get("endTime") or record.get("endTime"):
                folded[record["id"]] = record
    return list(folded.values())


def repointed(store: Any, instance_id: str, definition_id: str) -> list[Put]:
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
