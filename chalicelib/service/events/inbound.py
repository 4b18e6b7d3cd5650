"""Inbound events of the event registry: one SQS message -> starts and correlations.

``receive(container, queue, message_id, body)`` handles one message of an inbound queue:

1. The body is JSON (an object), else the message is poison.
2. The inbound channels listening on the queue (``destination``, or no destination: the
   events queue) detect the event key: ``fixedValue``, a top-level ``jsonField`` or a
   ``jsonPointerExpression`` (RFC 6901). No channel, no key, or a key without a deployed
   ``.event``: poison.
3. The payload fields of the ``.event`` are read from the body and converted to their types
   (a value that does not convert: poison); correlation parameters are payload fields.
4. One Query of the key's ``event-sort`` partition (``eventRegistry:<key>``) reads the start
   events registered on it (latest versions) and the subscriptions to it without correlation
   values; one Query per non-empty subset of the event's correlation values reads the
   subscriptions expecting exactly those (``event_registry.event_lookup``). Every start event
   whose fixed correlation values equal the event's starts an instance; every subscription
   whose correlation values (evaluated when the execution subscribed) all equal the event's
   is delivered to. ``eventOutParameter`` maps payload
   fields to variables (transient ones are not stored).
5. Nothing matched and the channel says ``"requireMatch": true``: poison.

A message carrying ``workflowCallback`` is no event but an external worker's answer (complete,
BPMN error or failure of an external worker job: ``service/actions/external_worker.py``);
it is applied to its job, and a malformed one is poison like any other.

Exactly once: each effect (a start or a delivery) is one transaction that also writes an
idempotency record named after the message key (``idempotencyKey`` of the body, else the SQS
message id) and the target, conditioned on its absence; a redelivered message skips the
effects already committed and completes the others. Poison is recorded as a dead-letter job
(``jobHandlerType`` ``inbound-event``, the reason as ``exceptionMessage``, the raw body in its
configuration) with the message's record in the same transaction, and acknowledged: it is in
the ``job/deadletter`` listing and is never retried by SQS. Executing that dead-letter job
(``job/deadletter/<id>?_action=execute``) runs the message again (``run_dead_letter``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ... import ids
from ...crest.pointer import PointerError, parse_pointer, resolve
from ...engine.elements import EVENT_REGISTRY_PREFIX
from ...engine.runtime import DeliverMessage, StartByEvent
from ...errors import ConcurrencyError, NotFound
from ...storage.ports import Item, MustNotExist, Put, Table, VersionIs, Write
from ..actions import external_worker
from ..container import Services
from ..definitions import event_registry as registry
from ..idempotency import ttl_of
from ..jobs.items import new_job
from ..repositories.event_registry import event_lookup
from ..repositories.idempotency import read_record, record_item, scoped_pk
from ..repositories.instance_reads import is_running
from ..repositories.jobs import counted, dead_letter_item, job_done_write
from ..unit_of_work import run_command

__all__ = ["HANDLER", "Poison", "Outcome", "receive", "run_dead_letter", "MAX_RAW_BODY"]

log = logging.getLogger("workflow.events.inbound")

#: the job handler type of a poison message's dead-letter job
HANDLER = "inbound-event"
#: the raw body kept with a poison message (characters)
MAX_RAW_BODY = 64_000
_SCOPE = "inbound-event"
#: lost races (the instance changed under the effect) before the last attempt
_ATTEMPTS = 3


class Poison(ValueError):
    """A message that can never have an effect: ``reason`` says why."""


@dataclass(frozen=True)
class Outcome:
    """What one message did: ``started`` instance ids, ``delivered`` execution ids,
    ``skipped`` effects already committed by an earlier delivery, or ``poison`` (the reason)."""

    started: tuple[str, ...] = ()
    delivered: tuple[str, ...] = ()
    skipped: int = 0
    poison: str | None = None
    #: what an external worker's answer did (the message was an answer, not an event)
    answered: str | None = None

    def describe(self) -> str:
        if self.poison is not None:
            return f"dead-lettered: {self.poison}"
        if self.answered is not None:
            return f"worker answer: {self.answered}"
        return (
            f"started {len(self.started)}, delivered {len(self.delivered)}, skipped {self.skipped}"
        )


@dataclass(frozen=True)
class _Event:
    key: str
    channel: registry.ChannelDefinition
    values: dict[str, Any]
    correlation: dict[str, Any]


def receive(
    container: Services,
    queue: str,
    message_id: str,
    body: str | None,
    attributes: Mapping[str, Any] | None = None,
) -> Outcome:
    """Handle one message of ``queue``; raises only for transient failures (retry).
    ``attributes``: the SQS record's ``messageAttributes``, where the ``.event``'s header
    fields (``"header": true``) are read."""
    text = body or ""
    message_key = message_id
    headers = _headers(attributes)
    answer = _worker_answer(text)
    if answer is not None:
        try:
            return Outcome(answered=external_worker.answer(container, answer))
        except external_worker.MalformedAnswer as exc:
            return _dead_letter(container, queue, _key(answer, message_id), text, str(exc))
    try:
        event, message_key = _decode(container, queue, message_id, text, headers)
    except Poison as exc:
        return _dead_letter(container, queue, message_key, text, str(exc), headers)
    started: list[str] = []
    delivered: list[str] = []
    skipped = 0
    # one Query per subset of the event's correlation values (and one for none): the start
    # events on the key and the executions waiting as the event arrives (not those of the
    # instances it starts)
    starts, waiting = event_lookup(container.store, event.key, event.correlation)
    for start in starts:
        if not _matches(_fixed(start["correlation"]), event.correlation):
            continue
        target = f"start:{start['definitionId']}:{start['activityId']}"
        result = _once(container, message_key, target, _start(container, event, start))
        if result is None:
            skipped += 1
        elif result:
            started.append(result)
    for subscription in waiting:
        configuration = subscription.get("configuration") or {}
        if not _matches(configuration.get("correlation") or {}, event.correlation):
            continue
        target = f"subscription:{subscription['id']}"
        result = _once(container, message_key, target, _deliver(container, event, subscription))
        if result is None:
            skipped += 1
        elif result:
            delivered.append(result)
    if not (started or delivered or skipped) and event.channel.require_match:
        return _dead_letter(
            container,
            queue,
            message_key,
            text,
            f"event '{event.key}' matched no start event and no waiting execution "
            f"(channel '{event.channel.key}' requires a match)",
            headers,
        )
    return Outcome(tuple(started), tuple(delivered), skipped)


# --- decoding ----------------------------------------------------------------------------------


def _worker_answer(text: str) -> dict[str, Any] | None:
    """The decoded message when it is an external worker's answer, else None."""
    if "workflowCallback" not in text:
        return None
    try:
        payload = json.loads(text)
    except ValueError:
        return None
    return payload if external_worker.is_answer(payload) else None


