"""Where an event goes: the execution (or start event) a message, signal or trigger reaches,
and the engine command that delivers it there.

Finding the target of a message (``resolve_message``):

* ``executionId``: its instance (``ids.instance_of``; the root execution's id is the instance
  id), one Query; the execution must hold a subscription to the message;
* ``processInstanceId``: the single subscription of that name in the instance;
* ``businessKey``: the running instances with that business key (``lookup-sort``: one
  Query), then each one's subscriptions (one Query of its item collection);
* nothing: the ``event-sort`` index across all instances, read no further than
  ``CANDIDATES_READ`` + 1 subscriptions (enough to say how many targets, or "more than").

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
from ...storage.ports import Page, Table, Write
from ..container import Services
from ..definitions import start_events
from ..repositories.instance_reads import header_check, instance_lookup
from ..repositories.instance_reads import subscribers as stored_subscribers
from ..repositories.instances import SUBSCRIPTION_PREFIX, state_of
from .requests import MessageRequest

__all__ = [
    "InstanceLoading",
    "Target",
    "Resolved",
    "instance_of_execution",
    "find_start_events",
    "subscribers",
    "first_subscribers",
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


#: subscriptions (or instances of one business key) read to tell one target from several:
#: a 409 names the count up to this many, "more than" past it (bounded work per request)
CANDIDATES_READ = 100


def first_subscribers(
    container: Services, kind: str, name: str, most: int, *, bound: str | None = None
) -> tuple[list[dict], bool]:
    """The first ``most`` subscriptions to ``kind#name`` (``bound``: created up to that ISO
    time), the ``event-sort`` partition read only that far, and whether more follow them."""
    found: list[dict] = []
    token = None
    while True:
        wanted = most + 1 - len(found)
        page = subscribers(container, kind, name, bound=bound, limit=wanted, start=token)
        found.extend(item.data for item in page.items)
        token = page.next_token
        if len(found) > most:
            return found[:most], True
        if token is None:
            return found, False


def _candidates(container: Services, name: str) -> tuple[list[dict], bool]:
    """Up to ``CANDIDATES_READ`` subscriptions to message ``name`` across instances, and
    whether more wait."""
    return first_subscribers(container, "message", name, CANDIDATES_READ)


def _business_key_candidates(
    container: Services, name: str, business_key: str
) -> tuple[list[dict], bool]:
    """The subscriptions to message ``name`` of the running instances with ``business_key``:
    that key's ``lookup-sort`` partition (one Query, near-unique), then each instance's own
    subscriptions (one Query of its collection, strongly consistent), at most
    ``CANDIDATES_READ`` instances; and whether more instances have that key."""
    store = container.store
    found: list[dict] = []
    page = instance_lookup(store, "bk", business_key, limit=CANDIDATES_READ + 1)
    headers = [h for h in page.items if h.data.get("business_key") == business_key]
    more = len(page.items) > CANDIDATES_READ or page.next_token is not None
    for header in headers[:CANDIDATES_READ]:
        items = store.query(Table.RUNTIME, header.pk, sk_prefix=SUBSCRIPTION_PREFIX).items
        found.extend(
            item.data
            for item in items
            if item.data.get("type") == SubscriptionType.MESSAGE.value
            and item.data.get("event_name") == name
        )
    return found, more


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


def _several(count: int, name: str, where: str, *, more: bool = False) -> Conflict:
    if more:
        return Conflict(
            f"More than {count} executions{where} wait for message '{name}': name the executionId",
            detail={"count": count, "more": True},
        )
    return Conflict(
        f"{count} executions{where} wait for message '{name}': name the executionId",
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
            raise _several(len(found), name, f" of process instance {state.id}")
        return Resolved(
            Target(state.id, found[0].execution_id), version, state.header.definition_id
        )
    if request.business_key is not None:
        candidates, more = _business_key_candidates(container, name, request.business_key)
    else:
        candidates, more = _candidates(container, name)
    if more or len(candidates) > 1:
        raise _several(len(candidates), name, "", more=more)
    if candidates:
        sub = candidates[0]
        try:
            return subscribed_execution(
                container, SubscriptionType.MESSAGE, name, sub["execution_id"]
            )
        except NotFound:  # gone since the index saw it
            pass
    return _message_start(container, name)


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
