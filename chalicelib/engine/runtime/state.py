"""The runtime state of one process instance: small records, indexes, a change set, undo.

:class:`InstanceState` keeps the records of :mod:`.records` in plain dicts, with the indexes
the executor needs so that no step scans every execution or every variable:

- executions by parent, and by ``(parent, activity)`` (parallel joins count arrivals there);
- variables by scope execution, then by name;
- tasks and subscriptions by execution.

All changes go through :meth:`InstanceState.put` / :meth:`InstanceState.remove`, which keep the
indexes, the *change set* (what a commit must write: :meth:`changes`) and, while a command runs,
an *undo journal* (:meth:`begin` / :meth:`rollback`) so a failed command leaves the state
exactly as it was. Nothing is ever deep-copied.

Persistence: :meth:`to_records` / :meth:`from_records` (JSON-able dicts with a
``schema_version``), and :func:`dumps` / :func:`loads` for a JSON text round trip.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from chalicelib.engine.runtime.records import (
    ExecutionRecord,
    InstanceRecord,
    Record,
    RecordKind,
    SubscriptionRecord,
    TaskRecord,
    VariableRecord,
    record_from_dict,
)

__all__ = ["SCHEMA_VERSION", "ChangeSet", "InstanceState", "dumps", "loads", "MIGRATIONS"]

#: Version of the stored record layout; bump it and add a migration when fields change.
SCHEMA_VERSION = 1

#: ``{from_version: function(records) -> records}``, applied in a chain by ``from_records``.
MIGRATIONS: dict[int, Any] = {}

StorageKey = tuple[str, Any]

#: Any one record type (:meth:`InstanceState.put` returns what it was given).
R = TypeVar("R", bound=Record)


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """What a commit writes: records to put (as dicts) and storage keys to delete."""

    instance_id: str
    puts: tuple[dict, ...]
    deletes: tuple[StorageKey, ...]

    @property
    def is_empty(self) -> bool:
        """True when nothing changed."""
        return not self.puts and not self.deletes

    def __len__(self) -> int:
        return len(self.puts) + len(self.deletes)


class InstanceState:
    """Records of one instance plus indexes, change tracking and an undo journal."""

    def __init__(self, header: InstanceRecord):
        self.header = header
        #: The instance id (= the root execution's id); the header is replaced, never its id.
        self.id: str = header.id
        self.executions: dict[str, ExecutionRecord] = {}
        self.variables: dict[str, dict[str, VariableRecord]] = {}
        self.tasks: dict[str, TaskRecord] = {}
        self.subscriptions: dict[str, SubscriptionRecord] = {}
        self._children: dict[str | None, dict[str, None]] = {}
        self._at: dict[tuple[str | None, str | None], dict[str, None]] = {}
        self._tasks_by_execution: dict[str, dict[str, None]] = {}
        self._subs_by_execution: dict[str, dict[str, None]] = {}
        self._persisted: set[StorageKey] = set()
        self._dirty: dict[StorageKey, Record | None] = {header.storage_key: header}
        self._journal: list[tuple[Record | None, Record | None]] | None = None
        self._dirty_before: dict[StorageKey, Record | None] | None = None

    # --- reads ------------------------------------------------------------------------------

    def execution(self, execution_id: str | None) -> ExecutionRecord | None:
        """The execution with that id, or None."""
        return self.executions.get(execution_id) if execution_id else None

    def children(self, parent_id: str | None) -> list[ExecutionRecord]:
        """Child executions of ``parent_id`` in creation order."""
        return [self.executions[i] for i in self._children.get(parent_id, ())]

    def has_children(self, parent_id: str, *, ignore_event_scopes: bool = True) -> bool:
        """True when ``parent_id`` has a child (event-scope listeners ignored by default)."""
        for child_id in self._children.get(parent_id, ()):
            if not (ignore_event_scopes and self.executions[child_id].is_event_scope):
                return True
        return False

    def executions_at(self, parent_id: str | None, activity_id: str) -> list[ExecutionRecord]:
        """Children of ``parent_id`` currently at ``activity_id``."""
        return [self.executions[i] for i in self._at.get((parent_id, activity_id), ())]

    def count_at(self, parent_id: str | None, activity_id: str) -> int:
        """How many children of ``parent_id`` are at ``activity_id`` (O(1))."""
        return len(self._at.get((parent_id, activity_id), ()))

    def tasks_of(self, execution_id: str) -> list[TaskRecord]:
        """Open tasks of an execution."""
        return [self.tasks[i] for i in self._tasks_by_execution.get(execution_id, ())]

    def subscriptions_of(self, execution_id: str) -> list[SubscriptionRecord]:
        """Subscriptions of an execution."""
        return [self.subscriptions[i] for i in self._subs_by_execution.get(execution_id, ())]

    def local_variables(self, scope_id: str) -> dict[str, VariableRecord]:
        """Variables owned by one scope execution (a read-only view; do not mutate)."""
        return self.variables.get(scope_id, {})

    def active_activity_ids(self) -> list[str]:
        """Activity ids of active executions, like Flowable's ``getActiveActivityIds``."""
        return [
            e.activity_id
            for e in self.executions.values()
            if e.is_active and e.activity_id and not e.is_event_scope
        ]

    def iter_records(self) -> Iterator[Record]:
        """Every record: header first, then executions, variables, tasks, subscriptions."""
        yield self.header
        yield from self.executions.values()
        for scope in self.variables.values():
            yield from scope.values()
        yield from self.tasks.values()
        yield from self.subscriptions.values()

    # --- writes -----------------------------------------------------------------------------

    def put(self, record: R) -> R:
        """Insert or replace a record (indexes, change set and journal kept); returns it."""
        if isinstance(record, ExecutionRecord):  # the hot path, inlined (as _apply)
            record_id = record.id
            executions = self.executions
            old = executions.get(record_id)
            if old is record:
                return record
            if self._journal is not None:
                self._journal.append((old, record))
            parent_id = record.parent_id
            at = (parent_id, record.activity_id)
            if old is not None:
                del executions[record_id]
                if old.parent_id == parent_id and old.activity_id == at[1]:
                    # same place in the tree (most replacements): move it to the end of its
                    # buckets, as removing and adding would
                    bucket = self._children[parent_id]
                    del bucket[record_id]
                    bucket[record_id] = None
                    bucket = self._at[at]
                    del bucket[record_id]
                    bucket[record_id] = None
                    executions[record_id] = record
                    self._dirty[("execution", record_id)] = record
                    return record
                _discard(self._children, old.parent_id, record_id)
                _discard(self._at, (old.parent_id, old.activity_id), record_id)
            executions[record_id] = record
            self._children.setdefault(parent_id, {})[record_id] = None
            self._at.setdefault(at, {})[record_id] = None
            self._dirty[("execution", record_id)] = record
            return record
        if isinstance(record, VariableRecord):
            scope_id, name = record.scope_id, record.name
            scope = self.variables.get(scope_id)
            old_variable = scope.get(name) if scope is not None else None
            if old_variable is record:
                return record
            if self._journal is not None:
                self._journal.append((old_variable, record))
            if scope is not None and old_variable is not None:
                # as _unindex + _index: a replaced name moves to the end
                del scope[name]
                if not scope:
                    del self.variables[scope_id]
                    scope = None
            if scope is None:
                scope = self.variables[scope_id] = {}
            scope[name] = record
            self._dirty[("variable", f"{scope_id}/{name}")] = record
            return record
        self._apply(self._lookup(record), record)
        return record

    def remove(self, record: Record) -> None:
        """Delete a record if present."""
        old = self._lookup(record)
        if old is not None:
            self._apply(old, None)

    def _lookup(self, record: Record) -> Record | None:
        if isinstance(record, ExecutionRecord):
            return self.executions.get(record.id)
        if isinstance(record, VariableRecord):
            return self.variables.get(record.scope_id, {}).get(record.name)
        if isinstance(record, TaskRecord):
            return self.tasks.get(record.id)
        if isinstance(record, SubscriptionRecord):
            return self.subscriptions.get(record.id)
        return self.header

    def _apply(self, old: Record | None, new: Record | None) -> None:
        if old is new:
            return
        if self._journal is not None:
            self._journal.append((old, new))
        self._unindex(old)
        self._index(new)
        record = new if new is not None else old
        if record is not None:
            self._dirty[record.storage_key] = new

    def _unindex(self, record: Record | None) -> None:
        if isinstance(record, ExecutionRecord):
            del self.executions[record.id]
            _discard(self._children, record.parent_id, record.id)
            _discard(self._at, (record.parent_id, record.activity_id), record.id)
        elif isinstance(record, VariableRecord):
            scope = self.variables[record.scope_id]
            del scope[record.name]
            if not scope:
                del self.variables[record.scope_id]
        elif isinstance(record, TaskRecord):
            del self.tasks[record.id]
            _discard(self._tasks_by_execution, record.execution_id, record.id)
        elif isinstance(record, SubscriptionRecord):
            del self.subscriptions[record.id]
            _discard(self._subs_by_execution, record.execution_id, record.id)

    def _index(self, record: Record | None) -> None:
        if isinstance(record, ExecutionRecord):
            self.executions[record.id] = record
            self._children.setdefault(record.parent_id, {})[record.id] = None
            self._at.setdefault((record.parent_id, record.activity_id), {})[record.id] = None
        elif isinstance(record, VariableRecord):
            self.variables.setdefault(record.scope_id, {})[record.name] = record
        elif isinstance(record, TaskRecord):
            self.tasks[record.id] = record
            self._tasks_by_execution.setdefault(record.execution_id, {})[record.id] = None
        elif isinstance(record, SubscriptionRecord):
            self.subscriptions[record.id] = record
            self._subs_by_execution.setdefault(record.execution_id, {})[record.id] = None
        elif isinstance(record, InstanceRecord):
            self.header = record

    # --- undo journal (one command) ---------------------------------------------------------

    def begin(self) -> None:
        """Start recording changes so that :meth:`rollback` can undo them."""
        self._journal = []
        self._dirty_before = dict(self._dirty)

    def end(self) -> None:
        """Keep the changes made since :meth:`begin` (the command succeeded)."""
        self._journal = None
        self._dirty_before = None

    def rollback(self) -> None:
        """Undo every change since :meth:`begin` (the command failed)."""
        journal, self._journal = self._journal or [], None
        for old, new in reversed(journal):
            self._unindex(new)
            self._index(old)
        if self._dirty_before is not None:
            self._dirty = self._dirty_before
        self._dirty_before = None

    # --- change set -------------------------------------------------------------------------

    def changes(self) -> ChangeSet:
        """Records to write and keys to delete since the last :meth:`mark_clean`."""
        puts, deletes = [], []
        for key, record in self._dirty.items():
            if record is not None:
                puts.append(record.to_dict())
            elif key in self._persisted:
                deletes.append(key)
        return ChangeSet(self.id, tuple(puts), tuple(deletes))

    def changed_records(self) -> Iterator[Record]:
        """The records put (not deleted) since the last :meth:`mark_clean`."""
        return (record for record in self._dirty.values() if record is not None)

    def mark_clean(self) -> None:
        """Call after a successful commit: what was written is now the stored state."""
        for key, record in self._dirty.items():
            if record is None:
                self._persisted.discard(key)
            else:
                self._persisted.add(key)
        self._dirty = {}

    # --- persistence ------------------------------------------------------------------------

    def to_records(self) -> list[dict]:
        """Every record as a JSON-able dict; the header carries ``schema_version``."""
        out = []
        for record in self.iter_records():
            data = record.to_dict()
            if record is self.header:
                data["schema_version"] = SCHEMA_VERSION
            out.append(data)
        return out

    @classmethod
    def from_records(cls, records: Iterable[dict]) -> InstanceState:
        """Rebuild a state from :meth:`to_records` output (migrating older layouts).

        The result is *clean*: every record counts as already stored.
        """
        items = list(records)
        header = next((r for r in items if r.get("kind") == RecordKind.INSTANCE.value), None)
        if header is None:
            raise ValueError("no instance header among the records")
        version = header.get("schema_version", SCHEMA_VERSION)
        while version < SCHEMA_VERSION:
            items = MIGRATIONS[version](items)
            version += 1
        if version > SCHEMA_VERSION:
            raise ValueError(f"records have schema_version {version}, newer than {SCHEMA_VERSION}")
        state = cls(record_from_dict(header))  # type: ignore[arg-type]
        for data in items:
            if data.get("kind") != RecordKind.INSTANCE.value:
                state._index(record_from_dict(data))
        state._persisted = {r.storage_key for r in state.iter_records()}
        state._dirty = {}
        return state

    def size(self) -> tuple[int, int]:
        """``(number of records, bytes of their JSON)`` - what storage holds for it."""
        records = self.to_records()
        return len(records), len(dumps_records(records))


def _discard(index: dict, key: Any, item: str) -> None:
    bucket = index.get(key)
    if bucket is not None:
        bucket.pop(item, None)
        if not bucket:
            del index[key]


def dumps_records(records: list[dict]) -> str:
    """Compact JSON text of a list of record dicts."""
    return json.dumps(records, separators=(",", ":"), sort_keys=True)


def dumps(state: InstanceState) -> str:
    """The whole state as JSON text (tests round-trip through this between commands)."""
    return dumps_records(state.to_records())


def loads(text: str) -> InstanceState:
    """Rebuild a clean state from :func:`dumps` output."""
    return InstanceState.from_records(json.loads(text))
