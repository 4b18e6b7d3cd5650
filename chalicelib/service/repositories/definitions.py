"""The repository table's item layout: models, deployments, resources, definitions, counters.

Every key of the repository table is built here, so the layout reads in one place:

============================  ====================================  ===========  ====================
partition (``pk``)            sort key (``sk``)                     ``kind``     index ``sort``
============================  ====================================  ===========  ====================
``model#<id>``                ``#model``                            model        ``<createTime>#<id>``
``model#<id>``                ``#content`` (bpmnXML, resourceMap)   model-content  (not indexed)
``deployment#<d>``            ``#deployment``                       deployment   ``<deployTime>#<d>``
``deployment#<d>``            ``procdef#<key:version:d>``           procdef      ``<key>:<version:010>:<d>``
``deployment#<d>``            ``resource#<name>``                   resource       (not indexed)
``source#<source>``           ``deployment#<deployTime>#<d>``       deployment-source (not indexed)
``procdef-key#<key>``         ``#counter`` (``version`` = latest)   procdef-counter (not indexed)
``start-event#<key>``         ``message#<activity>``                start-message  ``<name>#<definitionId>``
``start-event#<key>``         ``signal#<activity>``                 start-signal   ``<name>#<definitionId>``
``start-event#<key>``         ``timer#<activity>``                  start-timer  (not indexed)
``message-start#<name>``      ``#claim``                            message-claim  (not indexed)
============================  ====================================  ===========  ====================

* Lists go through the sparse ``kind-sort`` index (partition = kind), never a scan. A process
  key is an XML NCName, which has no ``:``, so ``key eq "x"`` is the index range
  ``KeyRange.prefix("x:")`` and the versions of one key come back in order.
* One deployment is one item collection: reading a definition is one strongly consistent Query
  of its deployment (the definition item, its BPMN and its forms), and ``deploymentId eq`` or
  ``_id eq`` is served by that Query too.
* ``source#<source>`` lists the deployments of one model (``model:<id>``) or one file of the
  ``workflow/`` directory (``file:<name>``), newest last: duplicate detection and
  ``list_deployments`` read it.
* The counter item's ``version`` is the last version number handed out for a key; deploy writes
  it in the same transaction as the definitions, conditioned on the value it read.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...storage.ports import Delete, Index, Item, ItemStore, KeyRange, Page, Table

__all__ = [
    "model_items",
    "deployment_item",
    "definition_item",
    "counter_item",
    "read_counter",
    "deployment_source_item",
    "resource_item",
    "START_EVENT_KINDS",
    "CLAIM_KIND",
    "CLAIM_SK",
    "registry_pk",
    "claim_pk",
    "start_event_sk",
    "start_event_sort",
    "read_start_events",
    "read_timer_start",
    "start_events_page",
    "event_start_item",
    "timer_start_item",
    "is_message_start",
    "is_timer_start",
    "read_message_claim",
    "message_claim_item",
    "message_claim_delete",
    "start_events_named",
    "Deployment",
    "load_deployment",
    "Kind",
    "listing",
    "partition",
    "MODEL",
    "MODEL_CONTENT",
    "PROCESS_DEFINITION",
    "DEPLOYMENT",
    "RESOURCE",
    "DEPLOYMENT_SOURCE",
    "COUNTER",
    "MODEL_SK",
    "CONTENT_SK",
    "DEPLOYMENT_SK",
    "COUNTER_SK",
    "model_pk",
    "deployment_pk",
    "definition_sk",
    "resource_sk",
    "source_pk",
    "source_sk",
    "counter_pk",
    "definition_sort",
    "key_range_of_key",
    "split_definition_id",
    "definition_id",
]

Kind = str

MODEL: Kind = "model"
MODEL_CONTENT: Kind = "model-content"
PROCESS_DEFINITION: Kind = "procdef"
DEPLOYMENT: Kind = "deployment"
RESOURCE: Kind = "resource"
DEPLOYMENT_SOURCE: Kind = "deployment-source"
COUNTER: Kind = "procdef-counter"

MODEL_SK = "#model"
CONTENT_SK = "#content"
DEPLOYMENT_SK = "#deployment"
COUNTER_SK = "#counter"
DEFINITION_PREFIX = "procdef#"
RESOURCE_PREFIX = "resource#"


#: start-event registry item kind per start event type (message and signal items are listed by
#: the ``kind-sort`` index)
START_EVENT_KINDS = {"message": "start-message", "signal": "start-signal", "timer": "start-timer"}
CLAIM_KIND = "message-claim"
CLAIM_SK = "#claim"


def registry_pk(key: str) -> str:
    """The item collection of the start events registered for process key ``key``."""
    return f"start-event#{key}"


def claim_pk(message_name: str) -> str:
    """The item that says which key's latest version starts on message ``message_name``."""
    return f"message-start#{message_name}"


def start_event_sk(type: str, activity_id: str) -> str:
    """The sort key of a registered start event (``type``: message, signal or timer)."""
    return f"{type}#{activity_id}"


