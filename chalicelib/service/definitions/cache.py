"""Deployed process definitions, loaded once per container (an LRU cache by definition id).

A deployed definition never changes, so once loaded it is kept in a small per-container LRU
cache keyed by definition id: the stored record (api-reference.md §8), the parsed process and
the texts of its forms. The engine uses ``get_definition`` and ``latest_definition`` too.
Deleting a deployment evicts its definitions from this container's cache; another warm
container may keep serving a deleted definition from its cache until it is recycled.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...errors import NotFound
from ...storage.ports import Index, Table
from ..container import Services
from ..repositories import definitions as repo
from ..repositories.definitions import load_deployment
from .naming import record_of

if TYPE_CHECKING:  # the engine is imported on the first cache miss (cold-start import cost)
    from ...engine import Definitions, ProcessDefinitionModel

__all__ = ["DeployedDefinition", "get_definition", "latest_definition", "forget", "CACHE_SIZE"]

CACHE_SIZE = 256

_CACHE_KEY = "definition-cache"


@dataclass(frozen=True)
class DeployedDefinition:
    """One deployed definition: its record, parsed process and form texts (by form key)."""

    id: str
    record: Mapping[str, Any]
    process: ProcessDefinitionModel
    definitions: Definitions
    forms: Mapping[str, str]

    @property
    def deployment_id(self) -> str:
        return self.record["deploymentId"]


class _Cache:
    """A thread-safe LRU of ``DeployedDefinition`` by id."""

    def __init__(self, size: int = CACHE_SIZE):
        self._items: OrderedDict[str, DeployedDefinition] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def get(self, key: str) -> DeployedDefinition | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, value: DeployedDefinition) -> None:
        with self._lock:
            self._items[value.id] = value
            self._items.move_to_end(value.id)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def drop(self, keys: Iterable[str]) -> None:
        with self._lock:
            for key in keys:
                self._items.pop(key, None)


def _cache(container: Services) -> _Cache:
    cache = container.extras.get(_CACHE_KEY)
    if cache is None:
        cache = container.extras.setdefault(_CACHE_KEY, _Cache())
    return cache


def _not_found(definition_id: str) -> NotFound:
    return NotFound(f"No deployed process definition found with id '{definition_id}'")


def get_definition(container: Services, definition_id: str) -> DeployedDefinition:
    """The deployed definition ``definition_id`` (one Query on a cache miss); 404 if unknown."""
    from ...engine import parse_bpmn

    cache = _cache(container)
    cached = cache.get(definition_id)
    if cached is not None:
        return cached
    parts = repo.split_definition_id(definition_id)
    deployment = load_deployment(container.store, parts[2]) if parts else None
    if deployment is None or definition_id not in deployment.definitions:
        raise _not_found(definition_id)
    record = record_of(deployment.definitions[definition_id].data)
    text = deployment.resource_text(record["resourceName"])
    definitions = parse_bpmn(text or "", resource_name=record["resourceName"])
    process = definitions.processes[record["key"]]
    forms: dict[str, str] = {}
    for key in process.form_keys():
        form = deployment.resource_text(key)
        if form is not None:
            forms[key] = form
    loaded = DeployedDefinition(definition_id, record, process, definitions, forms)
    cache.put(loaded)
    return loaded


def latest_definition(container: Services, key: str) -> DeployedDefinition:
    """The highest version of ``key`` (one index Query, then ``get_definition``); 404 if none."""
    page = container.store.query_index(
        Table.REPOSITORY,
        Index.KIND_SORT,
        repo.PROCESS_DEFINITION,
        key_range=repo.key_range_of_key(key),
        limit=1,
        descending=True,
    )
    if not page.items:
        raise NotFound(f"No deployed process definition found with key '{key}'")
    return get_definition(container, page.items[0].data["_id"])


def forget(container: Services, definition_ids: Iterable[str]) -> None:
    """Evict definitions from this container's cache (their deployment was deleted)."""
    _cache(container).drop(list(definition_ids))
