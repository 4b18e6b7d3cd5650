"""Commits larger than one transaction, behind a commit intent (DESIGN.md §3).

DynamoDB takes at most 100 writes (and 4 MB) per TransactWriteItems. A command that starts a
500-way parallel multi-instance writes thousands of items; one that records the history of a
long automatic run writes hundreds. Such a commit is made in two phases:

1. **Decide** (one transaction): every write that carries a condition (the aggregate's
   version-conditioned header, other instances, idempotency records, the job being run, ...)
   plus ONE intent item, ``#intent`` in the aggregate's own item collection, which holds the
   rest of the writes (compressed, and chunked by the codec when large). From this moment the
   commit has happened: it cannot be lost and it cannot be half-seen through the aggregate.
2. **Apply** (``apply``): the deferred writes, in transactions of at most the limit, each with
   a ``ConditionCheck`` that the intent is still there *at its version*; the last one deletes
   the intent instead (same condition), with the writes named in ``cleanup`` (the recovery
   job's delete and its count, say). A cleanup delete may be conditioned (``VersionIs``): when
   it fails (its item changed or went meanwhile), the last transaction is sent again without
   the cleanup.

Only writes that nobody else may touch meanwhile are deferred: the aggregate's own items other
than its header (the header's new version guards them; new job items there have fresh ids, so
their ``MustNotExist`` is dropped), unconditional history puts, and counter additions
(``AddCount``: a 500-way fan-out with an assignee per branch counts 500 partitions). Everything
else stays in the decide transaction, which must fit; if it does not, ``TooLarge`` says so
before anything is sent.

Who applies: the committer, right after deciding. If it dies meanwhile, the next loader of the
aggregate (``AggregateStore.load``) rolls the intent forward before it reads, and the recovery
job the service writes beside the intent finishes it otherwise. Applying is idempotent (puts of
final values, deletes); a stale applier fails its intent check and stops, so it can never
overwrite a later commit. Counter additions are not idempotent, so a batch that carries any
also puts a marker item (``#applied#<aggregate>`` / ``<version>#<batch>``, must not exist, kept
a day): an applier that meets the marker knows the batch is in and goes on to the next, so each
count is added exactly once. The last batch needs none: it deletes the intent, which happens
once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from ..errors import ConcurrencyError
from . import codec
from .ports import (
    MAX_TRANSACTION_WRITES,
    AddCount,
    ConditionCheck,
    Delete,
    DuplicateWrite,
    Item,
    ItemStore,
    MustNotExist,
    Put,
    StorageError,
    Table,
    VersionIs,
    Write,
)

__all__ = [
    "INTENT_SK",
    "INTENT_KIND",
    "TooLarge",
    "physical_writes",
    "split",
    "apply",
    "intent_version",
]

log = logging.getLogger("workflow.storage.intent")

INTENT_SK = "#intent"
INTENT_KIND = "commit-intent"
#: markers of applied batches that carry counts: ``#applied#<aggregate>`` / ``<version>#<n>``
APPLIED_PREFIX = "#applied#"
APPLIED_KIND = "applied-batch"
APPLIED_MARKER_TTL_S = 86_400
_HEADER_SK = "#header"
#: bytes kept free in each apply transaction (DynamoDB counts a little more than the records)
_BYTES_MARGIN = 200_000


class TooLarge(StorageError):
    """Even the writes that must commit together exceed one transaction."""


def physical_writes(writes: Sequence[Write]) -> int:
    """How many writes DynamoDB would count for ``writes`` (chunk items included)."""
    return sum(len(codec.plan([write])) for write in writes)


def _deferrable(write: Write, pk: str) -> bool:
    if isinstance(write, AddCount):
        return True  # applied exactly once: see ``apply``
    if not isinstance(write, (Put, Delete)):
        return False
    if write.table is Table.HISTORY:
        return write.condition is None
    if write.table is not Table.RUNTIME:
        return False
    key_pk, key_sk = (
        (write.item.pk, write.item.sk) if isinstance(write, Put) else (write.pk, write.sk)
    )
    if key_pk != pk or key_sk in (_HEADER_SK, INTENT_SK):
        return False
    # a new item of the aggregate (a job, say): its id is fresh and the header's version
    # condition already guards the whole collection
    return write.condition is None or (
        isinstance(write, Put) and isinstance(write.condition, MustNotExist)
    )


def split(
    pk: str,
    version: int,
    writes: Sequence[Write],
    *,
    keep: Iterable[Write] = (),
    cleanup: Iterable[Write] = (),
) -> tuple[list[Write], Item]:
    """The decide transaction for ``writes`` and the intent item it puts.

    ``pk``: the aggregate whose items are deferred, committed at ``version`` (its new version:
    the intent carries it). ``keep``: more writes for the decide transaction (never deferred).
    ``cleanup``: writes for the final apply transaction (deletes, unconditioned or
    ``VersionIs``, and counts of what the caller added beside the intent: its recovery job,
    say); left out when one of its conditions fails.
    """
    _check_unique([*writes, *keep])
    first: list[Write] = []
    deferred: list[Write] = []
    for write in writes:
        (deferred if _deferrable(write, pk) else first).append(write)
    intent = Item(
        pk=pk,
        sk=INTENT_SK,
        kind=INTENT_KIND,
        version=version,
        data={
            "writes": [_encode(write) for write in deferred],
            "cleanup": [_encode(write) for write in cleanup],
        },
    )
    first.extend(keep)
    # the intent is encoded once here (its chunks count, and ``apply`` deletes them)
    intent.stored_chunks = physical_writes([Put(Table.RUNTIME, intent)]) - 1
    count = physical_writes(first) + 1 + intent.stored_chunks
    first.append(Put(Table.RUNTIME, intent, MustNotExist()))
    if count > MAX_TRANSACTION_WRITES:
        raise TooLarge(
            f"This request would write {count} items that must commit together; one "
            f"transaction takes at most {MAX_TRANSACTION_WRITES}",
            {"limit": MAX_TRANSACTION_WRITES, "items": count},
        )
    return first, intent


def _check_unique(writes: Sequence[Write]) -> None:
    """One write per item, as in one transaction (applied in batches, a second write of an
    item would silently win; refused before anything is sent instead)."""
    seen: set[tuple[Table, str, str]] = set()
    for write in writes:
        key = (
            (write.table, write.item.pk, write.item.sk)
            if isinstance(write, Put)
            else (write.table, write.pk, write.sk)
        )
        if key in seen:
            raise DuplicateWrite(
                f"Two writes on one item in a commit: {key[0].value} {key[1]!r} {key[2]!r}"
            )
        seen.add(key)


def intent_version(item: Item) -> int:
    return int(item.version or 0)


def apply(store: ItemStore, intent: Item) -> bool:
    """Roll ``intent`` forward; False when it was already applied (by someone else).

    ``intent`` as read (``stored_chunks`` set by the store) or as ``split`` made it.
    """
    stored_chunks = intent.stored_chunks
    still_there = ConditionCheck(
        Table.RUNTIME, intent.pk, INTENT_SK, VersionIs(intent_version(intent))
    )
    writes = [_decode(raw) for raw in intent.data["writes"]]
    done = Delete(
        Table.RUNTIME, intent.pk, INTENT_SK, VersionIs(intent_version(intent)), stored_chunks
    )
    cleanup = [_decode(raw) for raw in intent.data.get("cleanup", ())]
    # the last transaction deletes the intent (its own condition) and does the cleanup
    # reserve: the intent check or delete (and its chunks), the cleanup, an applied marker
    batches = list(_batches(writes, reserve=2 + stored_chunks + physical_writes(cleanup)))
    last = batches.pop() if batches else []
    for number, batch in enumerate(batches):
        # puts and deletes may be applied twice; counts may not: a batch that carries any
        # also puts its own marker, which exists once it has committed
        marker = _applied_marker(intent, number) if _counts(batch) else None
        try:
            store.transact([still_there, *batch, *([marker] if marker else [])])
        except ConcurrencyError:
            if _finished(store, intent):
                return False
            if marker is not None and store.get(Table.RUNTIME, *_key(marker)) is not None:
                continue  # applied by someone else (or by us before a crash)
            raise
    try:
        # the intent's delete: once, by its condition
        store.transact([*_merged_counts([*last, *cleanup]), done])
    except ConcurrencyError:
        if _finished(store, intent):
            return False
        if not cleanup:
            raise
        # a conditioned cleanup write lost (its item changed or went meanwhile): without it
        try:
            store.transact([*last, done])
        except ConcurrencyError:
            if _finished(store, intent):
                return False
            raise
    return True


def _finished(store: ItemStore, intent: Item) -> bool:
    """Whether someone else finished ``intent`` (and maybe committed since)."""
    current = store.get(Table.RUNTIME, intent.pk, INTENT_SK)
    return current is None or intent_version(current) != intent_version(intent)


def _merged_counts(writes: Sequence[Write]) -> list[Write]:
    """``writes`` with one ``AddCount`` per counter item (deltas summed, zero sums dropped):
    the cleanup's counts may fall on a counter item a deferred count adds to."""
    totals: dict[tuple[Table, str, str], int] = {}
    others: list[Write] = []
    for write in writes:
        if isinstance(write, AddCount):
            key = (write.table, write.pk, write.sk)
            totals[key] = totals.get(key, 0) + write.delta
        else:
            others.append(write)
    return [*others, *(AddCount(t, pk, sk, d) for (t, pk, sk), d in totals.items() if d)]