def start_event_sort(name: str, definition_id: str) -> str:
    """The ``kind-sort`` index ``sort`` of a message or signal start event."""
    return f"{name}#{definition_id}"


def start_events_named(name: str) -> KeyRange:
    """The ``kind-sort`` range of the start events of the message or signal ``name``."""
    return KeyRange.prefix(f"{name}#")


def read_start_events(store: ItemStore, key: str) -> dict[str, Item]:
    """The start events registered for process key ``key``, by sort key (one Query)."""
    return {item.sk: item for item in store.query(Table.REPOSITORY, registry_pk(key)).items}


def read_timer_start(store: ItemStore, key: str, activity_id: str) -> Item | None:
    """The registry item of the timer start event ``activity_id`` of ``key``."""
    return store.get(Table.REPOSITORY, registry_pk(key), start_event_sk("timer", activity_id))


def start_events_page(
    store: ItemStore, type: str, name: str, *, limit: int, start: str | None = None
) -> Page:
    """One page of the registered ``type`` (message or signal) start events of ``name``."""
    return store.query_index(
        Table.REPOSITORY,
        Index.KIND_SORT,
        START_EVENT_KINDS[type],
        key_range=start_events_named(name),
        limit=limit,
        start=start,
    )


def event_start_item(
    key: str, type: str, activity_id: str, definition_id: str, event_name: str
) -> Item:
    """The registry item of a message or signal start event (listed by ``kind-sort``)."""
    data = {
        "key": key,
        "definitionId": definition_id,
        "activityId": activity_id,
        "type": type,
        "eventName": event_name,
    }
    return Item(
        registry_pk(key),
        start_event_sk(type, activity_id),
        START_EVENT_KINDS[type],
        data,
        index={"sort": start_event_sort(event_name, definition_id)},
        version=1,
    )


def timer_start_item(key: str, activity_id: str, definition_id: str, job_id: str) -> Item:
    """The registry item of a timer start event; it names its outstanding job."""
    data = {
        "key": key,
        "definitionId": definition_id,
        "activityId": activity_id,
        "type": "timer",
        "jobId": job_id,
    }
    return Item(
        registry_pk(key),
        start_event_sk("timer", activity_id),
        START_EVENT_KINDS["timer"],
        data,
        version=1,
    )


def is_message_start(item: Item) -> bool:
    return item.kind == START_EVENT_KINDS["message"]


def is_timer_start(item: Item) -> bool:
    return item.kind == START_EVENT_KINDS["timer"]


def read_message_claim(store: ItemStore, message_name: str) -> Item | None:
    """Which key's latest version starts on ``message_name`` (None: no key)."""
    return store.get(Table.REPOSITORY, claim_pk(message_name), CLAIM_SK)


def message_claim_item(message_name: str, key: str, definition_id: str | None) -> Item:
    """The claim of ``message_name`` by process key ``key`` (its latest definition)."""
    data = {"messageName": message_name, "key": key, "definitionId": definition_id}
    return Item(claim_pk(message_name), CLAIM_SK, CLAIM_KIND, data)


def message_claim_delete(message_name: str) -> Delete:
    """The write that releases the claim of ``message_name``."""
    return Delete(Table.REPOSITORY, claim_pk(message_name), CLAIM_SK)


def model_pk(model_id: str) -> str:
    return f"model#{model_id}"


def deployment_pk(deployment_id: str) -> str:
    return f"deployment#{deployment_id}"


def definition_sk(definition_id: str) -> str:
    return f"{DEFINITION_PREFIX}{definition_id}"


def resource_sk(name: str) -> str:
    return f"{RESOURCE_PREFIX}{name}"


def source_pk(source: str) -> str:
    return f"source#{source}"


def source_sk(deploy_time: str, deployment_id: str) -> str:
    return f"deployment#{deploy_time}#{deployment_id}"


def counter_pk(key: str) -> str:
    return f"procdef-key#{key}"


def definition_id(key: str, version: int, deployment_id: str) -> str:
    """``key:version:deploymentId`` (as IDM)."""
    return f"{key}:{version}:{deployment_id}"


def definition_sort(key: str, version: int, deployment_id: str) -> str:
    """The ``kind-sort`` range value of a definition: by key, then version."""
    return f"{key}:{version:010d}:{deployment_id}"


def key_range_of_key(key: str) -> KeyRange:
    """The index range holding every version of one key."""
    return KeyRange.prefix(f"{key}:")


def split_definition_id(text: str) -> tuple[str, int, str] | None:
    """``(key, version, deploymentId)`` of a definition id, or None when it has not that shape."""
    parts = text.rsplit(":", 2) if isinstance(text, str) else []
    if len(parts) != 3 or not parts[0] or not parts[2] or not parts[1].isdigit():
        return None
    return parts[0], int(parts[1]), parts[2]


Fetch = Callable[[Any, int], "tuple[Sequence[dict], Any]"]


