"""Backfill running instances written before the current runtime layout (issue 11).

Instances started before ``listed_variables``, lookup items (``lookup-sort``), candidate
items (``candidate-sort``), task lookup items (``lookup-sort``: ``task:unassigned``,
``task:pdi=``, ``task:pdk=``) and the execution listing (``execution#n`` with the header copy)
lack them until their header (task, execution) is next written: equality queries, the
definition delete check, candidate, unassigned and definition task queries and execution
listings miss them. ``backfill`` walks the sharded
running listing page by page, loads each instance (``AggregateStore.load``, one Query), asks
``repositories.instances.layout_repairs`` what the current layout would have written, and
commits that in one transaction conditioned on the loaded version, with the maintained counts
of the listings it adds the instance's items to (``repositories.counters``) (the version moves on, as in
any commit, so a command that loaded the instance before retries on the new items). A concurrent
commit wins: the instance is reloaded and tried again, and after ``attempts`` it is counted as
a conflict and left for a later run. An instance already current is not written, so a second
run writes nothing; ``dry_run`` counts without writing. Nothing is deleted but stale lookup,
candidate and task lookup items of the instance itself. The counts of the index partitions it adds items to or
removes them from (``repositories.counters``) change in the same transaction, as in any commit.

The command is ``python -m chalicelib.local.backfill`` (docs/configuration.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ...errors import ConcurrencyError
from ...storage.aggregate import AggregateStore
from ...storage.ports import ItemStore, StorageError, Table
from ..repositories import counters
from ..repositories.instance_reads import running_listing
from ..repositories.instances import layout_repairs

__all__ = ["BackfillReport", "backfill", "backfill_instance"]

#: running headers read per listing page
PAGE_SIZE = 100
#: tries per instance when concurrent commits keep winning
ATTEMPTS = 3


@dataclass
class BackfillReport:
    """What a run did (or, dry, would do)."""

    scanned: int = 0
    updated: int = 0
    current: int = 0
    conflicts: int = 0
    failed: int = 0
    #: items put and deleted (dry run: that would be)
    puts: int = 0
    deletes: int = 0
    dry_run: bool = False
    #: ``(instance id, reason)`` of the conflicts and failures
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "scanned": self.scanned,
            "updated": self.updated,
            "already current": self.current,
            "conflicts": self.conflicts,
            "failed": self.failed,
            "items put": self.puts,
            "items deleted": self.deletes,
        }


def backfill_instance(
    store: ItemStore, instance_id: str, report: BackfillReport, *, attempts: int = ATTEMPTS
) -> None:
    """Bring one instance to the current layout (or count what that takes), into ``report``."""
    aggregates = AggregateStore(store)
    for attempt in range(1, attempts + 1):
        aggregate = aggregates.load(instance_id)
        puts, deletes = layout_repairs(aggregate)
        if not puts and not deletes:
            report.current += 1
            return
        if report.dry_run:
            report.updated += 1
            report.puts += len(puts)
            report.deletes += len(deletes)
            return
        counts = counters.membership_deltas(
            Table.RUNTIME, instance_id, puts, deletes, aggregate.items
        )
        try:
            aggregates.commit(
                instance_id,
                aggregate.version,
                puts,
                deletes,
                side_writes=counts,
                previous=aggregate,
            )
        except ConcurrencyError:
            if attempt == attempts:
                report.conflicts += 1
                report.skipped.append((instance_id, "concurrent commits won every attempt"))
                return
            continue
        except StorageError as exc:  # too large for one transaction, say
            report.failed += 1
            report.skipped.append((instance_id, str(exc)))
            return
        report.updated += 1
        report.puts += len(puts)
        report.deletes += len(deletes)
        return


def backfill(
    store: ItemStore,
    *,
    dry_run: bool = False,
    page_size: int = PAGE_SIZE,
    attempts: int = ATTEMPTS,
    progress: Callable[[BackfillReport], None] | None = None,
) -> BackfillReport:
    """Walk every running instance (the sharded listing, page by page) and backfill each.

    ``progress`` is called after each page with the report so far.
    """
    report = BackfillReport(dry_run=dry_run)
    token: str | None = None
    while True:
        page = running_listing(store, limit=page_size, start=token)
        for header in page.items:
            report.scanned += 1
            backfill_instance(store, header.pk, report, attempts=attempts)
        if progress is not None:
            progress(report)
        token = page.next_token
        if token is None:
            return report
