"""Backfill historic instances written before the history read model (issue 11).

History written before ``listed_variables`` on the process item and the history table's lookup
items (``repositories.history_index``) lacks them: its instances are missing from the
``finished``/``unfinished`` and equality partitions and from their counts, and a listing reads
their variables per instance. ``backfill_history`` walks the sharded ``hpi`` listing page by
page and, for each process item, asks ``history_index.process_repairs`` what the current layout
would have written (two Queries: its instance-scope historic variables and its lookup items),
and commits that in one small transaction: missing lookup items conditioned on not existing
(a concurrent commit wins; the instance is read again and retried), a finished instance's
process item with its ``listed_variables`` conditioned on still existing. A running instance's
process item gets its listed variables at its next commit that sets a variable or ends it.

Then it **recounts**: every partition it saw gets the count of the instances it found there
(``history_index.recount_writes``: one counter Query per partition, an ``AddCount`` of the
difference), and the count of historic tasks and of each of their state partitions
(``htask-state=finished``/``unfinished``) gets the number of ``task#`` items of the instances
walked (one more Query per instance, which also rewrites the tasks written before their state
partition with its ``lookup``: ``history_index.task_repairs``, each transaction conditioned on
the running instance's header version, so a task completed meanwhile is never overwritten). That also repairs counts that drifted before
the backfill (an instance started before the layout and ended after it moved a count it had
never added). A start or an end
committed during the walk may leave its partitions off by one: run again when quiet. A second
run writes nothing. ``dry_run`` counts without writing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from ...errors import ConcurrencyError
from ...storage.ports import (
    MAX_TRANSACTION_WRITES,
    ConditionCheck,
    Item,
    ItemStore,
    Put,
    StorageError,
    Table,
    VersionIs,
    Write,
)
from ..repositories.history import TASK_LISTING, process_listing, read_process, task_state_base
from ..repositories.history_index import (
    counted_partitions,
    process_repairs,
    recount_writes,
    task_recount_writes,
    task_repairs,
)
from ..repositories.instance_reads import read_header
from .backfill import ATTEMPTS, PAGE_SIZE, BackfillReport

__all__ = ["HistoryBackfillReport", "backfill_history"]


@dataclass
class HistoryBackfillReport(BackfillReport):
    """A ``BackfillReport`` of historic instances, plus the counters the recount changed."""

    counters: int = 0

    def counts(self) -> dict[str, int]:
        return {**super().counts(), "counters fixed": self.counters}


def _repair(store: ItemStore, item: Item, report: BackfillReport, attempts: int) -> dict[str, str]:
    """Bring one historic instance to the layout; its memberships (for the recount)."""
    process: Item | None = item
    wanted: dict[str, str] = {}
    for attempt in range(1, attempts + 1):
        if process is None:  # its history was deleted meanwhile
            return {}
        writes, wanted = process_repairs(store, process)
        if not writes:
            report.current += 1
            return wanted
        if report.dry_run:
            _written(report, writes)
            return wanted
        try:
            store.transact(writes)
        except ConcurrencyError:
            if attempt == attempts:
                report.conflicts += 1
                report.skipped.append((item.pk, "concurrent commits won every attempt"))
                return wanted
            process = read_process(store, item.pk)
            continue
        except StorageError as exc:
            report.failed += 1
            report.skipped.append((item.pk, str(exc)))
            return wanted
        _written(report, writes)
        return wanted
    return wanted


def _repair_tasks(
    store: ItemStore,
    instance_id: str,
    report: BackfillReport,
    observed: Counter[str],
    attempts: int = ATTEMPTS,
) -> int:
    """Give an instance's historic tasks their state partition (``history_index.task_repairs``)
    and add them to ``observed`` per state; the number of its historic tasks.

    A repair rewrites whole task items, so it must not overwrite a task a command completes
    meanwhile: while the instance runs, every command that writes its history also moves its
    runtime header's version, so each transaction checks the header still has the version
    read before the tasks (a lost race reads again, up to ``attempts`` times). An instance
    without a header has ended: nothing writes its tasks again but the history delete
    (``MustExist`` on each write)."""
    for attempt in range(1, attempts + 1):
        header = read_header(store, instance_id)
        writes, found = task_repairs(store, instance_id)
        tasks = found.pop(TASK_LISTING, 0)
        if not writes or report.dry_run:
            report.puts += len(writes)
            observed.update(found)
            return tasks
        guard: list[Write] = []
        if header is not None:
            check = VersionIs(header.version or 1)
            guard = [ConditionCheck(Table.RUNTIME, header.pk, header.sk, check)]
        room = MAX_TRANSACTION_WRITES - len(guard)
        try:
            for first in range(0, len(writes), room):
                store.transact([*writes[first : first + room], *guard])
                report.puts += len(writes[first : first + room])
        except ConcurrencyError:
            if attempt < attempts:
                continue  # a command (or the history delete) won: read again
            report.conflicts += 1
            report.skipped.append((instance_id, "historic tasks changed during every attempt"))
        observed.update(found)
        return tasks
    return 0


def _written(report: BackfillReport, writes: list[Write]) -> None:
    report.updated += 1
    report.puts += sum(1 for write in writes if isinstance(write, Put))
    report.deletes += sum(1 for write in writes if not isinstance(write, Put))


def backfill_history(
    store: ItemStore,
    *,
    dry_run: bool = False,
    page_size: int = PAGE_SIZE,
    attempts: int = ATTEMPTS,
    progress: Callable[[BackfillReport], None] | None = None,
) -> HistoryBackfillReport:
    """Walk every historic instance (the ``hpi`` listing, page by page), backfill each, then
    recount the partitions seen. ``progress`` is called after each page."""
    report = HistoryBackfillReport(dry_run=dry_run)
    observed: Counter[str] = Counter()
    tasks = 0
    token: str | None = None
    while True:
        page = process_listing(store, limit=page_size, start=token)
        for item in page.items:
            report.scanned += 1
            observed.update(counted_partitions(_repair(store, item, report, attempts)))
            tasks += _repair_tasks(store, item.pk, report, observed)
        if progress is not None:
            progress(report)
        token = page.next_token
        if token is None:
            break
    for finished in (False, True):  # a state with no task left is recounted to 0 too
        observed.setdefault(task_state_base(finished), 0)
    fixes = [*recount_writes(store, observed), *task_recount_writes(store, tasks)]
    report.counters = len(fixes)
    if not dry_run:
        for first in range(0, len(fixes), MAX_TRANSACTION_WRITES):
            store.transact(fixes[first : first + MAX_TRANSACTION_WRITES])
    return report
