"""The records a process instance is made of, each mapping one-to-one to a storage item.

An instance is an *item collection*: one :class:`InstanceRecord` (the header), one
:class:`ExecutionRecord` per execution of the Flowable v6 tree, one :class:`VariableRecord` per
``(scope execution id, variable name)``, one :class:`TaskRecord` per open user task and one
:class:`SubscriptionRecord` per thing a waiting execution listens for. Records are frozen:
the state replaces a record to change it (so an undo journal and a change set are trivial).

Every record serialises to a JSON-able dict with a ``kind`` field (:meth:`to_dict`) and back
(:func:`record_from_dict`). Its storage key is ``(kind, key)`` (:attr:`storage_key`).
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field, fields
from operator import attrgetter
from typing import Any, TypeVar

__all__ = [
    "RecordKind",
    "InstanceStatus",
    "SubscriptionType",
    "InstanceRecord",
    "ExecutionRecord",
    "VariableRecord",
    "TaskRecord",
    "SubscriptionRecord",
    "Record",
    "record_from_dict",
    "evolve",
]


class RecordKind(str, enum.Enum):
    """The item types of an instance's collection (the ``kind`` of each stored dict)."""

    INSTANCE = "instance"
    EXECUTION = "execution"
    VARIABLE = "variable"
    TASK = "task"
    SUBSCRIPTION = "subscription"


class InstanceStatus(str, enum.Enum):
    """Lifecycle of a process instance."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    COMPLETED = "completed"
    DELETED = "deleted"

    @property
    def is_ended(self) -> bool:
        """True once the instance has completed or been deleted."""
        return self in (InstanceStatus.COMPLETED, InstanceStatus.DELETED)


class SubscriptionType(str, enum.Enum):
    """What a subscription waits for: a trigger, a message, a signal or a timer (a timer
    subscription's id is the id of its job). Conditional and compensate are not created yet."""

    TRIGGER = "trigger"
    MESSAGE = "message"
    SIGNAL = "signal"
    TIMER = "timer"
    CONDITIONAL = "conditional"
    COMPENSATE = "compensate"


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


class _Base:
    """Shared (de)serialisation for the frozen record dataclasses."""

    __slots__ = ()

    KIND: RecordKind

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of the record, with its ``kind``."""
        data = {name: _plain(value) for name, value in asdict(self).items()}  # type: ignore[call-overload]
        data["kind"] = self.KIND.value
        return data

    @property
    def key(self) -> Any:
        """The record's key within its kind."""
        return self.id  # type: ignore[attr-defined]

    @property
    def storage_key(self) -> tuple[str, Any]:
        """``(kind, key)``: unique within one instance's item collection."""
        return (self._KIND_VALUE, self.key)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True, kw_only=True)
class InstanceRecord(_Base):
    """The instance header (the storage adds its own ``version`` counter)."""

    KIND = RecordKind.INSTANCE

    id: str
    definition_id: str
    definition_key: str
    name: str | None = None
    business_key: str | None = None
    start_user_id: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    start_activity_id: str | None = None
    end_activity_id: str | None = None
    status: InstanceStatus = InstanceStatus.ACTIVE
    delete_reason: str | None = None
    super_instance_id: str | None = None
    super_execution_id: str | None = None
    root_instance_id: str | None = None
    tenant_id: str = ""

    @property
    def key(self) -> Any:
        return self.id


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionRecord(_Base):
    """One execution of the v6 tree. The root execution's id is the instance id.

    ``activity_id`` is where the execution is (None for a root between activities);
    ``activity_instance_id``/``activity_start`` identify the open historic activity instance.
    ``is_event_scope`` marks boundary-event and event-sub-process listener executions: they do
    not keep their parent scope alive. ``sub_instance_id`` is set on a call activity's
    execution while its called instance runs.
    """

    KIND = RecordKind.EXECUTION

    id: str
    instance_id: str
    parent_id: str | None = None
    activity_id: str | None = None
    is_active: bool = True
    is_scope: bool = False
    is_concurrent: bool = False
    is_mi_root: bool = False
    is_event_scope: bool = False
    loop_counter: int | None = None
    activity_instance_id: str | None = None
    activity_start: str | None = None
    sub_instance_id: str | None = None
    start_time: str | None = None
    job_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class VariableRecord(_Base):
    """One variable of one scope: ``scope_id`` is the execution id that owns it."""

    KIND = RecordKind.VARIABLE

    scope_id: str
    name: str
    value: Any = None

    @property
    def key(self) -> Any:
        return f"{self.scope_id}/{self.name}"


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskRecord(_Base):
    """An open user task (Flowable's ``TaskInfo`` fields the IDM API shows)."""

    KIND = RecordKind.TASK

    id: str
    instance_id: str
    execution_id: str
    definition_id: str
    task_definition_key: str
    name: str | None = None
    description: str | None = None
    assignee: str | None = None
    owner: str | None = None
    candidate_users: tuple[str, ...] = ()
    candidate_groups: tuple[str, ...] = ()
    priority: int = 50
    due_date: str | None = None
    category: str | None = None
    form_key: str | None = None
    create_time: str | None = None
    claim_time: str | None = None
    form_properties: tuple[dict, ...] = ()
    delegation_state: str | None = None
    suspension_state: str = "active"
    tenant_id: str = ""
    activity_instance_id: str | None = None
    #: the task's revision (its ``_rev``): 1 when created, +1 on every ``UpdateTask``
    revision: int = 1

    def to_dict(self) -> dict[str, Any]:
        data = _Base.to_dict(self)
        data["candidate_users"] = list(self.candidate_users)
        data["candidate_groups"] = list(self.candidate_groups)
        data["form_properties"] = [dict(p) for p in self.form_properties]
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionRecord(_Base):
    """What a waiting execution listens for: ``(type, event_name)`` on ``execution_id``.

    ``activity_id`` is the catching event (the boundary event, the catch event after an
    event-based gateway, the event sub-process start). ``configuration`` holds the JSON-able
    details (timers: see :mod:`chalicelib.engine.runtime.timers_rt`).
    """

    KIND = RecordKind.SUBSCRIPTION

    id: str
    instance_id: str
    type: SubscriptionType
    execution_id: str
    activity_id: str
    event_name: str | None = None
    created: str | None = None
    configuration: dict = field(default_factory=dict)


