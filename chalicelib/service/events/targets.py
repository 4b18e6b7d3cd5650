"""Where an event goes: the execution (or start event) a message, signal or trigger reaches,
and the engine command that delivers it there.

Finding the target of a message (``resolve_message``):

* ``executionId``: its instance (``ids.instance_of``; the root execution's id is the instance
  id), one Query; the execution must hold a subscription to the message;
* ``processInstanceId``: the single subscription of that name in the instance;
* ``businessKey``: the ``event-sort`` index (``message#<name>``), then one GetItem of the
  header per instance met, keeping the instances with that business key;
* nothing: the ``event-sort`` index across all instances.

Exactly one subscription: deliver to it (the instance is loaded to confirm it, since the index
is eventually consistent); several: 409 naming the count; none, but a latest definition with a
message start event of that name (``definitions.start_events.find_start_events``): start an
instance there; none at all: 404. A queued job's write is conditioned on the version of the
instance it was validated against (``Resolved.check``: a ``ConditionCheck`` of the header), so
"valid when queued" is exact.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ... import ids
from ...engine.runtime import DeliverMessage, DeliverSignal, StartByEvent, Trigger
from ...engine.runtime.records import SubscriptionRecord, SubscriptionType
from ...engine.runtime.state import InstanceState
from ...errors import Conflict, NotFound
from ...storage.aggregate import AggregateStore
from ...storage.ports import Page, Write
from ..container import Services
from ..definitions import start_events
from ..repositories.instance_reads import header_check, read_header
from ..repositories.instance_reads import subscribers as stored_subscribers
from ..repositories.instances import state_of
from .requests import MessageRequest

__all__ = [
    "InstanceLoading",
    "Target",
    "Resolved",
    "instance_of_execution",
    "find_start_events",
    "subscribers",
    "execution_state",
    "subscribed_execution",
    "resolve_message",
    "message_command",
    "signal_command",
    "trigger_command",
]


class InstanceLoading(Protocol):
    """What the commands built here need of a unit of work (``unit_of_work.UnitOfWork``,
    which imports this package: a protocol, not an import)."""

    def load(self, instance_id: str) -> InstanceState:
        """Load an instance into the unit of work (404 when it does not exist)."""
        ...


def instance_of_execution(execution_id: str) -> str:
    """The instance an execution belongs to (the root execution's id is the instance id)."""
    return ids.instance_of(execution_id) or execution_id


def find_start_events(container: Services, kind: str, name: str) -> list[tuple[str, str]]:
    """``(definition id, start activity id)`` of the latest definitions that start on the
    message or signal ``name`` (``definitions.start_events``)."""
    return list(start_events.find_start_events(container, kind, name))


def subscribers(
    container: Services,
    kind: str,
    name: str,
    *,
    bound: str | None = None,
    limit: int | None = None,
    start: str | None = None,
    low: str | None = None,
    high: str | None = None,
) -> Page:
    """One page of the subscriptions to ``kind#name`` (``event-sort`` index; eventually
    consistent): items whose ``data`` is the subscription record. ``bound``: only those
    created up to that ISO time; ``low``/``high``: sort keys in that range."""
    return stored_subscribers(
        container.store, kind, name, bound=bound, limit=limit, start=start, low=low, high=high
    )


def _all_subscribers(container: Services, kind: str, name: str) -> list[dict]:
    found: list[dict] = []
    token = None
    while True:
        page = subscribers(container, kind, name, start=token)
        found.extend(item.data for item in page.items)
        token = page.next_token
        if token is None:
            return found


@dataclass(frozen=True)
class Target:
    """A subscription's execution in an instance, or a start event of a definition."""

    instance_id: str | None = None
    execution_id: str | None = None
    definition_id: str | None = None
    activity_id: str | None = None

    @property
    def starts(self) -> bool:
        return self.definition_id is not None

    def to_json(self) -> dict[str, str | None]:
        return {
            "processInstanceId": self.instance_id,
            "executionId": self.execution_id,
            "processDefinitionId": self.definition_id,
            "activityId": self.activity_id,
        }


@dataclass(frozen=True)
class Resolved:
    """A target and the version of the instance it was validated against (None: a start)."""

    target: Target
    version: int | None = None
    definition_id: str | None = None

    def check(self) -> list[Write]:
        """The condition that the instance is still as validated (for a queued job)."""
        if self.version is None or self.target.instance_id is None:
            return []
        return [header_check(self.target.instance_id, self.version)]


def _load_running(container: Services, instance_id: str, missing: str) -> tuple[InstanceState, int]:
    aggregate = AggregateStore(container.store).load(instance_id)
    if not aggregate.exists:
        raise NotFound(missing)
    state = state_of(aggregate)
    if state.header.status.is_ended:
        raise NotFound(missing)
    return state, aggregate.version


def _subscriptions(
    state: InstanceState, kind: SubscriptionType, name: str, execution_id: str | None = None
) -> list[SubscriptionRecord]:
    return [
        s
        for s in state.subscriptions.values()
        if s.type is kind
        and s.event_name == name
        and (execution_id is None or s.execution_id == execution_id)
    ]


def execution_state(container: Services, execution_id: str) -> tuple[InstanceState, int]:
    missing = f"Execution {execution_id} not found"
    state, version = _load_running(container, instance_of_execution(execution_id), missing)
    if state.execution(execution_id) is None:
        raise NotFound(missing)
    return state, version


def subscribed_execution(
    container: Services, kind: SubscriptionType, name: str, execution_id: str
) -> Resolved:
    state, version = execution_state(container, execution_id)
    if not _subscriptions(state, kind, name, execution_id):
        raise NotFound(
            f"Execution {execution_id} has not subscribed to a {kind.value} event "
            f"with name '{name}'"
        )
    return Resolved(Target(state.id, execution_id), version, state.header.definition_id)


def _several(count: int, name: str, where: str) -> Conflict:
    return Conflict(
        f"{count} executions {where} wait for message '{name}': name the executionId",
        detail={"count": count},
    )


def resolve_message(container: Services, request: MessageRequest) -> Resolved:
    """Where a message goes (see the module doc); 404 or 409 when it cannot go anywhere."""
    name = request.name
    if request.execution_id:
        return subscribed_execution(container, SubscriptionType.MESSAGE, name, request.execution_id)
    if request.instance_id:
        state, version = _load_running(
            container, request.instance_id, f"Process instance {request.instance_id} not found"
        )
        found = _subscriptions(state, SubscriptionType.MESSAGE, name)
        if not found:
            raise NotFound(
                f"No execution of process instance {state.id} waits for message '{name}'"
            )
        if len(found) > 1:
            raise _several(len(found), name, f"of process instance {state.id}")
        return Resolved(
            Target(state.id, found[0].execution_id), version, state.header.definition_id
        )
    candidates = _all_subscribers(container, "message", name)
    if request.business_key is not None:
        candidates = _with_business_key(container, candidates, request.business_key)
    if len(candidates) > 1:
        raise _several(len(candidates), name, "")
    if candidates:
        sub = candidates[0]
        try:
            return subscribed_execution(
                container, SubscriptionType.MESSAGE, name, sub["execution_id"]
            )
        except NotFound:  # gone since the index saw it
            pass
    return _message_start(container, name)


def _with_business_key(
    container: Services, candidates: list[dict], business_key: str
) -> list[dict]:
    keys: dict[str, str | None] = {}
    for sub in candidates:
        instance_id = sub["instance_id"]
        if instance_id not in keys:
            header = read_header(container.store, instance_id)
            keys[instance_id] = header.data.get("business_key") if header is not None else None
    return [sub for sub in candidates if keys[sub["instance_id"]] == business_key]


def _message_start(container: Services, name: str) -> Resolved:
    starts = find_start_events(container, "message", name)
    if len(starts) > 1:
        raise Conflict(
            f"{len(starts)} process definitions start with message '{name}'",
            detail={"count": len(starts)},
        )
    if not starts:
        raise NotFound(
            f"No execution waits for message '{name}' and no process definition starts with it"
        )
    definition_id, activity_id = starts[0]
    return Resolved(
        Target(definition_id=definition_id, activity_id=activity_id), definition_id=definition_id
    )


def message_command(
    name: str,
    target: Target,
    variables: Mapping[str, Any],
    business_key: str | None,
    initiator: str | None,
) -> StartByEvent | DeliverMessage:
    """The engine command that delivers a message to ``target`` (or starts there)."""
    if target.starts:
        return StartByEvent(
            target.definition_id,
            target.activity_id,
            dict(variables),
            business_key=business_key,
            initiator=initiator,
        )
    return DeliverMessage(name, target.instance_id, target.execution_id, dict(variables))


def signal_command(
    uow: InstanceLoading,
    name: str,
    execution_id: str,
    variables: Mapping[str, Any],
    subscription_id: str | None = None,
) -> DeliverSignal:
    """Load the execution's instance and check it subscribes to ``name`` (404 otherwise; also
    when ``subscription_id`` is gone); the ``DeliverSignal`` to run."""
    instance_id = instance_of_execution(execution_id)
    try:
        state = uow.load(instance_id)
    except NotFound:
        raise NotFound(f"Execution {execution_id} not found") from None
    if state.header.status.is_ended or state.execution(execution_id) is None:
        raise NotFound(f"Execution {execution_id} not found")
    found = _subscriptions(state, SubscriptionType.SIGNAL, name, execution_id)
    if subscription_id is not None:
        found = [s for s in found if s.id == subscription_id]
    if not found:
        raise NotFound(
            f"Execution {execution_id} has not subscribed to a signal event with name '{name}'"
        )
    return DeliverSignal(name, instance_id, dict(variables), execution_id)


def trigger_command(
    uow: InstanceLoading, execution_id: str, variables: Mapping[str, Any]
) -> Trigger:
    """Load the execution's instance (404 naming the execution) and the ``Trigger`` to run;
    the engine answers 409 when the execution is not waiting for a trigger."""
    instance_id = instance_of_execution(execution_id)
    try:
        state = uow.load(instance_id)
    except NotFound:
        raise NotFound(f"Execution {execution_id} not found") from None
    if state.header.status.is_ended or state.execution(execution_id) is None:
        raise NotFound(f"Execution {execution_id} not found")
    return Trigger(execution_id, dict(variables), instance_id)