def _counts(batch: Sequence[Write]) -> bool:
    return any(isinstance(write, AddCount) for write in batch)


def _applied_marker(intent: Item, number: int) -> Put:
    """The marker of apply batch ``number`` of ``intent`` (kept a day: long after any applier
    of that intent has finished or given up)."""
    marker = Item(
        pk=f"{APPLIED_PREFIX}{intent.pk}",
        sk=f"{intent_version(intent)}#{number}",
        kind=APPLIED_KIND,
        ttl=int(time.time()) + APPLIED_MARKER_TTL_S,
    )
    return Put(Table.RUNTIME, marker, MustNotExist())


def _key(marker: Put) -> tuple[str, str]:
    return marker.item.pk, marker.item.sk


def _batches(writes: Sequence[Write], *, reserve: int) -> Iterator[list[Write]]:
    """``writes`` in groups that fit one transaction beside ``reserve`` other writes."""
    budget = MAX_TRANSACTION_WRITES - reserve
    batch: list[Write] = []
    used = size = 0
    for write in writes:
        raw = codec.plan([write])
        count = len(raw)
        weight = sum(codec.record_size(r.record) if r.record else 100 for r in raw)
        if batch and (
            used + count > budget or size + weight > codec.MAX_TRANSACTION_BYTES - _BYTES_MARGIN
        ):
            yield batch
            batch, used, size = [], 0, 0
        batch.append(write)
        used += count
        size += weight
    if batch:
        yield batch


