"""Deployed process definitions: load (cached per container), query, and their JSON shapes.

A deployed definition never changes, so once loaded it is kept in a small per-container LRU
cache keyed by definition id: the stored record (api-reference.md §8), the parsed process and
the texts of its forms. The engine uses ``get_definition`` and ``latest_definition`` too.
Deleting a deployment evicts its definitions from this container's cache; another warm
container may keep serving a deleted definition from its cache until it is recycled.
"""

from __future__ import annotations

import base64
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..crest import filter as crest_filter
from ..crest.request import CrestRequest
from ..errors import BadRequest, NotFound
from ..storage.ports import Index, Table
from . import repository as repo
from .deployments import load_deployment
from .querying import FILTERED_QUERY, QuerySource

if TYPE_CHECKING:  # the engine is imported on the first cache miss (cold-start import cost)
    from ..engine import Definitions, ProcessDefinitionModel
    from ..engine.parts import FormProperty

__all__ = [
    "DeployedDefinition",
    "get_definition",
    "latest_definition",
    "forget",
    "query_source",
    "read_shape",
    "diagram",
    "task_definitions",
    "task_definition",
    "ITEM_FIELDS",
    "CACHE_SIZE",
]

#: api-reference.md §8 item fields (any of them may be a sort key, DECISIONS.md)
ITEM_FIELDS = frozenset(
    {
        "_id",
        "_rev",
        "key",
        "name",
        "category",
        "description",
        "version",
        "deploymentId",
        "resourceName",
        "processDiagramResourceName",
        "hasStartFormKey",
        "graphicalNotationDefined",
        "suspended",
        "suspensionState",
        "tenantId",
    }
)
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


def _cache(container: Any) -> _Cache:
    cache = container.extras.get(_CACHE_KEY)
    if cache is None:
        cache = container.extras.setdefault(_CACHE_KEY, _Cache())
    return cache


def _not_found(definition_id: str) -> NotFound:
    return NotFound(f"No deployed process definition found with id '{definition_id}'")


def get_definition(container: Any, definition_id: str) -> DeployedDefinition:
    """The deployed definition ``definition_id`` (one Query on a cache miss); 404 if unknown."""
    from ..engine import parse_bpmn

    cache = _cache(container)
    cached = cache.get(definition_id)
    if cached is not None:
        return cached
    parts = repo.split_definition_id(definition_id)
    deployment = load_deployment(container.store, parts[2]) if parts else None
    if deployment is None or definition_id not in deployment.definitions:
        raise _not_found(definition_id)
    record = dict(deployment.definitions[definition_id].data)
    text = deployment.resource_text(record["resourceName"])
    definitions = parse_bpmn(text or "", resource_name=record["resourceName"])
    process = definitions.processes[record["key"]]
    forms = {
        key: deployment.resource_text(key)
        for key in process.form_keys()
        if deployment.resource_text(key) is not None
    }
    loaded = DeployedDefinition(definition_id, record, process, definitions, forms)
    cache.put(loaded)
    return loaded


def latest_definition(container: Any, key: str) -> DeployedDefinition:
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


def forget(container: Any, definition_ids: Iterable[str]) -> None:
    """Evict definitions from this container's cache (their deployment was deleted)."""
    _cache(container).drop(list(definition_ids))


# --- shapes ----------------------------------------------------------------------------------


def _expression(text: str | None) -> dict[str, str] | None:
    return {"expressionText": text} if text is not None else None


def _form_type(prop: FormProperty) -> dict[str, Any]:
    return {
        "name": prop.type,
        "values": {v.id: v.name for v in prop.values} if prop.type == "enum" else None,
        "datePattern": prop.date_pattern if prop.type == "date" else None,
    }


def _form_property(prop: FormProperty, *, untyped_is_null: bool = False) -> dict[str, Any]:
    return {
        "_id": prop.id,
        "name": prop.name,
        "type": None if untyped_is_null and prop.type is None else _form_type(prop),
        "readable": prop.readable,
        "writable": prop.writable,
        "required": prop.required,
        "variableName": prop.variable,
        "variableExpression": _expression(prop.expression),
        "defaultExpression": _expression(prop.default),
    }


def read_shape(definition: DeployedDefinition) -> dict[str, Any]:
    """The READ body: the record plus ``formProperties`` and, with a start form key,
    ``formResourceKey`` and ``formGenerationTemplate`` (null when the deployment lacks it)."""
    body = dict(definition.record)
    key = definition.process.start_form_key
    if key:
        body["formResourceKey"] = key
        body["formGenerationTemplate"] = definition.forms.get(key)
    body["formProperties"] = [_form_property(p) for p in definition.process.start_form_properties]
    return body


def diagram(
    container: Any, definition: DeployedDefinition, active: Iterable[str] | None = None
) -> str | None:
    """The ``diagram`` field: a base64 PNG, or None when there is nothing to show.

    Without ``active`` (the definition's own diagram) the deployment's diagram resource
    (``processDiagramResourceName``) is sent as it is, as IDM does (one Query). Otherwise, or
    without such a resource, the PNG is rendered from the BPMN diagram interchange with the
    ``active`` activities highlighted; no diagram interchange gives None (DECISIONS.md).
    """
    from ..engine.diagram import render_definition

    name = definition.record.get("processDiagramResourceName")
    if active is None and name:
        deployment = load_deployment(container.store, definition.deployment_id)
        data = deployment.resource_bytes(name) if deployment is not None else None
        if data:
            return base64.b64encode(data).decode("ascii")
    png = render_definition(definition.definitions, definition.process.key, active or ())
    return base64.b64encode(png).decode("ascii") if png is not None else None