Record = InstanceRecord | ExecutionRecord | VariableRecord | TaskRecord | SubscriptionRecord

_CLASSES: dict[str, type] = {
    cls.KIND.value: cls
    for cls in (InstanceRecord, ExecutionRecord, VariableRecord, TaskRecord, SubscriptionRecord)
}
_ENUMS: dict[tuple[type, str], type] = {
    (InstanceRecord, "status"): InstanceStatus,
    (SubscriptionRecord, "type"): SubscriptionType,
}
_TUPLES = {
    (TaskRecord, "candidate_users"),
    (TaskRecord, "candidate_groups"),
    (TaskRecord, "form_properties"),
}


for _cls in _CLASSES.values():
    _cls._KIND_VALUE = _cls.KIND.value  # type: ignore[attr-defined]  # enum .value is slow


def _make_evolver(cls: type) -> Any:
    """``(record, changes) -> new record`` for one record class: a new instance whose slots
    are set through their member descriptors (what the frozen dataclass ``__init__`` does,
    minus its keyword parsing; records have no ``__post_init__``), then the changes set.

    Every field is read in one ``attrgetter`` call (C) and paired with its slot's setter:
    about half the time of reading each slot through its descriptor in the loop."""
    names = tuple(item.name for item in fields(cls))
    setters = tuple(cls.__dict__[name].__set__ for name in names)
    by_name = dict(zip(names, setters))
    read_all = attrgetter(*names)
    new = object.__new__

    def evolver(record: Any, changes: dict[str, Any]) -> Any:
        made: Any = new(cls)
        for setter, value in zip(setters, read_all(record)):
            setter(made, value)
        for name, value in changes.items():
            setter = by_name.get(name)
            if setter is None:
                raise TypeError(f"{cls.__name__} has no field {name!r}")
            setter(made, value)
        return made

    return evolver


_EVOLVERS: dict[type, Any] = {cls: _make_evolver(cls) for cls in _CLASSES.values()}


_R = TypeVar("_R")


def evolve(record: _R, **changes: Any) -> _R:
    """``dataclasses.replace`` for records (the executor replaces executions several times
    per step)."""
    evolver = _EVOLVERS.get(type(record))
    if evolver is None:
        evolver = _EVOLVERS[type(record)] = _make_evolver(type(record))
    return evolver(record, changes)


def record_from_dict(data: dict[str, Any]) -> Record:
    """Rebuild a record from :meth:`to_dict` output; unknown fields are ignored (forward
    compatible), missing ones take their defaults. Raises ``ValueError`` for an unknown kind."""
    cls = _CLASSES.get(data.get("kind", ""))
    if cls is None:
        raise ValueError(f"unknown record kind {data.get('kind')!r}")
    values: dict[str, Any] = {}
    for item in fields(cls):
        if item.name not in data:
            continue
        value = data[item.name]
        enum_cls = _ENUMS.get((cls, item.name))
        if enum_cls is not None and value is not None:
            value = enum_cls(value)
        elif (cls, item.name) in _TUPLES and value is not None:
            value = tuple(value)
        values[item.name] = value
    return cls(**values)