# --- the intent's own encoding of writes -------------------------------------------------------


def _encode(write: Write) -> dict[str, Any]:
    if isinstance(write, Put):
        item = write.item
        return {
            "put": write.table.value,
            "replaces": write.replaces_chunks,
            "item": {
                "pk": item.pk,
                "sk": item.sk,
                "kind": item.kind,
                "data": item.data,
                "index": item.index,
                "ttl": item.ttl,
                "version": item.version,
                "schema_version": item.schema_version,
            },
        }
    if isinstance(write, Delete):
        raw = {"delete": write.table.value, "pk": write.pk, "sk": write.sk, "chunks": write.chunks}
        if isinstance(write.condition, VersionIs):  # a cleanup write's (deferred: none)
            raw["version"] = write.condition.version
        return raw
    if isinstance(write, AddCount):
        return {"add": write.table.value, "pk": write.pk, "sk": write.sk, "delta": write.delta}
    raise TypeError(f"not a deferrable write: {write!r}")


def _decode(raw: dict[str, Any]) -> Write:
    if "add" in raw:
        return AddCount(Table(raw["add"]), raw["pk"], raw["sk"], raw["delta"])
    if "put" in raw:
        return Put(Table(raw["put"]), Item(**raw["item"]), replaces_chunks=raw["replaces"])
    version = raw.get("version")
    condition = VersionIs(version) if version is not None else None
    return Delete(Table(raw["delete"]), raw["pk"], raw["sk"], condition, chunks=raw["chunks"])