def task_definitions(definition: DeployedDefinition) -> list[dict[str, Any]]:
    """One item per user task (api-reference.md §3.2)."""
    return [_task_shape(definition, task) for task in definition.process.user_tasks]


def task_definition(definition: DeployedDefinition, task_id: str) -> dict[str, Any]:
    """One task definition plus ``formGenerationTemplate``; 404 for an unknown task id."""
    for task in definition.process.user_tasks:
        if task.id == task_id:
            body = _task_shape(definition, task)
            body["formGenerationTemplate"] = definition.forms.get(task.form_key or "")
            return body
    raise NotFound(f"Task definition for {task_id} was not found")


def _task_shape(definition: DeployedDefinition, task: Any) -> dict[str, Any]:
    return {
        "_id": task.id,
        "name": _expression(task.name),
        "assignee": _expression(task.assignee),
        "taskCandidateUser": list(task.candidate_users),
        "taskCandidateGroup": list(task.candidate_groups),
        "dueDate": _expression(task.due_date),
        "priority": _expression(task.priority),
        "ownerExpression": _expression(task.owner),
        "categoryExpression": _expression(task.category),
        "descriptionExpression": _expression(task.documentation),
        "formResourceKey": task.form_key,
        "formProperties": {
            "deploymentId": definition.deployment_id,
            "formKey": _expression(task.form_key),
            "formPropertyHandlers": [
                _form_property(p, untyped_is_null=True) for p in task.form_properties
            ],
        },
    }


# --- queries ---------------------------------------------------------------------------------

#: filtered-query parameters compared for equality, and the record field each one reads
EQUAL_PARAMS = {
    "_id": "_id",
    "deploymentId": "deploymentId",
    "category": "category",
    "key": "key",
    "name": "name",
    "processDefinitionResourceName": "resourceName",
}
#: SQL LIKE parameters (``%`` any run, ``_`` one character), case-sensitive
LIKE_PARAMS = {
    "categoryLike": "category",
    "keyLike": "key",
    "nameLike": "name",
    "processDefinitionResourceNameLike": "resourceName",
}


def like_pattern(pattern: str) -> re.Pattern:
    """A regex for an SQL LIKE pattern (the whole value must match)."""
    parts = [".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern]
    return re.compile("".join(parts), re.DOTALL)


def _filtered_terms(request: CrestRequest) -> dict[str, Any]:
    """The filtered-query parameters as ``{record field: value}`` equality terms."""
    terms: dict[str, Any] = {}
    for param, field in EQUAL_PARAMS.items():
        value = request.param(param)
        if value is not None:
            terms[field] = value
    version = request.param("version")
    if version is not None:
        if not re.fullmatch(r"\s*[0-9]{1,9}\s*", version):
            raise BadRequest(f"The value '{version}' for parameter 'version' is not an integer")
        terms["version"] = int(version)
    return terms


def _filtered_predicate(request: CrestRequest) -> Callable[[dict], bool]:
    terms = _filtered_terms(request)
    likes = {
        field: like_pattern(request.param(param))
        for param, field in LIKE_PARAMS.items()
        if request.param(param) is not None
    }

    def predicate(item: dict) -> bool:
        if any(item.get(field) != value for field, value in terms.items()):
            return False
        return all(
            isinstance(item.get(field), str) and regex.fullmatch(item[field]) is not None
            for field, regex in likes.items()
        )

    return predicate


def _equalities(request: CrestRequest) -> dict[str, Any]:
    if request.query_filter is not None:
        return crest_filter.equality_terms(request.query_filter)
    if request.query_id == FILTERED_QUERY:
        return _filtered_terms(request)
    return {}


def _record(item: Any) -> dict:
    return dict(item.data)


def plan_fetch(store: Any, request: CrestRequest) -> Callable:
    """The cheapest read that holds every match: the deployment's Query for ``_id`` or
    ``deploymentId`` equality, the key's index range for ``key`` equality, else the whole
    ``kind-sort`` partition of definitions. The full filter is still applied to what it reads."""
    terms = _equalities(request)
    definition = terms.get("_id")
    if isinstance(definition, str) and repo.split_definition_id(definition):
        deployment_id = repo.split_definition_id(definition)[2]
        return repo.partition(
            store, repo.deployment_pk(deployment_id), repo.definition_sk(definition), _record
        )
    deployment_id = terms.get("deploymentId")
    if isinstance(deployment_id, str) and deployment_id:
        return repo.partition(
            store, repo.deployment_pk(deployment_id), repo.definition_sk(""), _record
        )
    key = terms.get("key")
    if isinstance(key, str) and key:
        return repo.listing(
            store, repo.PROCESS_DEFINITION, _record, key_range=repo.key_range_of_key(key)
        )
    return repo.listing(store, repo.PROCESS_DEFINITION, _record)


def query_source(
    container: Any, request: CrestRequest, visible: Callable[[dict], bool] | None
) -> QuerySource:
    """The ``QuerySource`` of ``processdefinition`` queries, planned for this request."""
    return QuerySource(
        fetch=plan_fetch(container.store, request),
        sortable=ITEM_FIELDS,
        filtered_query=_filtered_predicate,
        visible=visible,
    )