def listing(
    store: ItemStore,
    kind: Kind,
    shape: Callable[[Item], dict[str, Any]],
    *,
    key_range: KeyRange | None = None,
    descending: bool = False,
) -> Fetch:
    """A ``QuerySource.fetch`` over the repository items of ``kind`` (in range-key order),
    narrowed to ``key_range`` when given."""

    def fetch(token: Any, limit: int) -> tuple[list[dict], Any]:
        page = store.query_index(
            Table.REPOSITORY,
            Index.KIND_SORT,
            kind,
            key_range=key_range,
            limit=max(limit, 1),
            start=token,
            descending=descending,
        )
        return [shape(item) for item in page.items], page.next_token

    return fetch


def partition(
    store: ItemStore, pk: str, sk_prefix: str, shape: Callable[[Item], dict[str, Any]]
) -> Fetch:
    """A ``QuerySource.fetch`` over one item collection's items whose sort key has a prefix."""

    def fetch(token: Any, limit: int) -> tuple[list[dict], Any]:
        page = store.query(
            Table.REPOSITORY, pk, sk_prefix=sk_prefix, limit=max(limit, 1), start=token
        )
        return [shape(item) for item in page.items], page.next_token

    return fetch


@dataclass
class Deployment:
    """One deployment as stored: header data, definition records and resources by name."""

    deployment_id: str
    header: Item
    definitions: dict[str, Item] = field(default_factory=dict)  # by definition id
    resources: dict[str, Item] = field(default_factory=dict)  # by resource name

    def resource_text(self, name: str | None) -> str | None:
        """A resource as text (binary resources: None)."""
        item = self.resources.get(name or "")
        return item.data.get("text") if item is not None else None

    def resource_bytes(self, name: str | None) -> bytes | None:
        """A resource's bytes (text resources UTF-8 encoded), or None when there is none."""
        item = self.resources.get(name or "")
        if item is None:
            return None
        if "base64" in item.data:
            return base64.b64decode(item.data["base64"])
        text = item.data.get("text")
        return text.encode("utf-8") if isinstance(text, str) else None


def load_deployment(store: ItemStore, deployment_id: str) -> Deployment | None:
    """The whole deployment (one strongly consistent Query), or None when it does not exist."""
    page = store.query(Table.REPOSITORY, deployment_pk(deployment_id))
    header = None
    deployment = Deployment(deployment_id, header=None)  # type: ignore[arg-type]
    for item in page.items:
        if item.kind == DEPLOYMENT:
            header = item
        elif item.kind == PROCESS_DEFINITION:
            deployment.definitions[item.data["_id"]] = item
        elif item.kind == RESOURCE:
            deployment.resources[item.data["name"]] = item
    if header is None:
        return None
    deployment.header = header
    return deployment


# --- item builders (the use cases say what to store, this module says where) --------------------


def model_items(
    model_id: str, light: dict[str, Any], heavy: dict[str, Any], version: int
) -> tuple[Item, Item]:
    """A model's header (listed by ``kind-sort``, versioned) and its content item."""
    header = Item(
        model_pk(model_id),
        MODEL_SK,
        MODEL,
        light,
        index={"sort": f"{light['createTime']}#{model_id}"},
        version=version,
    )
    return header, Item(model_pk(model_id), CONTENT_SK, MODEL_CONTENT, heavy)


def deployment_item(deployment_id: str, header: dict[str, Any]) -> Item:
    """A deployment's header item (listed by ``kind-sort`` in deploy-time order)."""
    sort = f"{header['deployTime']}#{deployment_id}"
    return Item(
        deployment_pk(deployment_id), DEPLOYMENT_SK, DEPLOYMENT, header, index={"sort": sort}
    )


def definition_item(deployment_id: str, record: dict[str, Any], key: str, version: int) -> Item:
    """A process definition's item, in its deployment's collection."""
    return Item(
        deployment_pk(deployment_id),
        definition_sk(record["_id"]),
        PROCESS_DEFINITION,
        record,
        index={"sort": definition_sort(key, version, deployment_id)},
    )


def counter_item(key: str, last_definition_id: str, version: int) -> Item:
    """The version counter of process key ``key`` (``version`` = the last one handed out)."""
    data = {"key": key, "lastDefinitionId": last_definition_id}
    return Item(counter_pk(key), COUNTER_SK, COUNTER, data, version=version)


def read_counter(store: ItemStore, key: str) -> Item | None:
    """The version counter of process key ``key`` (None before its first deploy)."""
    return store.get(Table.REPOSITORY, counter_pk(key), COUNTER_SK)


def deployment_source_item(source: str, deployment_id: str, data: dict[str, Any]) -> Item:
    """The entry of a deployment in the list of its source's deployments."""
    return Item(
        source_pk(source),
        source_sk(data["deployTime"], deployment_id),
        DEPLOYMENT_SOURCE,
        {"deploymentId": deployment_id, **data},
    )


def resource_item(deployment_id: str, data: dict[str, Any]) -> Item:
    """A resource (BPMN text, form, image) of a deployment; ``data`` names it."""
    return Item(deployment_pk(deployment_id), resource_sk(data["name"]), RESOURCE, data)
