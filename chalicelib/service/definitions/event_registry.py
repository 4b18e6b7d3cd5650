"""Flowable's event registry at deploy: ``.event`` and ``.channel`` resources and the BPMN
elements that name an event type.

* ``parse_event`` / ``parse_channel`` read Flowable's JSON shapes and raise
  ``DefinitionError`` naming the field (``payload[1].type``) for anything we would not run.
  Channel ``type``: ``sqs`` (inbound and outbound); ``sns`` and ``eventbridge`` (outbound
  only). Inbound channels deserialize JSON; the event key is a ``fixedValue``, a top-level
  ``jsonField`` or a ``jsonPointerExpression``.
* ``event_references`` lists the start events, intermediate catch events, boundary events,
  receive tasks and send event tasks naming ``flowable:eventType``.
* ``on_deploy`` validates a deployment's definitions and references: every referenced event
  key is defined by the deployment or already deployed, else a 400 naming the key (never
  accepted and left to fail). It returns what to store with the deployment.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from ...storage.ports import Item, ItemStore, Write
from ..repositories import event_registry as repo
from .errors import InvalidDeployment

#: ``startEventCorrelationConfiguration`` values: the default, and one running instance per
#: correlation (``service/events/inbound.py``)
UNIQUE_REFERENCE = "storeAsUniqueReferenceId"
START_CONFIGURATIONS = (None, "startNewInstance", UNIQUE_REFERENCE)
#: Flowable's third value: the start event starts nothing until Java code registers a
#: subscription with correlation values (``ProcessStartEventSubscriptionBuilder``); no route of
#: this API registers one, so such a definition could never start and is refused
MANUAL_SUBSCRIPTION = "manualSubscription"

__all__ = [
    "UNIQUE_REFERENCE",
    "START_CONFIGURATIONS",
    "EVENT_SUFFIX",
    "CHANNEL_SUFFIX",
    "PAYLOAD_TYPES",
    "DefinitionError",
    "EventDefinition",
    "ChannelDefinition",
    "EventReference",
    "RegistryChanges",
    "parse_event",
    "parse_channel",
    "event_references",
    "on_deploy",
    "on_delete",
    "find_event",
    "inbound_channels",
    "find_channel",
    "start_writes",
    "start_deletes",
    "cached_event",
    "cached_inbound_channels",
    "cached_channel",
    "forget_cached",
]

_CACHE_KEY = "event-registry-cache"

EVENT_SUFFIX = ".event"
CHANNEL_SUFFIX = ".channel"
#: Flowable's ``EventPayloadTypes``
PAYLOAD_TYPES = ("string", "integer", "long", "double", "boolean", "json")
INBOUND_TYPES = ("sqs",)
OUTBOUND_TYPES = ("sqs", "sns", "eventbridge")
_KEY_DETECTION = ("fixedValue", "jsonField", "jsonPointerExpression")
#: elements that wait for an event (inbound) and the send event task (outbound)
_CATCHING = ("startEvent", "intermediateCatchEvent", "boundaryEvent", "receiveTask")


class DefinitionError(ValueError):
    """A ``.event`` or ``.channel`` resource we cannot run: ``field`` names what is wrong."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class EventDefinition:
    """One ``.event``: its key, correlation parameters and payload fields (name -> type)."""

    key: str
    name: str | None
    correlation: dict[str, str]
    payload: dict[str, str]
    headers: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "correlationParameters": [{"name": n, "type": t} for n, t in self.correlation.items()],
            "payload": [
                {"name": n, "type": t, **({"header": True} if n in self.headers else {})}
                for n, t in self.payload.items()
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EventDefinition:
        return parse_event(json.dumps(data))


@dataclass(frozen=True)
class ChannelDefinition:
    """One ``.channel``."""

    key: str
    channel_type: str  # inbound | outbound
    type: str  # sqs | sns | eventbridge
    destination: str | None
    key_detection: tuple[str, str] | None  # (fixedValue|jsonField|jsonPointerExpression, value)
    require_match: bool = False
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_json(self) -> dict[str, Any]:
        return dict(self.raw)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ChannelDefinition:
        return parse_channel(json.dumps(data))


@dataclass(frozen=True)
class EventReference:
    """A BPMN element naming ``flowable:eventType``."""

    resource_name: str
    process_key: str
    activity_id: str
    element: str
    event_key: str
    channel_key: str | None = None
    trigger_key: str | None = None
    start_configuration: str | None = None
    correlation_values: tuple[str, ...] = ()
    process_level: bool = False


# --- parsing -----------------------------------------------------------------------------------


def _load(text: str | bytes) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DefinitionError("$", f"not JSON ({exc.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise DefinitionError("$", "must be a JSON object")
    return data


def _string(data: Mapping[str, Any], name: str, *, required: bool, where: str = "") -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise DefinitionError(f"{where}{name}", "must be a non-empty string")
    return value


def _fields(data: Mapping[str, Any], name: str) -> list[tuple[str, str, dict]]:
    value = data.get(name, [])
    if not isinstance(value, list):
        raise DefinitionError(name, "must be a list of {name, type}")
    out = []
    for position, entry in enumerate(value):
        where = f"{name}[{position}]."
        if not isinstance(entry, dict):
            raise DefinitionError(f"{name}[{position}]", "must be an object {name, type}")
        field_name = _string(entry, "name", required=True, where=where)
        field_type = _string(entry, "type", required=True, where=where)
        if field_type not in PAYLOAD_TYPES:
            raise DefinitionError(
                f"{where}type", f"'{field_type}' is not one of {', '.join(PAYLOAD_TYPES)}"
            )
        out.append((str(field_name), str(field_type), entry))
    return out


def parse_event(text: str | bytes) -> EventDefinition:
    """A ``.event`` resource (Flowable's JSON); ``DefinitionError`` naming the field."""
    data = _load(text)
    key = str(_string(data, "key", required=True))
    name = _string(data, "name", required=False)
    correlation = {n: t for n, t, _ in _fields(data, "correlationParameters")}
    payload: dict[str, str] = {}
    headers: list[str] = []
    for n, t, entry in _fields(data, "payload"):
        payload[n] = t
        if entry.get("correlationParameter") is True:
            correlation.setdefault(n, t)
        if entry.get("header") is True:  # read from the SQS message attributes
            headers.append(n)
    for n, t in correlation.items():
        if payload.setdefault(n, t) != t:
            raise DefinitionError("correlationParameters", f"'{n}' has two types")
    if len(correlation) > repo.MAX_CORRELATION_PARAMETERS:
        raise DefinitionError(
            "correlationParameters",
            f"{len(correlation)} correlation parameters; at most "
            f"{repo.MAX_CORRELATION_PARAMETERS} (an event reads one index partition per "
            "subset of its correlation values)",
        )
    return EventDefinition(key, name, correlation, payload, tuple(headers))


def parse_channel(text: str | bytes) -> ChannelDefinition:
    """A ``.channel`` resource (Flowable's JSON); ``DefinitionError`` naming the field."""
    data = _load(text)
    key = str(_string(data, "key", required=True))
    channel_type = _string(data, "channelType", required=True)
    if channel_type not in ("inbound", "outbound"):
        raise DefinitionError("channelType", "must be 'inbound' or 'outbound'")
    type_ = _string(data, "type", required=True)
    allowed = INBOUND_TYPES if channel_type == "inbound" else OUTBOUND_TYPES
    if type_ not in allowed:
        raise DefinitionError(
            "type",
            f"'{type_}' is not run here: an {channel_type} channel is {' or '.join(allowed)}",
        )
    destination = _string(data, "destination", required=channel_type == "outbound")
    if channel_type == "outbound" and type_ == "sns" and not str(destination).startswith("arn:"):
        raise DefinitionError("destination", "an sns channel's destination is a topic ARN")
    key_detection = None
    if channel_type == "inbound":
        serial = data.get("deserializerType", "json")
        if serial != "json":
            raise DefinitionError("deserializerType", f"'{serial}' is not supported (json)")
        detection = data.get("channelEventKeyDetection")
        if not isinstance(detection, dict):
            raise DefinitionError(
                "channelEventKeyDetection", f"must be an object with one of {_KEY_DETECTION}"
            )
        found = [k for k in detection if k in _KEY_DETECTION]
        unknown = [k for k in detection if k not in _KEY_DETECTION]
        if unknown or len(found) != 1:
            raise DefinitionError(
                f"channelEventKeyDetection.{(unknown or found or ['?'])[0]}",
                f"exactly one of {', '.join(_KEY_DETECTION)} is supported",
            )
        value = _string(detection, found[0], required=True, where="channelEventKeyDetection.")
        if found[0] == "jsonPointerExpression" and not str(value).startswith("/"):
            raise DefinitionError(
                "channelEventKeyDetection.jsonPointerExpression", "must start with '/'"
            )
        key_detection = (found[0], str(value))
    else:
        serial = data.get("serializerType", "json")
        if serial != "json":
            raise DefinitionError("serializerType", f"'{serial}' is not supported (json)")
    require_match = data.get("requireMatch", False)
    if not isinstance(require_match, bool):
        raise DefinitionError("requireMatch", "must be true or false")
    return ChannelDefinition(
        key, channel_type, str(type_), destination, key_detection, require_match, dict(data)
    )


def event_references(resource_name: str, xml: str) -> list[EventReference]:
    """The elements of ``xml`` naming ``flowable:eventType`` (a document that does not parse
    has none: BPMN validation reports it)."""
    from ...engine.parse_support import bpmn, ext_attr, ext_children, ext_text, local_name
    from ...engine.xmlsafe import parse_xml

    try:
        root = parse_xml(xml)
    except Exception:  # the BPMN validation reports it
        return []
    found: list[EventReference] = []
    for process in root.iter(bpmn("process")):
        for element in process.iter():
            if not isinstance(element.tag, str):
                continue
            name = local_name(element)
            is_send = name == "serviceTask" and ext_attr(element, "type") == "send-event"
            if name not in _CATCHING and not is_send:
                continue
            key = ext_text(element, "eventType")
            if key:
                channel = ext_text(element, "channelKey") if is_send else None
                trigger = ext_text(element, "triggerEventType") if is_send else None
                found.append(
                    EventReference(
                        resource_name,
                        process.get("id", ""),
                        element.get("id", ""),
                        name,
                        key,
                        channel,
                        trigger,
                        ext_text(element, "startEventCorrelationConfiguration"),
                        tuple(
                            p.get("value") or ""
                            for p in ext_children(element, "eventCorrelationParameter")
                        ),
                        element.getparent() is process,
                    )
                )
    return found


# --- deploy ----------------------------------------------------------------------------------


@dataclass
class RegistryChanges:
    """The definitions a deployment brings; ``writes`` stores them with the deployment."""

    events: dict[str, EventDefinition] = field(default_factory=dict)
    channels: dict[str, ChannelDefinition] = field(default_factory=dict)

    def writes(self, deployment_id: str, deploy_time: str) -> list[Write]:
        from ...storage.ports import Put, Table

        items = [
            repo.definition_item(repo.EVENT_DEFINITION, k, deploy_time, deployment_id, e.to_json())
            for k, e in self.events.items()
        ] + [
            repo.definition_item(
                repo.CHANNEL_DEFINITION, k, deploy_time, deployment_id, c.to_json()
            )
            for k, c in self.channels.items()
        ]
        return [Put(Table.REPOSITORY, item) for item in items]


def _problem(problem: str, text: str, resource: str, **extra: Any) -> dict[str, Any]:
    return {
        "problem": problem,
        "defaultDescription": text,
        "resourceName": resource,
        "xmlLineNumber": None,
        "xmlColumnNumber": None,
        "isWarning": False,
        **extra,
    }


def on_deploy(
    store: ItemStore,
    bpmn: Mapping[str, str],
    resources: Mapping[str, Any],
    events_queue: str | None = None,
    inbound_queues: Iterable[str] = (),
) -> RegistryChanges:
    """Validate the deployment's ``.event``/``.channel`` resources and the event types its
    BPMN names; ``InvalidDeployment`` (400) listing every problem. An inbound channel's
    ``destination`` must be the stage's ``events_queue`` (or absent) or one of its
    ``inbound_queues`` (``WORKFLOW_INBOUND_QUEUES``): no other queue is wired to the inbound
    function."""
    listened = {events_queue, *inbound_queues} - {None}
    changes = RegistryChanges()
    problems: list[dict[str, Any]] = []
    for name in sorted(resources):
        lower = name.lower()
        if not lower.endswith((EVENT_SUFFIX, CHANNEL_SUFFIX)):
            continue
        kind = "event" if lower.endswith(EVENT_SUFFIX) else "channel"
        try:
            if kind == "event":
                event = parse_event(resources[name])
                target: dict[str, Any] = changes.events
                key = event.key
                value: Any = event
            else:
                channel = parse_channel(resources[name])
                target, key, value = changes.channels, channel.key, channel
                if (
                    channel.channel_type == "inbound"
                    and channel.destination
                    and events_queue
                    and channel.destination not in listened
                ):
                    raise DefinitionError(
                        "destination",
                        f"'{channel.destination}' is not a queue the inbound function reads: "
                        f"the events queue '{events_queue}' (leave destination out) or one of "
                        "WORKFLOW_INBOUND_QUEUES",
                    )
        except DefinitionError as exc:
            problems.append(
                _problem(
                    f"invalid-{kind}-definition",
                    f"{name}: {exc.field}: {exc.message}",
                    name,
                    field=exc.field,
                )
            )
            continue
        if key in target:
            problems.append(
                _problem(
                    f"duplicate-{kind}-key",
                    f"{name}: key: '{key}' is defined twice in this deployment",
                    name,
                    field="key",
                )
            )
        target[key] = value
    for resource_name in sorted(bpmn):
        for ref in event_references(resource_name, bpmn[resource_name]):
            if ref.element == "serviceTask":
                problems.extend(_outbound_problems(store, changes, ref))
                continue
            if _is_process_start(ref) and any("{" in v for v in ref.correlation_values):
                problems.append(
                    _problem(
                        "start-correlation-expression",
                        f"process '{ref.process_key}': start event '{ref.activity_id}': "
                        "correlation parameter values of a process start event are fixed "
                        "values (there is no execution to evaluate an expression in)",
                        resource_name,
                        activityId=ref.activity_id,
                        eventKey=ref.event_key,
                    )
                )
            if ref.start_configuration not in START_CONFIGURATIONS:
                why = (
                    ": its start subscriptions are registered by Flowable's Java API "
                    "(ProcessStartEventSubscriptionBuilder), which no route of this service "
                    "offers, so the process could never start"
                    if ref.start_configuration == MANUAL_SUBSCRIPTION
                    else ""
                )
                problems.append(
                    _problem(
                        "unsupported-start-correlation",
                        f"process '{ref.process_key}': start event '{ref.activity_id}': "
                        f"startEventCorrelationConfiguration '{ref.start_configuration}' is not "
                        f"supported{why} (startNewInstance: every matching event starts one; "
                        f"{UNIQUE_REFERENCE}: one running instance per correlation)",
                        resource_name,
                        activityId=ref.activity_id,
                        eventKey=ref.event_key,
                    )
                )
            if ref.event_key in changes.events or find_event(store, ref.event_key):
                continue
            problems.append(
                _problem(
                    "unknown-event-type",
                    f"process '{ref.process_key}': {ref.element} '{ref.activity_id}' names "
                    f"event type '{ref.event_key}', which is not defined (deploy its .event "
                    "resource with the model or before it)",
                    resource_name,
                    activityId=ref.activity_id,
                    eventKey=ref.event_key,
                )
            )
    if problems:
        raise InvalidDeployment(
            f"The deployment cannot be deployed: {problems[0]['defaultDescription']}",
            {"errors": problems, "warnings": []},
        )
    return changes


def _is_process_start(ref: EventReference) -> bool:
    """A start event directly in its process (not in an event sub-process)."""
    return ref.element == "startEvent" and ref.process_level


def _outbound_problems(
    store: ItemStore, changes: RegistryChanges, ref: EventReference
) -> list[dict[str, Any]]:
    out = []
    if ref.trigger_key and not (
        ref.trigger_key in changes.events or find_event(store, ref.trigger_key)
    ):
        out.append(
            _problem(
                "unknown-event-type",
                f"process '{ref.process_key}': send event task '{ref.activity_id}' waits for "
                f"event type '{ref.trigger_key}' (triggerEventType), which is not defined",
                ref.resource_name,
                activityId=ref.activity_id,
                eventKey=ref.trigger_key,
            )
        )
    if ref.event_key not in changes.events and not find_event(store, ref.event_key):
        out.append(
            _problem(
                "unknown-event-type",
                f"process '{ref.process_key}': send event task '{ref.activity_id}' names event "
                f"type '{ref.event_key}', which is not defined",
                ref.resource_name,
                activityId=ref.activity_id,
                eventKey=ref.event_key,
            )
        )
    for channel_key in [k.strip() for k in (ref.channel_key or "").split(",") if k.strip()]:
        channel = changes.channels.get(channel_key) or find_channel(store, channel_key)
        if channel is None or channel.channel_type != "outbound":
            out.append(
                _problem(
                    "unknown-channel",
                    f"process '{ref.process_key}': send event task '{ref.activity_id}' names "
                    f"channel '{channel_key}', which is not a deployed outbound channel",
                    ref.resource_name,
                    activityId=ref.activity_id,
                    channelKey=channel_key,
                )
            )
    return out


def on_delete(resources: Iterable[Item], deploy_time: str, deployment_id: str) -> list[Write]:
    """The writes removing the registry items of a deployment being deleted (its resources)."""
    writes: list[Write] = []
    for item in resources:
        name = str(item.data.get("name", "")).lower()
        text = item.data.get("text")
        if text is None or not name.endswith((EVENT_SUFFIX, CHANNEL_SUFFIX)):
            continue
        try:
            if name.endswith(EVENT_SUFFIX):
                kind, key = repo.EVENT_DEFINITION, parse_event(text).key
            else:
                kind, key = repo.CHANNEL_DEFINITION, parse_channel(text).key
        except DefinitionError:
            continue
        writes.append(repo.definition_delete(kind, key, deploy_time, deployment_id))
    return writes


def _entries(model: Any, definition_id: str) -> list[Item]:
    """The registration items of a definition's event-registry start events."""
    from ...engine.elements import EventRegistryDefinition

    items = []
    for start in model.start_events(None):
        for definition in start.event_definitions[:1]:
            if isinstance(definition, EventRegistryDefinition):
                data = {
                    "definitionId": definition_id,
                    "eventType": definition.event_type,
                    "correlation": [list(c) for c in definition.correlation],
                    "outParameters": [list(p) for p in definition.out_parameters],
                    "uniqueReference": definition.start_configuration == UNIQUE_REFERENCE,
                }
                items.append(
                    repo.event_start_item(definition.event_type, model.key, start.id, data)
                )
    return items


def _register(store: ItemStore, key: str, target: tuple[Any, str] | None) -> list[Write]:
    """Writes that make ``target`` (model, definition id), or nothing, the registered
    event-registry start events of process key ``key``."""
    from ...storage.ports import Delete, Put, Table

    current = repo.read_starts_of_key(store, key)
    old = {tuple(e) for e in current.data.get("entries", [])} if current is not None else set()
    items = _entries(*target) if target is not None else []
    new = {(i.data["eventType"], i.data["activityId"]) for i in items}
    writes: list[Write] = [Put(repo.EVENT_START_TABLE, item) for item in items]
    for event_key, activity_id in sorted(old - new):
        writes.append(
            Delete(repo.EVENT_START_TABLE, *repo.event_start_key(event_key, key, activity_id))
        )
    if items:
        definition_id = target[1] if target is not None else None
        writes.append(Put(Table.REPOSITORY, repo.starts_of_key_item(key, definition_id, new)))
    elif current is not None:
        writes.append(Delete(Table.REPOSITORY, current.pk, current.sk))
    return writes


def start_writes(store: ItemStore, processes: Iterable[tuple[Any, str]]) -> list[Write]:
    """Register the event-registry start events of ``(model, definition id)`` pairs (each the
    new latest version of its key), replacing those of the key's previous version."""
    return [
        w
        for model, definition_id in processes
        for w in _register(store, model.key, (model, definition_id))
    ]


def start_deletes(container: Any, definition_ids: Iterable[str]) -> list[Write]:
    """For each key whose registered start events belong to a deleted definition (the
    latest version), register the previous remaining version's instead (or none)."""
    from ...storage.ports import Index, Table
    from ..repositories.definitions import (
        PROCESS_DEFINITION,
        key_range_of_key,
        split_definition_id,
    )
    from .cache import get_definition

    deleted = set(definition_ids)
    store = container.store
    writes: list[Write] = []
    for key in sorted({p[0] for p in map(split_definition_id, deleted) if p}):
        current = repo.read_starts_of_key(store, key)
        if current is None or current.data.get("definitionId") not in deleted:
            continue
        page = store.query_index(
            Table.REPOSITORY,
            Index.KIND_SORT,
            PROCESS_DEFINITION,
            key_range=key_range_of_key(key),
            limit=len(deleted) + 1,
            descending=True,
        )
        previous = next((i.data["_id"] for i in page.items if i.data["_id"] not in deleted), None)
        target = None
        if previous is not None:
            target = (get_definition(container, previous).process, previous)
        writes.extend(_register(store, key, target))
    return writes


# --- reading -----------------------------------------------------------------------------------


def find_event(store: ItemStore, key: str) -> EventDefinition | None:
    """The deployed event definition of ``key`` in force, or None."""
    item = repo.latest_definition(store, repo.EVENT_DEFINITION, key)
    return EventDefinition.from_json(item.data) if item is not None else None


def find_channel(store: ItemStore, key: str) -> ChannelDefinition | None:
    """The deployed channel definition of ``key`` in force, or None."""
    item = repo.latest_definition(store, repo.CHANNEL_DEFINITION, key)
    return _channel(item) if item is not None else None


def inbound_channels(store: ItemStore) -> list[ChannelDefinition]:
    """Every inbound channel in force."""
    channels = [_channel(item) for item in repo.all_channels(store)]
    return [c for c in channels if c.channel_type == "inbound"]


def _channel(item: Item) -> ChannelDefinition:
    data = {k: v for k, v in item.data.items() if k not in ("deploymentId", "deployTime")}
    return ChannelDefinition.from_json(data)


# --- the inbound worker's cache ----------------------------------------------------------------


def _cached(container: Any, name: str, load: Any) -> Any:
    """``load()`` cached per container for ``WORKFLOW_EVENT_REGISTRY_CACHE_SECONDS`` (a deploy
    in another container is seen at most that late; one in this container at once)."""
    import time

    ttl = container.settings.event_registry_cache_seconds
    if ttl <= 0:
        return load()
    cache = container.extras.setdefault(_CACHE_KEY, {})
    now = time.monotonic()
    found = cache.get(name)
    if found is not None and found[0] > now:
        return found[1]
    value = load()
    cache[name] = (now + ttl, value)
    return value


def cached_event(container: Any, key: str) -> EventDefinition | None:
    """``find_event`` through the container's cache."""
    return cast(
        "EventDefinition | None",
        _cached(container, f"event:{key}", lambda: find_event(container.store, key)),
    )


def cached_inbound_channels(container: Any) -> list[ChannelDefinition]:
    """``inbound_channels`` through the container's cache."""
    return cast(
        "list[ChannelDefinition]",
        _cached(container, "channels", lambda: inbound_channels(container.store)),
    )


def cached_channel(container: Any, key: str) -> ChannelDefinition | None:
    """``find_channel`` through the container's cache."""
    return cast(
        "ChannelDefinition | None",
        _cached(container, f"channel:{key}", lambda: find_channel(container.store, key)),
    )


def forget_cached(container: Any) -> None:
    """Drop the container's cached definitions (after a deploy or delete in it)."""
    container.extras.pop(_CACHE_KEY, None)