def _key(payload: Mapping[str, Any], message_id: str) -> str:
    """The message's key: its ``idempotencyKey``, else the SQS message id."""
    key_field = payload.get("idempotencyKey")
    return key_field if isinstance(key_field, str) and key_field else message_id


def _headers(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    """SQS message attributes as header values: ``{name: {"stringValue", "dataType"}}`` (the
    Lambda record's shape; ``StringValue`` as ``ReceiveMessage`` returns it) -> ``{name:
    text}``; binary attributes are not headers."""
    found: dict[str, Any] = {}
    for name, attribute in (attributes or {}).items():
        if isinstance(attribute, Mapping):
            value = attribute.get("stringValue", attribute.get("StringValue"))
            if isinstance(value, str):
                found[str(name)] = value
    return found


def _decode(
    container: Services,
    queue: str,
    message_id: str,
    text: str,
    headers: Mapping[str, Any] | None = None,
) -> tuple[_Event, str]:
    try:
        payload = json.loads(text)
    except ValueError:
        raise Poison("the message body is not JSON") from None
    if not isinstance(payload, dict):
        raise Poison("the message body is not a JSON object")
    message_key = _key(payload, message_id)
    channels = [
        c
        for c in registry.cached_inbound_channels(container)
        if (c.destination or container.settings.events_queue) == queue
    ]
    if not channels:
        raise Poison(f"no inbound channel is deployed for queue '{queue}'")
    detected: list[tuple[registry.ChannelDefinition, str]] = []
    for channel in sorted(channels, key=lambda c: c.key):
        key = _event_key(channel, payload)
        if key is not None:
            detected.append((channel, key))
    if not detected:
        raise Poison(
            "no event key found in the message (channels: "
            + ", ".join(sorted(c.key for c in channels))
            + ")"
        )
    for channel, key in detected:
        event = registry.cached_event(container, key)
        if event is not None:
            values = _payload(event, payload, headers or {})
            correlation = {n: values[n] for n in event.correlation if n in values}
            return _Event(key, channel, values, correlation), message_key
    raise Poison(f"unknown event key '{detected[0][1]}': no .event definition is deployed")


def _event_key(channel: registry.ChannelDefinition, payload: Mapping[str, Any]) -> str | None:
    if channel.key_detection is None:
        return None
    how, value = channel.key_detection
    if how == "fixedValue":
        return value
    if how == "jsonField":
        found = payload.get(value)
    else:
        try:
            found = resolve(payload, parse_pointer(value))
        except PointerError:
            found = None
    return found if isinstance(found, str) and found else None


_CONVERT: dict[str, Any] = {
    "string": lambda v: v if isinstance(v, str) else json.dumps(v),
    "integer": lambda v: int(v) if not isinstance(v, bool) else _bad(),
    "long": lambda v: int(v) if not isinstance(v, bool) else _bad(),
    "double": lambda v: float(v) if not isinstance(v, bool) else _bad(),
    "boolean": lambda v: v if isinstance(v, bool) else {"true": True, "false": False}[str(v)],
    "json": lambda v: v,
}


def _bad() -> Any:
    raise ValueError("not a number")


def _payload(
    event: registry.EventDefinition, payload: Mapping[str, Any], headers: Mapping[str, Any]
) -> dict[str, Any]:
    """The event's payload fields, typed: header fields from the message attributes, the
    others from the body."""
    values: dict[str, Any] = {}
    for name, type_ in event.payload.items():
        source = headers if name in event.headers else payload
        if name not in source or source[name] is None:
            continue
        try:
            values[name] = _CONVERT[type_](source[name])
        except (ValueError, TypeError, KeyError):
            raise Poison(
                f"payload field '{name}' of event '{event.key}' is not a {type_}"
            ) from None
    return values


# --- matching ----------------------------------------------------------------------------------


def _fixed(pairs: list[list[str]]) -> dict[str, Any]:
    return {name: value for name, value in pairs}


def _equal(expected: Any, actual: Any) -> bool:
    return expected == actual or str(expected) == str(actual)


def _matches(expected: Mapping[str, Any], correlation: Mapping[str, Any]) -> bool:
    """Flowable: a subscription's correlation parameters must all be in the event, equal."""
    return all(name in correlation and _equal(v, correlation[name]) for name, v in expected.items())


def _variables(out_parameters: list[list[Any]], values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        target: values[source]
        for source, target, transient in out_parameters
        if source in values and target and not transient
    }


# --- effects -----------------------------------------------------------------------------------


def _once(
    container: Services,
    message_key: str,
    target: str,
    effect: Callable[[Write], str | None],
) -> str | None:
    """Run ``effect(record)`` unless the record of (message, target) exists: None when it
    does (already done) or the effect declined (a unique reference still running), else what
    the effect returns ("" when its target is gone)."""
    pk = scoped_pk(_SCOPE, target, message_key)
    record = Put(
        Table.RUNTIME,
        record_item(pk, {"state": "done", "target": target}, ttl_of(container), 1),
        MustNotExist(),
    )
    for _ in range(_ATTEMPTS):
        try:
            return effect(record)
        except ConcurrencyError:
            if read_record(container.store, pk) is not None:
                return None  # done already: this is a redelivery (or a concurrent one)
    try:
        return effect(record)
    except ConcurrencyError:
        if read_record(container.store, pk) is not None:
            return None
        raise
    except NotFound:
        return ""  # the execution moved on, or the definition is gone


def _reference(
    container: Services, event: _Event, start: Mapping[str, Any]
) -> tuple[str, Item | None]:
    """``storeAsUniqueReferenceId``: the record naming the instance started for this
    definition key and these correlation values, ``(pk, item or None)``."""
    key = str(start["definitionId"]).split(":", 1)[0]
    values = json.dumps(sorted(event.correlation.items()), default=str)
    pk = scoped_pk(_SCOPE, f"reference:{key}", values)
    return pk, read_record(container.store, pk)


def _start(
    container: Services, event: _Event, start: Mapping[str, Any]
) -> Callable[[Write], str | None]:
    """Start an instance at a registered start event. With ``storeAsUniqueReferenceId`` (as
    Flowable's), not while an instance started by an event of the same correlation values
    still runs: the event counts as matched, and nothing starts (None)."""
    variables = _variables(start.get("outParameters") or [], event.values)

    def run(record: Write) -> str | None:
        reference: tuple[str, Item | None] | None = None
        if start.get("uniqueReference"):
            reference = _reference(container, event, start)
            existing = reference[1]
            if existing is not None and is_running(
                container.store, str(existing.data.get("instanceId"))
            ):
                return None

        def writes(result: Any) -> list[Write]:
            if reference is None:
                return [record]
            pk, existing = reference
            version = (existing.version or 1) + 1 if existing is not None else 1
            data = {"state": "reference", "instanceId": str(result.instance_id)}
            condition = MustNotExist() if existing is None else VersionIs(existing.version or 1)
            return [record, Put(Table.RUNTIME, record_item(pk, data, None, version), condition)]

        _, result = run_command(
            container,
            lambda uow: StartByEvent(start["definitionId"], start["activityId"], variables),
            attempts=1,
            extra_writes=writes,
        )
        return str(result.instance_id)

    return run


def _deliver(
    container: Services, event: _Event, subscription: Mapping[str, Any]
) -> Callable[[Write], str]:
    configuration = subscription.get("configuration") or {}
    variables = _variables(configuration.get("outParameters") or [], event.values)
    instance_id = subscription["instance_id"]

    def run(record: Write) -> str:
        def build(uow: Any) -> DeliverMessage:
            uow.load(instance_id)
            return DeliverMessage(
                f"{EVENT_REGISTRY_PREFIX}{event.key}",
                instance_id,
                subscription["execution_id"],
                variables,
                subscription_id=subscription["id"],
            )

        run_command(container, build, attempts=1, extra_writes=lambda r: [record])
        return str(subscription["execution_id"])

    return run


# --- poison ----------------------------------------------------------------------------------


def _dead_letter(
    container: Services,
    queue: str,
    message_key: str,
    text: str,
    reason: str,
    headers: Mapping[str, Any] | None = None,
) -> Outcome:
    """Record the poison message, with its header values, as a dead-letter job (once per
    message key)."""
    pk = scoped_pk(_SCOPE, "poison", message_key)
    if read_record(container.store, pk) is not None:
        return Outcome(poison=reason)
    job = new_job(
        job_id=ids.new_id(),
        handler_type=HANDLER,
        created=container.clock.now(),
        configuration={
            "queue": queue,
            "messageKey": message_key,
            "reason": reason,
            "body": text[:MAX_RAW_BODY],
            "truncated": len(text) > MAX_RAW_BODY,
            "headers": dict(headers or {}),
        },
        retries=0,
    )
    data = {**job.data, "retries": 0, "exceptionMessage": reason}
    writes: list[Write] = [
        Put(Table.DEADLETTER, dead_letter_item(data), MustNotExist()),
        Put(
            Table.RUNTIME,
            record_item(pk, {"state": "poison", "jobId": data["_id"]}, ttl_of(container), 1),
            MustNotExist(),
        ),
    ]
    try:
        container.store.transact(counted(writes))
    except ConcurrencyError:
        pass  # a concurrent delivery recorded it
    log.warning("inbound message %s on %s dead-lettered: %s", message_key, queue, reason)
    return Outcome(poison=reason)


def run_dead_letter(container: Services, job: Item) -> str:
    """The runner of an ``inbound-event`` job (a dead-lettered message executed again): the
    message is received again under a new key; poison again raises (the job fails again)."""
    configuration = job.data.get("jobHandlerConfiguration") or {}
    retry_key = f"{configuration.get('messageKey')}#retry#{job.data['_id']}#{job.version or 1}"
    text = configuration.get("body") or ""
    answer = _worker_answer(text)
    if answer is not None:
        try:
            done = external_worker.answer(container, answer)
        except external_worker.MalformedAnswer as exc:
            raise Poison(str(exc)) from None
        container.store.transact(counted([job_done_write(job)]))
        return f"worker answer: {done}"
    headers = configuration.get("headers") or {}
    queue = configuration.get("queue") or ""
    _decode(container, queue, retry_key, text, headers)  # Poison: fail again
    attributes = {name: {"stringValue": value} for name, value in headers.items()}
    outcome = receive(container, queue, retry_key, text, attributes)
    if outcome.poison is not None:
        raise Poison(outcome.poison)
    container.store.transact(counted([job_done_write(job)]))
    return outcome.describe()
