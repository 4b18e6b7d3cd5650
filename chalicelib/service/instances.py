"""Process instances: load, run one engine command, commit (DESIGN.md §2-§3).

Every use case has the same shape, implemented once by ``run_command``:

1. load the instance the command is aimed at: one strongly consistent Query of its item
   collection (the definition comes from the per-container cache);
2. run the engine: one command, then every automatic step until only wait states remain. The
   engine may load more instances through the session (a call activity's parent, say);
3. commit every changed instance and the command's history records in ONE TransactWriteItems,
   each instance conditioned on the version it was loaded at;
4. on a lost race (``ConcurrencyError``) start again from 1, a bounded number of times; then 409.

A process failure (an uncaught BPMN error, a script error, ...) raises before anything is
written. A command that writes more than ``MAX_WRITES`` items (DynamoDB's transaction limit)
commits through a commit intent (``commit_intents``, ``storage.intent``): still atomic.

History items (history table, partition = instance id): ``#process`` for the historic process
instance, ``task#<id>`` for historic tasks, ``var#<id>`` and ``vdet#<id>`` for variables, and
one ``acts#<segment id>`` per command holding its activity records (``activity_history``).
Process and task records are listed through the sharded ``kindShard-sort`` index (``hpi#n``
and ``htask#n``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ..engine.runtime.commands import Command
from ..engine.runtime.effects import HistoryKind, HistoryRecord
from ..engine.runtime.state import InstanceState
from ..errors import NotFound
from ..ids import instance_of
from ..storage.aggregate import Aggregate, AggregateStore, retry_on_conflict
from ..storage.ports import Item, Put, Table, TransactionTooLarge, Write
from ..storage.sharding import shard_for, shard_key
from . import activity_history, commit_intents, definitions
from .instance_items import changed_items, state_of

if TYPE_CHECKING:  # the executor is imported by the first command, not at cold start
    from ..engine.runtime.session import CommandResult

__all__ = [
    "MAX_WRITES",
    "CONFLICT_ATTEMPTS",
    "UnitOfWork",
    "run_command",
    "load_instance",
    "history_item",
    "history_items",
    "history_ttl",
    "HISTORY_SK",
    "TaskRef",
]

#: DynamoDB's limit of writes per transaction (chunk items of large values included)
MAX_WRITES = 100
#: attempts of a command that loses a race before the API answers 409
CONFLICT_ATTEMPTS = 4
#: history sort key per kind (``{}`` is the record id); activity records go into segments
HISTORY_SK = {
    HistoryKind.PROCESS_INSTANCE: "#process",
    HistoryKind.TASK_INSTANCE: "task#{}",
    HistoryKind.VARIABLE_INSTANCE: "var#{}",
    HistoryKind.VARIABLE_DETAIL: "vdet#{}",
}
_LISTED = {
    HistoryKind.PROCESS_INSTANCE: ("hpi", "startTime"),
    HistoryKind.TASK_INSTANCE: ("htask", "createTime"),
}
LIST_SHARDS = 8
#: per kind, what ``history_item`` needs of it: the sort-key prefix, whether the record id
#: follows it (``HISTORY_SK``), and the item kind (computed once, not per record)
_HISTORY_LAYOUT = {
    kind: (sk.replace("{}", ""), "{}" in sk, f"history-{kind.value}")
    for kind, sk in HISTORY_SK.items()
}


class UnitOfWork:
    """One attempt at one command: the aggregates it loaded and the engine session."""

    def __init__(self, container: Any):
        self.container = container
        self.aggregates = AggregateStore(container.store)
        self.loaded: dict[str, Aggregate] = {}
        from ..engine.runtime.session import Session

        settings = container.settings
        self.session = Session(
            clock=container.clock,
            resolve_key=self._resolve_key,
            load_definition=self._load_definition,
            load_instance=self._load_state,
            history_level=settings.history_level,
        )

    # -- callbacks the engine uses ------------------------------------------------------------

    def _resolve_key(self, key: str) -> tuple[str, Any]:
        deployed = definitions.latest_definition(self.container, key)
        return deployed.id, deployed.process

    def _load_definition(self, definition_id: str) -> Any:
        return definitions.get_definition(self.container, definition_id).process

    def _load_state(self, instance_id: str) -> InstanceState | None:
        aggregate = self.aggregates.load(instance_id)
        if not aggregate.exists:
            return None
        self.loaded[instance_id] = aggregate
        return state_of(aggregate)

    # -- use --------------------------------------------------------------------------------

    def load(self, instance_id: str) -> InstanceState:
        """Load an instance into the session (404 when it does not exist)."""
        if instance_id not in self.loaded:
            state = self._load_state(instance_id)
            if state is None:
                raise NotFound(f"Process instance {instance_id} not found")
            self.session.add(state)
        return self.session.state(instance_id)

    def execute(
        self,
        command: Command,
        extra_writes: Callable[[CommandResult], Iterable[Write]] | None = None,
    ) -> CommandResult:
        """Run ``command`` in the engine and commit what it changed (plus ``extra_writes`` of
        the result, in the same transaction: an idempotency record, say)."""
        result = self.session.execute(command)
        self.commit(result, extra_writes(result) if extra_writes is not None else ())
        return result

    def commit(
        self, result: CommandResult, extra: Iterable[Write] = (), *, running_job: Item | None = None
    ) -> None:
        """One transaction: every changed instance (version-conditioned), its history, the
        jobs the command requested or cancelled, and ``extra``; then wake the workers for the
        new jobs. ``running_job``: the job this command runs, deleted in the same transaction.
        """
        from . import engine_jobs, execution_jobs, jobs

        writes: list[Write] = []
        for instance_id, state in result.instances.items():
            puts, deletes = changed_items(state.changes(), self.loaded.get(instance_id))
            previous = self.loaded.get(instance_id)
            version = previous.version if previous is not None else 0
            writes.extend(
                self.aggregates.writes(instance_id, version, puts, deletes, previous=previous)
            )
        job_writes, new_jobs = engine_jobs.effect_writes(
            self.container,
            result,
            running_job=running_job.data["_id"] if running_job is not None else None,
        )
        writes.extend(job_writes)
        signal_writes, signal_jobs = execution_jobs.thrown_signal_jobs(self.container, result)
        writes.extend(signal_writes)
        if running_job is not None:
            writes.append(jobs.job_done_write(running_job))
        writes.extend(extra)
        writes.extend(self._history_writes(result))
        decision = self._decide(result, writes) if len(writes) > MAX_WRITES else None
        try:
            self.container.store.transact(decision.writes if decision else writes)
        except TransactionTooLarge:  # large items: more physical writes than logical ones
            if decision is not None:
                raise
            decision = self._decide(result, writes)
            self.container.store.transact(decision.writes)
        for state in result.instances.values():
            state.mark_clean()
        if decision is not None:
            commit_intents.apply_now(self.container, decision)
        jobs.publish(self.container, new_jobs + signal_jobs)

    def _decide(self, result: CommandResult, writes: list[Write]) -> commit_intents.Decision:
        """The writes of a commit too large for one transaction: see ``commit_intents``. The
        intent goes to the instance with the most writes (a 500-way fan-out's own instance)."""
        counts = Counter(
            write.item.pk if isinstance(write, Put) else write.pk
            for write in writes
            if write.table is Table.RUNTIME
        )
        pk = max(result.instances, key=lambda instance_id: counts[instance_id])
        previous = self.loaded.get(pk)
        version = (previous.version if previous is not None else 0) + 1
        return commit_intents.decide(self.container, pk, version, writes)

    def _history_writes(self, result: CommandResult) -> list[Put]:
        return [Put(Table.HISTORY, item) for item in history_items(self.container, result.effects)]


def history_items(container: Any, effects: Iterable[Any]) -> list[Item]:
    """The history-table items of a command's history records: the latest record of each
    history item (every record is the whole item), activity records as one segment per
    instance (``activity_history``)."""
    latest: dict[tuple[HistoryKind, str], HistoryRecord] = {}
    for effect in effects:
        if isinstance(effect, HistoryRecord):
            latest[(effect.kind, effect.id)] = effect
    ttl = history_ttl(container)  # the command's time is one: computed once for all items
    items, activities = [], {}
    for record in latest.values():
        if record.kind is HistoryKind.ACTIVITY_INSTANCE:
            activities.setdefault(record.instance_id, []).append(record.fields)
        else:
            items.append(history_item(record, ttl))
    if activities:
        now_ms = int(container.clock.now().timestamp() * 1000)
        items.extend(
            activity_history.segment_item(instance_id, records, now_ms=now_ms, ttl=ttl)
            for instance_id, records in activities.items()
        )
    return items


def history_ttl(container: Any) -> int | None:
    """The epoch-seconds TTL of a history item written now (None: kept)."""
    days = container.settings.history_ttl_days
    if not days:
        return None
    return int((container.clock.now() + timedelta(days=days)).timestamp())


def history_item(record: HistoryRecord, ttl: int | None) -> Item:
    """The history-table item of one history record (not an activity: see
    :func:`history_items`), expiring at ``ttl`` (:func:`history_ttl`)."""
    kind = record.kind
    prefix, with_id, item_kind = _HISTORY_LAYOUT[kind]
    data = record.fields.copy()  # a read-only view of a dict: copy() is the fast copy
    listed = _LISTED.get(kind)
    if listed is None:
        index: dict[str, str] = {}
    else:
        shard_prefix, time_field = listed
        index = {
            "kind_shard": shard_key(shard_prefix, shard_for(record.id, LIST_SHARDS)),
            "sort": f"{data.get(time_field) or ''}#{record.id}",
        }
    return Item(
        record.instance_id, prefix + record.id if with_id else prefix, item_kind, data, index, ttl
    )


def run_command(
    container: Any,
    build: Callable[[UnitOfWork], Command],
    *,
    attempts: int = CONFLICT_ATTEMPTS,
    extra_writes: Callable[[CommandResult], Iterable[Write]] | None = None,
) -> tuple[UnitOfWork, CommandResult]:
    """Load, execute and commit, retrying lost races; ``build`` makes the command.

    ``build`` runs in every attempt with a fresh unit of work, so it can load what it needs
    (``uow.load(instance_id)``) and check preconditions against fresh state. ``extra_writes``
    (optional) gives writes to commit in the same transaction, from the command's result.
    """

    def attempt() -> tuple[UnitOfWork, CommandResult]:
        uow = UnitOfWork(container)
        command = build(uow)
        return uow, uow.execute(command, extra_writes)

    return retry_on_conflict(attempt, attempts=attempts, delay=0.02)


def load_instance(container: Any, instance_id: str) -> InstanceState | None:
    """The current state of a running instance (one Query), or None."""
    aggregate = AggregateStore(container.store).load(instance_id)
    return state_of(aggregate) if aggregate.exists else None


@dataclass(frozen=True)
class TaskRef:
    """Where a task lives: its instance id, from the task id alone."""

    task_id: str
    instance_id: str

    @classmethod
    def of(cls, task_id: str) -> TaskRef:
        instance_id = instance_of(task_id)
        if instance_id is None:
            raise NotFound(f"Task {task_id} not found")
        return cls(task_id, instance_id)
