"""Deployed process definitions as the API shows them: read, diagram, task definitions, and
the ``processdefinition`` query (api-reference.md §3.2, §8).

``DeployedDefinition`` and ``get_definition`` (``cache``) are re-exported for the
``processdefinition`` routes, which read a definition and then shape it.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ...crest import filter as crest_filter
from ...crest.like import LikePattern
from ...crest.request import CrestRequest
from ...errors import BadRequest, NotFound
from ...storage.ports import Item, ItemStore
from ..container import Services
from ..querying import FILTERED_QUERY, QuerySource
from ..repositories import definitions as repo
from ..repositories.definitions import load_deployment
from .cache import DeployedDefinition, get_definition
from .naming import record_of

if TYPE_CHECKING:
    from ...engine.elements import UserTask
    from ...engine.parts import FormProperty

__all__ = [
    "DeployedDefinition",
    "get_definition",
    "query_source",
    "read_shape",
    "diagram",
    "task_definitions",
    "task_definition",
    "plan_fetch",
    "ITEM_FIELDS",
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
    container: Services, definition: DeployedDefinition, active: Iterable[str] | None = None
) -> str | None:
    """The ``diagram`` field: a base64 PNG, or None when there is nothing to show.

    Without ``active`` (the definition's own diagram) the deployment's diagram resource
    (``processDiagramResourceName``) is sent as it is, as IDM does (one Query). Otherwise, or
    without such a resource, the PNG is rendered from the BPMN diagram interchange with the
    ``active`` activities highlighted; no diagram interchange gives None (DECISIONS.md).
    """
    from ...engine.diagram import render_definition

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


def _task_shape(definition: DeployedDefinition, task: UserTask) -> dict[str, Any]:
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
        field: LikePattern(pattern)
        for param, field in LIKE_PARAMS.items()
        if (pattern := request.param(param)) is not None
    }

    def predicate(item: dict) -> bool:
        if any(item.get(field) != value for field, value in terms.items()):
            return False
        return all(
            isinstance(item.get(field), str) and like.matches(item[field])
            for field, like in likes.items()
        )

    return predicate


def _equalities(request: CrestRequest) -> dict[str, Any]:
    if request.query_filter is not None:
        return crest_filter.equality_terms(request.query_filter)
    if request.query_id == FILTERED_QUERY:
        return _filtered_terms(request)
    return {}


def _record(item: Item) -> dict:
    return record_of(item.data)


def plan_fetch(store: ItemStore, request: CrestRequest) -> Callable:
    """The cheapest read that holds every match: the deployment's Query for ``_id`` or
    ``deploymentId`` equality, the key's index range for ``key`` equality, else the whole
    ``kind-sort`` partition of definitions. The full filter is still applied to what it reads."""
    terms = _equalities(request)
    definition = terms.get("_id")
    parts = repo.split_definition_id(definition) if isinstance(definition, str) else None
    if isinstance(definition, str) and parts:
        return repo.partition(
            store, repo.deployment_pk(parts[2]), repo.definition_sk(definition), _record
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
    container: Services, request: CrestRequest, visible: Callable[[dict], bool] | None
) -> QuerySource:
    """The ``QuerySource`` of ``processdefinition`` queries, planned for this request."""
    return QuerySource(
        fetch=plan_fetch(container.store, request),
        sortable=ITEM_FIELDS,
        filtered_query=_filtered_predicate,
        visible=visible,
    )
