"""``execution?_action=message|signal|trigger``: deliver events to waiting executions.

DECISIONS.md is the contract. Each action is synchronous when its trigger field is non-null
(``processVariables``; ``transientVariables`` for trigger) and otherwise writes a job that a
worker runs later (``events.deliveries``, ``events.broadcast``); with an ``Idempotency-Key``
the response is recorded in the same transaction as the delivery or the job
(``idempotency``). Where an event goes is ``events.targets``.

Signals: with ``executionId`` the signal goes to that execution (which must subscribe to it);
without, it is broadcast: synchronously one transaction per instance (``DeliverSignal`` to
every subscription of the name in it) plus one per signal start event, up to
``SYNC_SUBSCRIBERS`` subscriptions (the rest queued), or asynchronously as a
``signal-broadcast`` job that fans out into one ``deliver-signal`` job per subscribed execution.

Trigger: the engine has no transient variables. ``transientVariables`` only selects the
synchronous call; its values are not set on the process (not persisted, not visible to
expressions). ``processVariables`` are set from the triggered execution, as in Flowable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from ... import ids
from ...clock import format_iso
from ...engine.runtime import DeliverSignal, EventDelivered, StartByEvent
from ...engine.runtime.commands import Command
from ...engine.runtime.records import SubscriptionType
from ...errors import BadRequest, Conflict, NotFound
from ...limits import check_key
from ...storage.aggregate import retry_on_conflict
from ...storage.ports import Item, MustNotExist, Put, StorageError, Table, Write
from .. import idempotency
from ..container import Services
from ..jobs.items import new_job
from ..jobs.wakeup import publish
from ..repositories.instances import subscription_sort
from ..repositories.jobs import counted
from ..unit_of_work import UnitOfWork, run_command
from .broadcast import broadcast_job
from .requests import (
    MessageRequest,
    SignalRequest,
    TriggerRequest,
    parse_message,
    parse_signal,
    parse_trigger,
)
from .targets import (
    Resolved,
    Target,
    execution_state,
    find_start_events,
    first_subscribers,
    message_command,
    resolve_message,
    signal_command,
    subscribed_execution,
    trigger_command,
)

log = logging.getLogger("workflow.executions")

if TYPE_CHECKING:  # the executor is imported by the first command, not at cold start
    from ...engine.runtime.session import CommandResult

__all__ = ["ROUTES", "message", "signal", "trigger", "broadcast_now"]

#: the routes an ``Idempotency-Key`` is scoped to
ROUTES = {
    "message": "POST execution?_action=message",
    "signal": "POST execution?_action=signal",
    "trigger": "POST execution?_action=trigger",
}

#: attempts of validate-then-queue when the instance changes in between
ATTEMPTS = 4

Recorder = Callable[[dict], list[Write]]


class _Recorder:
    """Gives the write that records the response (in the use case's last transaction)."""

    def __init__(self, container: Services, claim: idempotency.Claim | None):
        self.claim = claim
        self.ttl = idempotency.ttl_of(container) if claim is not None else 0
        self.recorded = False

    def __call__(self, body: dict) -> list[Write]:
        if self.claim is None:
            return []
        self.recorded = True
        return [self.claim.done_write(idempotency.StoredResponse(200, body), ttl=self.ttl)]


def _idempotent(
    container: Services,
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


def _run(
    container: Services,
    build: Callable[[UnitOfWork], Command],
    respond: Callable[[CommandResult], dict],
    record: Recorder,
) -> dict:
    _, result = run_command(container, build, extra_writes=lambda r: record(respond(r)))
    return respond(result)


def _delivered(result: CommandResult) -> EventDelivered | None:
    return next(
        (
            e
            for e in result.effects
            if isinstance(e, EventDelivered) and e.instance_id == result.instance_id
        ),
        None,
    )


def _queue(container: Services, job: Item, resolved: Resolved | None, record: Recorder) -> dict:
    body = {"status": "queued", "jobId": job.data["_id"]}
    writes: list[Write] = [Put(Table.RUNTIME, job, MustNotExist())]
    writes += resolved.check() if resolved is not None else []
    container.store.transact(counted(writes + record(body)))
    publish(container, [job])
    return body


def _job(
    container: Services,
    handler: str,
    configuration: dict,
    target: Target | None = None,
    definition_id: str | None = None,
) -> Item:
    instance_id = target.instance_id if target is not None else None
    job_id = ids.child_id(instance_id) if instance_id else ids.new_id()
    return new_job(
        job_id=job_id,
        handler_type=handler,
        created=container.clock.now(),
        instance_id=instance_id,
        execution_id=target.execution_id if target is not None else None,
        definition_id=definition_id,
        element_id=target.activity_id if target is not None else None,
        configuration=configuration,
    )


def message(container: Services, caller_id: str, body: Any, key: str | None = None) -> dict:
    """``execution?_action=message``: delivered now (``processVariables`` non-null) or queued."""
    request = parse_message(body)
    check_key(request.name, container.settings.limits, "messageName")
    check_key(request.business_key, container.settings.limits, "businessKey")

    def run(record: Recorder) -> dict:
        if request.variables is None:
            return retry_on_conflict(
                lambda: _queue_message(container, caller_id, request, record), attempts=ATTEMPTS
            )
        target = resolve_message(container, request).target
        return _deliver_message(container, caller_id, request, target, record)

    return _idempotent(container, caller_id, "message", key, body, run)


def _deliver_message(
    container: Services, caller_id: str, request: MessageRequest, target: Target, record: Recorder
) -> dict:
    def build(uow: UnitOfWork) -> Command:
        if not target.starts:
            uow.load(cast(str, target.instance_id))  # a target that does not start
        return message_command(
            request.name, target, request.variables or {}, request.business_key, caller_id
        )

    def respond(result: CommandResult) -> dict:
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
    container: Services, caller_id: str, request: MessageRequest, record: Recorder
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


def signal(container: Services, caller_id: str, body: Any, key: str | None = None) -> dict:
    """``execution?_action=signal``: to one execution, or broadcast; now or queued."""
    request = parse_signal(body)
    check_key(request.name, container.settings.limits, "signalName")

    def run(record: Recorder) -> dict:
        if request.execution_id is not None:
            if request.variables is None:
                return retry_on_conflict(
                    lambda: _queue_signal(container, request, record), attempts=ATTEMPTS
                )
            return _signal_execution(container, request, record)
        if request.variables is None:
            job = broadcast_job(container, request.name, {}, initiator=caller_id)
            return _queue(container, job, None, record)
        return broadcast_now(container, caller_id, request.name, request.variables)

    return _idempotent(container, caller_id, "signal", key, body, run)


def _signal_execution(container: Services, request: SignalRequest, record: Recorder) -> dict:
    def respond(result: CommandResult) -> dict:
        delivered = _delivered(result)
        return {"status": "delivered", "deliveredTo": delivered.count if delivered else 0}

    return _run(
        container,
        lambda uow: signal_command(
            uow, request.name, cast(str, request.execution_id), request.variables or {}
        ),
        respond,
        record,
    )


def _queue_signal(container: Services, request: SignalRequest, record: Recorder) -> dict:
    resolved = subscribed_execution(
        container, SubscriptionType.SIGNAL, request.name, cast(str, request.execution_id)
    )
    configuration: dict[str, Any] = {
        "signalName": request.name,
        "executionId": request.execution_id,
        "variables": {},
    }
    job = _job(container, "deliver-signal", configuration, resolved.target, resolved.definition_id)
    return _queue(container, job, resolved, record)


#: subscriptions a synchronous broadcast delivers itself (one transaction per instance); past
#: them the rest goes to a ``signal-broadcast`` job (bounded work per request)
SYNC_SUBSCRIBERS = 25


def broadcast_now(
    container: Services, caller_id: str | None, name: str, variables: Mapping[str, Any]
) -> dict:
    """Deliver a signal to the instances of the first ``SYNC_SUBSCRIBERS`` subscriptions (one
    transaction each, retried on conflict) and start every definition with that signal start
    event; the subscriptions past them are queued as one ``signal-broadcast`` job (written
    first, so a failure half-way loses nothing of the rest), whose id the answer names.

    Subscriptions made after the broadcast began (a process that loops back to wait for the
    signal again) do not receive it. An instance whose process fails on the signal keeps its
    state; the others are delivered, and the failures are listed in ``failed``.
    """
    bound = _now_iso(container)
    found, more = first_subscribers(container, "signal", name, SYNC_SUBSCRIBERS, bound=bound)
    response: dict[str, Any] = {"status": "delivered", "deliveredTo": 0}
    if more:
        rest = broadcast_job(
            container,
            name,
            variables,
            initiator=caller_id,
            bound=bound,
            after=subscription_sort(found[-1]),
        )
        _queue(container, rest, None, lambda _body: [])
        response["jobId"] = rest.data["_id"]
    delivered, failed = 0, []
    for instance_id in dict.fromkeys(item["instance_id"] for item in found):

        def build(uow: UnitOfWork, instance_id: str = instance_id) -> Command:
            uow.load(instance_id)
            return DeliverSignal(name, instance_id, dict(variables))

        try:
            _, result = run_command(container, build)
        except NotFound:
            continue  # ended since the index saw it
        except (BadRequest, Conflict, StorageError) as exc:
            failed.append({"processInstanceId": instance_id, "message": exc.message})
            continue
        found_delivery = _delivered(result)
        delivered += found_delivery.count if found_delivery else 0
    for definition_id, activity_id in find_start_events(container, "signal", name):
        try:
            run_command(
                container, _start_by_signal(definition_id, activity_id, variables, caller_id)
            )
        except (BadRequest, Conflict, NotFound, StorageError) as exc:
            failed.append({"processDefinitionId": definition_id, "message": exc.message})
            continue
        delivered += 1
    response["deliveredTo"] = delivered
    if failed:
        response["failed"] = failed
    return response


def _start_by_signal(
    definition_id: str, activity_id: str, variables: Mapping[str, Any], caller_id: str | None
) -> Callable[[Any], Any]:
    """The command builder of a start at a signal start event."""
    return lambda uow: StartByEvent(
        definition_id, activity_id, dict(variables), initiator=caller_id
    )


def _now_iso(container: Services) -> str:
    return cast(str, format_iso(container.clock.now()))


def trigger(container: Services, caller_id: str, body: Any, key: str | None = None) -> dict:
    """``execution?_action=trigger``: now (``transientVariables`` non-null) or queued."""
    request = parse_trigger(body)

    def run(record: Recorder) -> dict:
        if request.transient is None:
            return retry_on_conflict(
                lambda: _queue_trigger(container, request, record), attempts=ATTEMPTS
            )

        def respond(result: CommandResult) -> dict:
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


def _queue_trigger(container: Services, request: TriggerRequest, record: Recorder) -> dict:
    from ...engine.runtime import NotWaiting

    state, version = execution_state(container, request.execution_id)
    if not any(
        s.type is SubscriptionType.TRIGGER for s in state.subscriptions_of(request.execution_id)
    ):
        raise NotWaiting(f"Execution {request.execution_id} is not waiting for a trigger")
    execution = state.execution(request.execution_id)
    assert execution is not None  # execution_state answers 404 otherwise
    target = Target(state.id, request.execution_id, activity_id=execution.activity_id)
    resolved = Resolved(target, version, state.header.definition_id)
    configuration = {
        "executionId": request.execution_id,
        "variables": dict(request.variables or {}),
    }
    job = _job(container, "trigger-execution", configuration, target, resolved.definition_id)
    return _queue(container, job, resolved, record)
