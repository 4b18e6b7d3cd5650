"""``execution?_action=message|signal|trigger``: deliver events to waiting executions.

DECISIONS.md is the contract. Each action is synchronous when its trigger field is non-null
(``processVariables``; ``transientVariables`` for trigger) and otherwise writes a job that a
worker runs later (``execution_jobs``); with an ``Idempotency-Key`` the response is recorded in
the same transaction as the delivery or the job (``idempotency``).

Finding the target of a message (``resolve_message``):

* ``executionId``: its instance (``ids.instance_of``; the root execution's id is the instance
  id), one Query; the execution must hold a subscription to the message;
* ``processInstanceId``: the single subscription of that name in the instance;
* ``businessKey``: the ``event-sort`` index (``message#<name>``), then one GetItem of the
  header per instance met, keeping the instances with that business key;
* nothing: the ``event-sort`` index across all instances.

Exactly one subscription: deliver to it (the instance is loaded to confirm it, since the index
is eventually consistent); several: 409 naming the count; none, but a latest definition with a
message start event of that name (``start_events.find_start_events``): start an instance there;
none at all: 404. A queued job's write is conditioned on the version of the instance it was
validated against (a ``ConditionCheck`` of the header), so "valid when queued" is exact.

Signals: with ``executionId`` the signal goes to that execution (which must subscribe to it);
without, it is broadcast: synchronously one transaction per instance (``DeliverSignal`` to
every subscription of the name in it) plus one per signal start event, or asynchronously as a
``signal-broadcast`` job that fans out into one ``deliver-signal`` job per subscribed execution.

Trigger: the engine has no transient variables. ``transientVariables`` only selects the
synchronous call; its values are not set on the process (not persisted, not visible to
expressions). ``processVariables`` are set from the triggered execution, as in Flowable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .. import ids
from ..engine.runtime import DeliverMessage, DeliverSignal, EventDelivered, StartByEvent, Trigger
from ..engine.runtime.records import SubscriptionType
from ..errors import BadRequest, Conflict, NotFound
from ..storage.aggregate import AggregateStore, retry_on_conflict
from ..storage.ports import (
    ConditionCheck,
    Index,
    KeyRange,
    MustNotExist,
    Put,
    StorageError,
    Table,
    VersionIs,
    Write,
)
from . import idempotency, jobs
from .instance_items import state_of

__all__ = [
    "ROUTES",
    "MessageRequest",
    "SignalRequest",
    "TriggerRequest",
    "Target",
    "Resolved",
    "parse_message",
    "parse_signal",
    "parse_trigger",
    "instance_of_execution",
    "resolve_message",
    "message",
    "signal",
    "trigger",
    "find_start_events",
    "subscribers",
]

log = logging.getLogger("workflow.executions")

#: the routes an ``Idempotency-Key`` is scoped to
ROUTES = {
    "message": "POST execution?_action=message",
    "signal": "POST execution?_action=signal",
    "trigger": "POST execution?_action=trigger",
}
#: attempts of validate-then-queue when the instance changes in between
ATTEMPTS = 4

Recorder = Callable[[dict], list[Write]]


# --- requests --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MessageRequest:
    name: str
    execution_id: str | None
    instance_id: str | None
    business_key: str | None
    variables: dict | None  # None: queue a job


@dataclass(frozen=True)
class SignalRequest:
    name: str
    execution_id: str | None
    variables: dict | None


@dataclass(frozen=True)
class TriggerRequest:
    execution_id: str
    variables: dict | None
    transient: dict | None  # non-null: synchronous


def _object(body: Any) -> dict:
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object")
    return body


def _string(body: Mapping[str, Any], name: str, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise BadRequest(f"The field '{name}' is required", detail={"field": name})
        return None
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"The field '{name}' must be a non-empty string", detail={"field": name})
    return value


def _variables(body: Mapping[str, Any], name: str) -> dict | None:
    value = body.get(name)
    if value is not None and not isinstance(value, dict):
        raise BadRequest(
            f"The field '{name}' must be a JSON object or null", detail={"field": name}
        )
    return value


def parse_message(body: Any) -> MessageRequest:
    """The message body, or 400 naming the field at fault."""
    body = _object(body)
    return MessageRequest(
        _string(body, "messageName", True),
        _string(body, "executionId"),
        _string(body, "processInstanceId"),
        _string(body, "businessKey"),
        _variables(body, "processVariables"),
    )


def parse_signal(body: Any) -> SignalRequest:
    """The signal body, or 400 naming the field at fault."""
    body = _object(body)
    return SignalRequest(
        _string(body, "signalName", True),
        _string(body, "executionId"),
        _variables(body, "processVariables"),
    )


def parse_trigger(body: Any) -> TriggerRequest:
    """The trigger body, or 400 naming the field at fault."""
    body = _object(body)
    return TriggerRequest(
        _string(body, "executionId", True),
        _variables(body, "processVariables"),
        _variables(body, "transientVariables"),
    )


# --- targets ---------------------------------------------------------------------------------


def instance_of_execution(execution_id: str) -> str:
    """The instance an execution belongs to (the root execution's id is the instance id)."""
    return ids.instance_of(execution_id) or execution_id


def find_start_events(container: Any, kind: str, name: str) -> list[tuple[str, str]]:
    """``(definition id, start activity id)`` of the latest definitions that start on the
    message or signal ``name`` (``start_events``; [] until that module exists)."""
    try:
        from .start_events import find_start_events as find
    except ImportError:
        return []
    return list(find(container, kind, name))


def subscribers(
    container: Any,
    kind: str,
    name: str,
    *,
    bound: str | None = None,
    limit: int | None = None,
    start: str | None = None,
) -> Any:
    """One page of the subscriptions to ``kind#name`` (``event-sort`` index; eventually
    consistent): items whose ``data`` is the subscription record. ``bound``: only those
    created up to that ISO time."""
    key_range = KeyRange.at_most(f"{bound}#\uffff") if bound else None
    return container.store.query_index(
        Table.RUNTIME,
        Index.EVENT_SORT,
        f"{kind}#{name}",
        key_range=key_range,
        limit=limit,
        start=start,
    )


def _all_subscribers(container: Any, kind: str, name: str) -> list[dict]:
    found, token = [], None
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
        if self.version is None:
            return []
        return [
            ConditionCheck(
                Table.RUNTIME, self.target.instance_id, "#header", VersionIs(self.version)
            )
        ]


def _load_running(container: Any, instance_id: str, missing: str) -> tuple[Any, int]:
    aggregate = AggregateStore(container.store).load(instance_id)
    if not aggregate.exists:
        raise NotFound(missing)
    state = state_of(aggregate)
    if state.header.status.is_ended:
        raise NotFound(missing)
    return state, aggregate.version


def _subscriptions(
    state: Any, kind: SubscriptionType, name: str, execution_id: str | None = None
) -> list[Any]:
    return [
        s
        for s in state.subscriptions.values()
        if s.type is kind
        and s.event_name == name
        and (execution_id is None or s.execution_id == execution_id)
    ]


def _execution_state(container: Any, execution_id: str) -> tuple[Any, int]:
    missing = f"Execution {execution_id} not found"
    state, version = _load_running(container, instance_of_execution(execution_id), missing)
    if state.execution(execution_id) is None:
        raise NotFound(missing)
    return state, version


def _subscribed_execution(
    container: Any, kind: SubscriptionType, name: str, execution_id: str
) -> Resolved:
    state, version = _execution_state(container, execution_id)
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


def resolve_message(container: Any, request: MessageRequest) -> Resolved:
    """Where a message goes (see the module doc); 404 or 409 when it cannot go anywhere."""
    name = request.name
    if request.execution_id:
        return _subscribed_execution(
            container, SubscriptionType.MESSAGE, name, request.execution_id
        )
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
            return _subscribed_execution(
                container, SubscriptionType.MESSAGE, name, sub["execution_id"]
            )
        except NotFound:  # gone since the index saw it
            pass
    return _message_start(container, name)


def _with_business_key(container: Any, candidates: list[dict], business_key: str) -> list[dict]:
    keys: dict[str, str | None] = {}
    for sub in candidates:
        instance_id = sub["instance_id"]
        if instance_id not in keys:
            header = container.store.get(Table.RUNTIME, instance_id, "#header")
            keys[instance_id] = header.data.get("business_key") if header is not None else None
    return [sub for sub in candidates if keys[sub["instance_id"]] == business_key]


def _message_start(container: Any, name: str) -> Resolved:
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


# --- idempotency -----------------------------------------------------------------------------


class _Recorder:
    """Gives the write that records the response (in the use case's last transaction)."""

    def __init__(self, container: Any, claim: idempotency.Claim | None):
        self.claim = claim
        self.ttl = idempotency.ttl_of(container) if claim is not None else 0
        self.recorded = False

    def __call__(self, body: dict) -> list[Write]:
        if self.claim is None:
            return []
        self.recorded = True
        return [self.claim.done_write(idempotency.StoredResponse(200, body), ttl=self.ttl)]


def _idempotent(
    container: Any,
    caller_id: str,
    action: str,
    key: str | None,
    body: Any,
    run: Callable[[_Recorder], dict],
) -> dict:
    if key is None:
        return run(_Recorder(container, None))
    claim = idempotency.begin(container, caller_id, ROUTES[action], key, body)
    if isinstance(claim, idempotency.StoredResponse):
        return claim.body
    recorder = _Recorder(container, claim)
    try:
        response = run(recorder)
    except BaseException:
        try:
            idempotency.release(container, claim)
        except Exception:  # the original error matters more; the claim goes stale
            log.exception("could not release idempotency claim %s", claim.pk)
        raise
    if not recorder.recorded:  # a broadcast: several transactions, record at the end
        idempotency.finish(container, claim, idempotency.StoredResponse(200, response))
    return response


# --- running now, queueing -------------------------------------------------------------------


def _run(
    container: Any, build: Callable[[Any], Any], respond: Callable[[Any], dict], record: Recorder
) -> dict:
    from .instances import run_command

    _, result = run_command(container, build, extra_writes=lambda r: record(respond(r)))
    return respond(result)


def _delivered(result: Any) -> EventDelivered | None:
    return next(
        (
            e
            for e in result.effects
            if isinstance(e, EventDelivered) and e.instance_id == result.instance_id
        ),
        None,
    )


def _queue(container: Any, job: Any, resolved: Resolved | None, record: Recorder) -> dict:
    body = {"status": "queued", "jobId": job.data["_id"]}
    writes: list[Write] = [Put(Table.RUNTIME, job, MustNotExist())]
    writes += resolved.check() if resolved is not None else []
    container.store.transact(writes + record(body))
    jobs.publish(container, [job])
    return body


def _job(
    container: Any,
    handler: str,
    configuration: dict,
    target: Target | None = None,
    definition_id: str | None = None,
) -> Any:
    instance_id = target.instance_id if target is not None else None
    job_id = ids.child_id(instance_id) if instance_id else ids.new_id()
    return jobs.new_job(
        job_id=job_id,
        handler_type=handler,
        created=container.clock.now(),
        instance_id=instance_id,
        execution_id=target.execution_id if target is not None else None,
        definition_id=definition_id,
        element_id=target.activity_id if target is not None else None,
        configuration=configuration,
    )


# --- message ---------------------------------------------------------------------------------


def message_command(
    name: str,
    target: Target,
    variables: Mapping[str, Any],
    business_key: str | None,
    initiator: str | None,
) -> Any:
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


def message(container: Any, caller_id: str, body: Any, key: str | None = None) -> dict:
    """``execution?_action=message``: delivered now (``processVariables`` non-null) or queued."""
    request = parse_message(body)

    def run(record: Recorder) -> dict:
        if request.variables is None:
            return retry_on_conflict(
                lambda: _queue_message(container, caller_id, request, record), attempts=ATTEMPTS
            )
        target = resolve_message(container, request).target
        return _deliver_message(container, caller_id, request, target, record)

    return _idempotent(container, caller_id, "message", key, body, run)


def _deliver_message(
    container: Any, caller_id: str, request: MessageRequest, target: Target, record: Recorder
) -> dict:
    def build(uow: Any) -> Any:
        if not target.starts:
            uow.load(target.instance_id)
        return message_command(
            request.name, target, request.variables or {}, request.business_key, caller_id
        )

    def respond(result: Any) -> dict:
        delivered = _delivered(result)
        execution_id = (
            delivered.execution_ids[0]
            if delivered and delivered.execution_ids
            else result.instance_id
        )
        return {
            "status": "delivered",
            "executionId": execution_id,
            "processInstanceId": result.instance_id,
        }

    return _run(container, build, respond, record)


def _queue_message(
    container: Any, caller_id: str, request: MessageRequest, record: Recorder
) -> dict:
    resolved = resolve_message(container, request)
    configuration = {
        "messageName": request.name,
        "target": resolved.target.to_json(),
        "businessKey": request.business_key,
        "initiator": caller_id,
    }
    job = _job(container, "deliver-message", configuration, resolved.target, resolved.definition_id)
    return _queue(container, job, resolved, record)


# --- signal ----------------------------------------------------------------------------------


def signal(container: Any, caller_id: str, body: Any, key: str | None = None) -> dict:
    """``execution?_action=signal``: to one execution, or broadcast; now or queued."""
    request = parse_signal(body)

    def run(record: Recorder) -> dict:
        if request.execution_id is not None:
            if request.variables is None:
                return retry_on_conflict(
                    lambda: _queue_signal(container, request, record), attempts=ATTEMPTS
                )
            return _signal_execution(container, request, record)
        if request.variables is None:
            from .execution_jobs import broadcast_job

            job = broadcast_job(container, request.name, {}, initiator=caller_id)
            return _queue(container, job, None, record)
        return broadcast_now(container, caller_id, request.name, request.variables)

    return _idempotent(container, caller_id, "signal", key, body, run)


def signal_command(
    uow: Any,
    name: str,
    execution_id: str,
    variables: Mapping[str, Any],
    subscription_id: str | None = None,
) -> Any:
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


def _signal_execution(container: Any, request: SignalRequest, record: Recorder) -> dict:
    def respond(result: Any) -> dict:
        delivered = _delivered(result)
        return {"status": "delivered", "deliveredTo": delivered.count if delivered else 0}

    return _run(
        container,
        lambda uow: signal_command(
            uow, request.name, request.execution_id, request.variables or {}
        ),
        respond,
        record,
    )


def _queue_signal(container: Any, request: SignalRequest, record: Recorder) -> dict:
    resolved = _subscribed_execution(
        container, SubscriptionType.SIGNAL, request.name, request.execution_id
    )
    configuration = {
        "signalName": request.name,
        "executionId": request.execution_id,
        "variables": {},
    }
    job = _job(container, "deliver-signal", configuration, resolved.target, resolved.definition_id)
    return _queue(container, job, resolved, record)


def broadcast_now(
    container: Any, caller_id: str | None, name: str, variables: Mapping[str, Any]
) -> dict:
    """Deliver a signal to every subscribed instance (one transaction each, retried on
    conflict) and start every definition with that signal start event.

    Subscriptions made after the broadcast began (a process that loops back to wait for the
    signal again) do not receive it. An instance whose process fails on the signal keeps its
    state; the others are delivered, and the failures are listed in ``failed``.
    """
    from .instances import run_command

    bound = _now_iso(container)
    instances: dict[str, None] = {}
    token = None
    while True:
        page = subscribers(container, "signal", name, bound=bound, start=token)
        instances.update((item.data["instance_id"], None) for item in page.items)
        token = page.next_token
        if token is None:
            break
    delivered, failed = 0, []
    for instance_id in instances:

        def build(uow: Any, instance_id: str = instance_id) -> Any:
            uow.load(instance_id)
            return DeliverSignal(name, instance_id, dict(variables))

        try:
            _, result = run_command(container, build)
        except NotFound:
            continue  # ended since the index saw it
        except (BadRequest, Conflict, StorageError) as exc:
            failed.append({"processInstanceId": instance_id, "message": exc.message})
            continue
        found = _delivered(result)
        delivered += found.count if found else 0
    for definition_id, activity_id in find_start_events(container, "signal", name):
        try:
            run_command(
                container,
                lambda uow, d=definition_id, a=activity_id: StartByEvent(
                    d, a, dict(variables), initiator=caller_id
                ),
            )
        except (BadRequest, Conflict, NotFound, StorageError) as exc:
            failed.append({"processDefinitionId": definition_id, "message": exc.message})
            continue
        delivered += 1
    response: dict[str, Any] = {"status": "delivered", "deliveredTo": delivered}
    if failed:
        response["failed"] = failed
    return response


def _now_iso(container: Any) -> str:
    from ..clock import format_iso

    return format_iso(container.clock.now())


# --- trigger ---------------------------------------------------------------------------------


def trigger_command(uow: Any, execution_id: str, variables: Mapping[str, Any]) -> Any:
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


def trigger(container: Any, caller_id: str, body: Any, key: str | None = None) -> dict:
    """``execution?_action=trigger``: now (``transientVariables`` non-null) or queued."""
    request = parse_trigger(body)

    def run(record: Recorder) -> dict:
        if request.transient is None:
            return retry_on_conflict(
                lambda: _queue_trigger(container, request, record), attempts=ATTEMPTS
            )

        def respond(result: Any) -> dict:
            return {
                "status": "delivered",
                "executionId": request.execution_id,
                "processInstanceId": result.instance_id,
            }

        return _run(
            container,
            lambda uow: trigger_command(uow, request.execution_id, request.variables or {}),
            respond,
            record,
        )

    return _idempotent(container, caller_id, "trigger", key, body, run)


def _queue_trigger(container: Any, request: TriggerRequest, record: Recorder) -> dict:
    from ..engine.runtime import NotWaiting

    state, version = _execution_state(container, request.execution_id)
    if not any(
        s.type is SubscriptionType.TRIGGER for s in state.subscriptions_of(request.execution_id)
    ):
        raise NotWaiting(f"Execution {request.execution_id} is not waiting for a trigger")
    target = Target(
        state.id,
        request.execution_id,
        activity_id=state.execution(request.execution_id).activity_id,
    )
    resolved = Resolved(target, version, state.header.definition_id)
    configuration = {
        "executionId": request.execution_id,
        "variables": dict(request.variables or {}),
    }
    job = _job(container, "trigger-execution", configuration, target, resolved.definition_id)
    return _queue(container, job, resolved, record)
