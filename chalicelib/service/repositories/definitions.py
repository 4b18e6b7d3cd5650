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

from ...storage.ports import Index, Item, ItemStore, KeyRange, Table

__all__ = [
    "START_EVENT_KINDS",
    "CLAIM_KIND",
    "CLAIM_SK",
    "registry_pk",
    "claim_pk",
    "start_event_sk",
    "start_event_sort",
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
