"""The unit of work of a command on process instances: load, run, commit (DESIGN.md §2-§3).

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
commits through a commit intent (``jobs.intents``, ``storage.intent``): still atomic.

The commit also writes the jobs the command requested (``jobs.engine_effects``), the broadcasts
of the signals it threw (``events.broadcast``) and its history (``repositories.history``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, cast

from ..engine.runtime.commands import Command
from ..engine.runtime.effects import HistoryLevel, InstanceEnded, InstanceStarted, TaskCompleted
from ..engine.runtime.state import InstanceState
from ..errors import NotFound
from ..observability import emit_metrics
from ..storage.aggregate import Aggregate, AggregateStore, retry_on_conflict
from ..storage.ports import AddCount, Item, Put, Table, TransactionTooLarge, Write
from .container import Services
from .definitions.cache import get_definition, latest_definition
from .events.broadcast import thrown_signal_jobs
from .events.lifecycle import lifecycle_writes
from .jobs import intents
from .jobs.engine_effects import effect_writes
from .jobs.wakeup import publish
from .repositories import counters
from .repositories.history_index import CommittedInstance, commit_writes
from .repositories.instances import changed_items, state_of
from .repositories.jobs import counted, job_done_write

if TYPE_CHECKING:  # the executor is imported by the first command, not at cold start
    from ..engine.model import ProcessDefinitionModel
    from ..engine.runtime.session import CommandResult, InstanceLoader

__all__ = [
    "MAX_WRITES",
    "CONFLICT_ATTEMPTS",
    "UnitOfWork",
    "run_command",
    "load_instance",
]

#: DynamoDB's limit of writes per transaction (chunk items of large values included)
MAX_WRITES = 100
#: attempts of a command that loses a race before the API answers 409
CONFLICT_ATTEMPTS = 4


class UnitOfWork:
    """One attempt at one command: the aggregates it loaded and the engine session."""

    def __init__(self, container: Services):
        self.container = container
        self.aggregates = AggregateStore(container.store)
        self.loaded: dict[str, Aggregate] = {}
        from ..engine.runtime.session import Session

        settings = container.settings
        self.session = Session(
            clock=container.clock,
            resolve_key=self._resolve_key,
            load_definition=self._load_definition,
            load_instance=cast("InstanceLoader", self._load_state),  # None: not found
            history_level=settings.history_level,
            script_time_limit_s=settings.script_time_limit_seconds,
            limits=settings.limits,
        )

    # -- callbacks the engine uses ------------------------------------------------------------

    def _resolve_key(self, key: str) -> tuple[str, ProcessDefinitionModel]:
        deployed = latest_definition(self.container, key)
        return deployed.id, deployed.process

    def _load_definition(self, definition_id: str) -> ProcessDefinitionModel:
        return get_definition(self.container, definition_id).process

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
        writes: list[Write] = []
        counts: list[AddCount] = []
        for instance_id, state in result.instances.items():
            puts, deletes = changed_items(state.changes(), self.loaded.get(instance_id))
            previous = self.loaded.get(instance_id)
            version = previous.version if previous is not None else 0
            writes.extend(
                self.aggregates.writes(instance_id, version, puts, deletes, previous=previous)
            )
            stored = previous.items if previous is not None else {}
            counts.extend(
                counters.membership_deltas(Table.RUNTIME, instance_id, puts, deletes, stored)
            )
        writes.extend(counters.merged(counts))
        job_writes, new_jobs = effect_writes(
            self.container,
            result,
            running_job=running_job.data["_id"] if running_job is not None else None,
            stored_job=self._stored_job,
        )
        writes.extend(job_writes)
        signal_writes, signal_jobs = thrown_signal_jobs(self.container, result)
        writes.extend(signal_writes)
        lifecycle_jobs_writes, lifecycle_jobs = lifecycle_writes(self.container, result)
        writes.extend(lifecycle_jobs_writes)
        if running_job is not None:
            writes.append(job_done_write(running_job))
        writes.extend(extra)
        writes.extend(self._history_writes(result))
        # the job counts, from the writes' conditions (a commit intent counts its own: a split
        # drops the conditions of deferred writes)
        whole = counted(writes)
        decision = self._decide(result, writes, running_job) if len(whole) > MAX_WRITES else None
        try:
            self.container.store.transact(decision.writes if decision else whole)
        except TransactionTooLarge:  # large items: more physical writes than logical ones
            if decision is not None:
                raise
            decision = self._decide(result, writes, running_job)
            self.container.store.transact(decision.writes)
        for state in result.instances.values():
            state.mark_clean()
        if decision is not None:
            intents.apply_now(self.container, decision)
            intents.delete_cancelled(self.container, decision.cancelled)
        publish(self.container, new_jobs + signal_jobs + lifecycle_jobs)
        _emit_commit_metrics(result)

    def _stored_job(self, pk: str, sk: str) -> Item | None:
        """A job item as this unit of work loaded it (its instance's collection), else as
        stored now."""
        loaded = self.loaded.get(pk)
        if loaded is not None:
            return loaded.items.get(sk)
        return self.container.store.get(Table.RUNTIME, pk, sk)

    def _decide(
        self, result: CommandResult, writes: list[Write], running_job: Item | None
    ) -> intents.Decision:
        """The writes of a commit too large for one transaction: see ``jobs.intents``. The
        intent goes to the instance with the most writes (a 500-way fan-out's own instance).
        The cancelled jobs' deletes (each conditioned on its version, so not deferrable) are
        left out, deleted after the commit (``intents.delete_cancelled``)."""
        counts = Counter(
            write.item.pk if isinstance(write, Put) else write.pk
            for write in writes
            if write.table is Table.RUNTIME
        )
        pk = max(result.instances, key=lambda instance_id: counts[instance_id])
        previous = self.loaded.get(pk)
        version = (previous.version if previous is not None else 0) + 1
        running = (running_job.pk, running_job.sk) if running_job is not None else None
        return intents.decide(self.container, pk, version, writes, keep_job=running)

    def _history_writes(self, result: CommandResult) -> list[Write]:
        """The command's history, with the historic read model (``history_index``)."""

        def describe(instance_id: str) -> CommittedInstance | None:
            state = result.instances.get(instance_id)
            if state is None:
                return None
            own = self._load_definition(state.header.definition_id).history_level
            level = HistoryLevel.parse(own or self.container.settings.history_level)
            return CommittedInstance(
                self.loaded.get(instance_id), state.header, level.keeps_variables
            )

        return commit_writes(self.container, result.effects, describe)


def _emit_commit_metrics(result: CommandResult) -> None:
    """``InstancesStarted``, ``InstancesEnded`` and ``TaskCompletions`` of a committed command
    (a metrics line only when one of them is not zero)."""
    kinds = Counter(type(effect) for effect in result.effects)
    emit_metrics(
        "committed",
        {
            "InstancesStarted": kinds[InstanceStarted],
            "InstancesEnded": kinds[InstanceEnded],
            "TaskCompletions": kinds[TaskCompleted],
        },
        instanceId=result.instance_id,
    )


def run_command(
    container: Services,
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


def load_instance(container: Services, instance_id: str) -> InstanceState | None:
    """The current state of a running instance (one Query), or None."""
    aggregate = AggregateStore(container.store).load(instance_id)
    return state_of(aggregate) if aggregate.exists else None
