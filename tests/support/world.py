"""An in-memory world: deployed definitions plus instances kept as stored JSON items.

It plays the storage engineer's part for tests and benchmarks: every command starts from
records decoded from JSON text (as a DynamoDB Query would return them), runs in a fresh
:class:`~chalicelib.engine.runtime.session.Session`, and commits only the change set, item by item, back to JSON text.
With ``verify=True`` every commit also checks that the stored items equal a full
``to_records()`` of the state, so a change-set bug cannot hide. History effects are applied to
an in-memory history table (create-or-update by ``(kind, id)``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from chalicelib.clock import Clock, FixedClock
from chalicelib.engine.model import Definitions, ProcessDefinitionModel
from chalicelib.engine.parser import parse_bpmn
from chalicelib.engine.runtime.commands import (
    Command,
    CompleteTask,
    DeleteInstance,
    DeliverMessage,
    DeliverSignal,
    FinishAction,
    FireTimer,
    RunAsyncJob,
    SetVariables,
    StartProcess,
    Trigger,
)
from chalicelib.engine.runtime.effects import (
    Effect,
    HistoryKind,
    HistoryLevel,
    HistoryRecord,
    JobCancelled,
    JobKind,
    JobRequested,
)
from chalicelib.engine.runtime.records import TaskRecord
from chalicelib.engine.runtime.session import CommandResult, Session
from chalicelib.engine.runtime.state import InstanceState

__all__ = ["InMemoryWorld"]


def _item_key(storage_key: tuple[str, Any]) -> str:
    return f"{storage_key[0]}#{storage_key[1]}"


class InMemoryWorld:
    """Definitions, stored instances and history, all in memory (JSON text for instances)."""

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        history_level: HistoryLevel | str | None = None,
        verify: bool = True,
        script_time_limit_s: float | None = None,
    ):
        self.clock = clock or FixedClock()
        self.history_level = history_level
        self.verify = verify
        self.script_time_limit_s = script_time_limit_s
        self.definitions: dict[str, ProcessDefinitionModel] = {}
        self.latest: dict[str, str] = {}
        self.items: dict[str, dict[str, str]] = {}  # instance id -> item key -> JSON text
        self.history: dict[tuple[str, str], dict[str, Any]] = {}
        self.effects: list[Effect] = []
        self.jobs: dict[str, JobRequested] = {}  # outstanding jobs by id (the job table)
        self._deployments = 0

    # --- definitions ------------------------------------------------------------------------

    def deploy(self, source: str | bytes | Definitions) -> list[str]:
        """Deploy every executable process of a BPMN document; returns definition ids."""
        definitions = source if isinstance(source, Definitions) else parse_bpmn(source)
        self._deployments += 1
        ids = []
        for model in definitions.executable_processes:
            version = sum(1 for d in self.definitions if d.startswith(model.key + ":")) + 1
            definition_id = f"{model.key}:{version}:d{self._deployments}"
            self.definitions[definition_id] = model
            self.latest[model.key] = definition_id
            ids.append(definition_id)
        return ids

    def resolve_key(self, key: str) -> tuple[str, ProcessDefinitionModel] | None:
        """Latest definition of a key."""
        definition_id = self.latest.get(key)
        return (definition_id, self.definitions[definition_id]) if definition_id else None

    # --- storage ----------------------------------------------------------------------------

    def load(self, instance_id: str) -> InstanceState | None:
        """Decode an instance from its stored JSON items (None when unknown)."""
        items = self.items.get(instance_id)
        if items is None:
            return None
        return InstanceState.from_records(json.loads(text) for text in items.values())

    def _commit(self, state: InstanceState) -> None:
        items = self.items.setdefault(state.id, {})
        changes = state.changes()
        for record in changes.puts:
            key = _item_key((record["kind"], _record_key(record)))
            items[key] = json.dumps(record, sort_keys=True)
        for storage_key in changes.deletes:
            items.pop(_item_key(storage_key), None)
        state.mark_clean()
        if self.verify:
            expected = {}
            for record in state.to_records():
                record.pop("schema_version", None)
                expected[_item_key((record["kind"], _record_key(record)))] = record
            stored = {k: json.loads(v) for k, v in items.items()}
            for value in stored.values():
                value.pop("schema_version", None)
            if stored != expected:
                raise AssertionError(
                    f"change set of {state.id} does not match its state: "
                    f"stored {sorted(stored)} vs state {sorted(expected)}"
                )

    def _apply_history(self, effects: Iterable[Effect]) -> None:
        for effect in effects:
            if isinstance(effect, HistoryRecord):
                self.history.setdefault((effect.kind.value, effect.id), {}).update(effect.fields)

    # --- commands ---------------------------------------------------------------------------

    def run(self, command: Command) -> CommandResult:
        """Run one command from stored state and commit what changed."""
        session = Session(
            clock=self.clock,
            resolve_key=self.resolve_key,
            load_definition=self.definitions.get,
            load_instance=self.load,
            history_level=self.history_level,
            script_time_limit_s=self.script_time_limit_s,
        )
        target = getattr(command, "instance_id", None)
        if target and not isinstance(command, StartProcess):
            state = self.load(target)
            if state is not None:
                session.add(state, self.definitions[state.header.definition_id])
        result = session.execute(command)
        for state in result.instances.values():
            self._commit(state)
        self._apply_history(result.effects)
        self.effects.extend(result.effects)
        self._apply_jobs(command, result.effects)
        return result

    def _apply_jobs(self, command: Command, effects: Iterable[Effect]) -> None:
        if isinstance(command, (FireTimer, RunAsyncJob, FinishAction)):
            self.jobs.pop(command.job_id, None)  # the job ran: deleted in its commit
        for effect in effects:
            if isinstance(effect, JobRequested) and effect.job_id:
                self.jobs[effect.job_id] = effect
            elif isinstance(effect, JobCancelled):
                self.jobs.pop(effect.job_id, None)

    def jobs_of(
        self, instance_id: str | None = None, kind: str | None = None
    ) -> list[JobRequested]:
        """Outstanding jobs (of one instance / of one kind), oldest first."""
        return [
            job
            for key, job in sorted(self.jobs.items())
            if (instance_id is None or job.instance_id == instance_id)
            and (kind is None or job.kind == kind)
        ]

    def run_job(self, job_id: str) -> CommandResult:
        """Run an outstanding job as the job worker would (timer or async continuation)."""
        job = self.jobs[job_id]
        if job.kind == JobKind.TIMER.value:
            return self.run(FireTimer(job_id, job.instance_id))
        return self.run(
            RunAsyncJob(job_id, job.instance_id, job.execution_id, job.activity_id, job.kind)
        )

    def deliver_message(
        self,
        instance_id: str,
        name: str,
        variables: Mapping[str, Any] | None = None,
        execution_id: str | None = None,
    ) -> CommandResult:
        """Deliver a message within an instance."""
        return self.run(DeliverMessage(name, instance_id, execution_id, dict(variables or {})))

    def deliver_signal(
        self, instance_id: str, name: str, variables: Mapping[str, Any] | None = None
    ) -> CommandResult:
        """Deliver a signal within an instance."""
        return self.run(DeliverSignal(name, instance_id, dict(variables or {})))

    def start(
        self,
        key: str,
        variables: Mapping[str, Any] | None = None,
        *,
        business_key: str | None = None,
        initiator: str | None = None,
    ) -> str:
        """Start the latest definition of ``key``; returns the instance id."""
        return self.run(
            StartProcess(self.latest[key], dict(variables or {}), business_key, initiator)
        ).instance_id

    def complete(
        self, task_id: str, variables: Mapping[str, Any] | None = None, user_id: str | None = None
    ) -> CommandResult:
        """Complete a task."""
        return self.run(CompleteTask(task_id, dict(variables or {}), user_id))

    def trigger(
        self, instance_id: str, execution_id: str, variables: Mapping[str, Any] | None = None
    ) -> CommandResult:
        """Trigger a waiting execution."""
        return self.run(Trigger(execution_id, dict(variables or {}), instance_id))

    def delete(self, instance_id: str, reason: str | None = None) -> CommandResult:
        """Delete an instance."""
        return self.run(DeleteInstance(instance_id, reason))

    def set_variables(self, instance_id: str, variables: Mapping[str, Any]) -> CommandResult:
        """Set instance variables."""
        return self.run(SetVariables(instance_id, dict(variables)))

    # --- queries ----------------------------------------------------------------------------

    def state(self, instance_id: str) -> InstanceState:
        """A freshly decoded state (KeyError when unknown)."""
        state = self.load(instance_id)
        if state is None:
            raise KeyError(instance_id)
        return state

    def tasks(self, instance_id: str | None = None) -> list[TaskRecord]:
        """Open tasks (of one instance, or of all), in creation order."""
        ids = [instance_id] if instance_id else list(self.items)
        out: list[TaskRecord] = []
        for each in ids:
            out.extend(self.state(each).tasks.values())
        return sorted(out, key=lambda t: t.id)

    def history_of(self, kind: HistoryKind, instance_id: str | None = None) -> list[dict]:
        """History items of a kind (optionally of one instance), in creation order."""
        return [
            fields
            for (k, _), fields in self.history.items()
            if k == kind.value
            and (instance_id is None or fields.get("processInstanceId") == instance_id)
        ]

    def is_ended(self, instance_id: str) -> bool:
        """True once the instance completed or was deleted."""
        return self.state(instance_id).header.status.is_ended


def _record_key(record: dict) -> Any:
    if record["kind"] == "variable":
        return f"{record['scope_id']}/{record['name']}"
    return record["id"]
