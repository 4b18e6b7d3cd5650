"""The OpenAPI 3 description of the 53 routes, served for ``GET /openidm/workflow?_api`` (and
``GET <route>?_api``: the part about that route and those below it, as CREST answers).

``OPERATIONS`` is the seed's route table as data, one row per route (``docs/status.md``); the
description is built from it on the first ``?_api`` request and kept (``describe``), so neither
this table's walk nor JSON building costs an import. ``tests/unit/api/test_openapi.py`` checks
it against the routes Chalice registers and the operations each resource defines.

CREST serves several operations on one path and method (``POST execution?_action=message``,
``?_action=signal``): as CREST's own OpenAPI transformer does, each gets its own path key with
a fragment naming it (``/openidm/workflow/execution#_action_message``); the part before ``#``
is the route.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

#: ``routing.WORKFLOW`` (not imported: ``http`` imports this module, ``routing`` imports ``http``)
WORKFLOW = "/openidm/workflow"

__all__ = ["Operation", "OPERATIONS", "FILTERS", "describe", "describe_route", "path_key"]

QUERY_FILTER = "queryFilter"
QUERY_ID = "queryId"


@dataclass(frozen=True)
class Operation:
    """One route of the seed's table: ``method path`` plus the CREST operation it names."""

    number: int
    method: str  # GET, POST, PUT, DELETE
    path: str  # below /openidm/workflow, with this project's variable names
    kind: str  # query, read, create, update, delete, action
    summary: str
    detail: str = ""  # the action name, or the query id (``queryFilter`` for _queryFilter)
    body: tuple[str, ...] = ()  # documented request body fields


Op = Operation
OPERATIONS: tuple[Operation, ...] = (
    Op(1, "POST", "/execution", "action", "Invoke a message event", "message",
      ("messageName", "executionId", "processInstanceId", "businessKey", "processVariables")),
    Op(2, "POST", "/execution", "action", "Invoke a signal event (a broadcast without executionId)",
      "signal", ("signalName", "executionId", "processVariables")),
    Op(3, "POST", "/execution", "action", "Trigger a waiting execution", "trigger",
      ("executionId", "processVariables", "transientVariables")),
    Op(4, "GET", "/execution", "query", "Query executions", QUERY_FILTER),
    Op(5, "GET", "/execution", "query", "Executions by filter parameters", "filtered-query"),
    Op(6, "GET", "/job", "query", "Query jobs", QUERY_FILTER),
    Op(7, "GET", "/job", "query", "Jobs by filter parameters", "filtered-query"),
    Op(8, "GET", "/job/deadletter", "query", "Query dead-letter jobs", QUERY_FILTER),
    Op(9, "GET", "/job/deadletter", "query", "Dead-letter jobs by filter parameters",
      "filtered-query"),
    Op(10, "POST", "/job/deadletter/{sub}", "action", "Execute a dead-letter job", "execute"),
    Op(11, "POST", "/job/deadletter/{sub}", "action", "A dead-letter job's stack trace",
      "stacktrace"),
    Op(12, "DELETE", "/job/deadletter/{sub}", "delete", "Delete a dead-letter job"),
    Op(13, "GET", "/job/deadletter/{sub}", "read", "Read a dead-letter job"),
    Op(14, "POST", "/job/{id}", "action", "Execute a job now, even if suspended", "execute"),
    Op(15, "POST", "/job/{id}", "action", "A job's stack trace", "stacktrace"),
    Op(16, "DELETE", "/job/{id}", "delete", "Delete a job"),
    Op(17, "GET", "/job/{id}", "read", "Read a job"),
    Op(18, "POST", "/model", "action", "Validate BPMN 2.0 XML", "validate_bpmn", ("bpmnXML",)),
    Op(19, "POST", "/model", "create", "Create a model (no bpmnXML: a template)", "",
      ("name", "bpmnXML", "resourceMap")),
    Op(20, "GET", "/model", "query", "Query models (without bpmnXML and resourceMap)",
      QUERY_FILTER),
    Op(21, "POST", "/model/{id}", "action", "Deploy a model", "deploy"),
    Op(22, "POST", "/model/{id}", "action", "Process definition ids of a model's deployments",
      "list_deployments"),
    Op(23, "DELETE", "/model/{id}", "delete", "Delete a model"),
    Op(24, "GET", "/model/{id}", "read", "Read a model"),
    Op(25, "PUT", "/model/{id}", "update", "Update a model", "", ("name", "bpmnXML", "resourceMap")),
    Op(26, "GET", "/processdefinition", "query", "Query process definitions", QUERY_FILTER),
    Op(27, "GET", "/processdefinition", "query", "Process definitions by filter parameters",
      "filtered-query"),
    Op(28, "DELETE", "/processdefinition/{id}", "delete", "Delete a process definition"),
    Op(29, "GET", "/processdefinition/{id}", "read", "Read a process definition with its form"),
    Op(30, "GET", "/processdefinition/{id}/taskdefinition", "query", "Query task definitions",
      QUERY_FILTER),
    Op(31, "GET", "/processdefinition/{id}/taskdefinition/{subid}", "read",
      "Read a task definition"),
    Op(32, "POST", "/processinstance", "create", "Start a process instance", "",
      ("_key", "_processDefinitionId", "_businessKey")),
    Op(33, "GET", "/processinstance", "query", "Query process instances", QUERY_FILTER),
    Op(34, "GET", "/processinstance", "query", "Process instances by filter parameters",
      "filtered-query"),
    Op(35, "GET", "/processinstance/history", "query", "Query process instance history",
      QUERY_FILTER),
    Op(36, "GET", "/processinstance/history", "query", "Process instance history by filter",
      "filtered-query"),
    Op(37, "DELETE", "/processinstance/history/{sub}", "delete",
      "Delete an ended instance's history"),
    Op(38, "GET", "/processinstance/history/{sub}", "read", "Read process instance history"),
    Op(39, "POST", "/processinstance/{id}", "action", "Migrate a process instance", "migrate",
      ("processDefinitionId", "activityMappings")),
    Op(40, "POST", "/processinstance/{id}", "action", "Simulate a migration", "validateMigration",
      ("processDefinitionId", "activityMappings")),
    Op(41, "DELETE", "/processinstance/{id}", "delete", "Cancel a process instance"),
    Op(42, "GET", "/processinstance/{id}", "read", "Read a process instance"),
    Op(43, "GET", "/taskinstance", "query", "Query task instances", QUERY_FILTER),
    Op(44, "GET", "/taskinstance", "query", "Task instances by filter parameters",
      "filtered-query"),
    Op(45, "GET", "/taskinstance", "query", "Unassigned tasks the caller may take",
      "unassignedTaskQuery"),
    Op(46, "GET", "/taskinstance/history", "query", "Query task history", QUERY_FILTER),
    Op(47, "GET", "/taskinstance/history", "query", "Task history by filter parameters",
      "filtered-query"),
    Op(48, "GET", "/taskinstance/history/{sub}", "read", "Read a historic task"),
    Op(49, "POST", "/taskinstance/{id}", "action", "Claim a task for a user", "claim",
      ("userId",)),
    Op(50, "POST", "/taskinstance/{id}", "action", "Complete a task (fields become variables)",
      "complete"),
    Op(51, "DELETE", "/taskinstance/{id}", "delete", "Delete a task instance"),
    Op(52, "GET", "/taskinstance/{id}", "read", "Read a task instance"),
    Op(53, "PUT", "/taskinstance/{id}", "update", "Update a task instance", "",
      ("assignee", "description", "name", "owner", "priority", "category", "dueDate")),
)  # fmt: skip
del Op

_JOB_FILTERS = (
    "jobId processDefinitionId processInstanceId executionId timersOnly messagesOnly "
    "withException exceptionMessage dueAfter dueBefore"
)
_INSTANCE_FILTERS = (
    "processDefinitionId processDefinitionKey processInstanceBusinessKey processInstanceId "
    "superProcessInstanceId finished unfinished involvedUserId startUserId startedAfter "
    "startedBefore"
)
#: the filter parameters of each ``filtered-query``, as the seed's table lists them
FILTERS: dict[str, tuple[str, ...]] = {
    path: tuple(names.split())
    for path, names in {
        "/execution": "executionId executionParentId processDefinitionCategory "
        "processDefinitionId processDefinitionKey processDefinitionName processDefinitionVersion "
        "processInstanceBusinessKey processInstanceId activityId signalName messageName "
        "startedBefore startedAfter startedBy processVariableName processVariableValue "
        "processVariableValueType processVariableOperator variableName variableValue "
        "variableValueType variableOperator",
        "/job": _JOB_FILTERS,
        "/job/deadletter": _JOB_FILTERS,
        "/processdefinition": "version deploymentId category key name "
        "processDefinitionResourceName",
        "/processinstance": _INSTANCE_FILTERS,
        "/processinstance/history": _INSTANCE_FILTERS,
        "/taskinstance": "executionId processDefinitionId processDefinitionKey processInstanceId "
        "assignee taskCandidateGroup taskCandidateUser name owner description priority "
        "unassigned",
        "/taskinstance/history": "executionId processDefinitionId processDefinitionKey "
        "processInstanceId assignee taskCandidateGroup taskCandidateUser taskId taskName owner "
        "description finished unfinished processFinished processUnfinished priority "
        "deleteReason",
    }.items()
}

#: The API descriptor itself (not a route of the table).
DESCRIPTOR_PATH = ""

_ERROR = {"$ref": "#/components/responses/Error"}
_PAGING = ("_pageSize", "_pagedResultsOffset", "_pagedResultsCookie", "_totalPagedResultsPolicy")


def path_key(op: Operation) -> str:
    """The OpenAPI path key of ``op``: its route, with a fragment where CREST shares it."""
    route = WORKFLOW + op.path
    if op.kind == "action":
        return f"{route}#_action_{op.detail}"
    if op.kind == "query":
        return f"{route}#_query_{'filter' if op.detail == QUERY_FILTER else 'id_' + op.detail}"
    return route


def _param(name: str, where: str, description: str, **schema: Any) -> dict[str, Any]:
    required = where == "path" or bool(schema.pop("required", False))
    return {
        "name": name,
        "in": where,
        "required": required,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def _parameters(op: Operation) -> list[dict[str, Any]]:
    params = [
        _param(name.strip("{}"), "path", "an id (percent-encoded)")
        for name in op.path.split("/")
        if name.startswith("{")
    ]
    params.append({"$ref": "#/components/parameters/AcceptApiVersion"})
    params.append({"$ref": "#/components/parameters/RequestId"})
    if op.kind == "action":
        params.append(
            _param("_action", "query", "the action", type="string", enum=[op.detail], required=True)
        )
    elif op.kind == "query":
        if op.detail == QUERY_FILTER:
            params.append(_param("_queryFilter", "query", "a CREST query filter", required=True))
        else:
            params.append(_param("_queryId", "query", "the query", enum=[op.detail], required=True))
            if op.detail == "filtered-query":
                params += [_param(name, "query", "filter parameter") for name in FILTERS[op.path]]
                params.append(
                    {
                        "name": "variables",
                        "in": "query",
                        "style": "form",
                        "explode": True,
                        "description": "var-<name>=<value>: a process variable equal to a value "
                        "(processinstance; docs/api-notes.md)",
                        "schema": {"type": "object", "additionalProperties": {"type": "string"}},
                    }
                )
        params += [{"$ref": f"#/components/parameters/{name}"} for name in _PAGING]
        params.append({"$ref": "#/components/parameters/_sortKeys"})
    if op.kind in ("read", "query"):
        params.append({"$ref": "#/components/parameters/_fields"})
    if op.kind in ("update", "delete") and op.path.startswith(("/model", "/taskinstance")):
        params.append(_param("If-Match", "header", "the ETag, or *"))
    if op.kind == "delete" and op.path == "/processinstance/{id}":
        params.append(_param("deleteReason", "query", "kept in the instance's history"))
    if op.kind in ("action", "create") and op.path in ("/execution", "/processinstance"):
        params.append(
            _param(
                "Idempotency-Key",
                "header",
                "a retry with the same key and body gets the same answer",
            )
        )
    params.append({"$ref": "#/components/parameters/_prettyPrint"})
    return params


def _operation(op: Operation) -> dict[str, Any]:
    ok = "201" if op.kind == "create" else "200"
    body: dict[str, Any] = {"type": "object", "additionalProperties": True}
    if op.kind == "query":
        body = {"$ref": "#/components/schemas/QueryResult"}
    responses: dict[str, Any] = {
        ok: {"description": "success", "content": {"application/json": {"schema": body}}},
    }
    for status in ("400", "401", "403", "404", "500"):
        responses[status] = _ERROR
    if op.kind in ("update", "delete", "action", "create"):
        responses["409"] = _ERROR
    if op.kind in ("update", "delete"):
        responses["412"] = _ERROR
    entry: dict[str, Any] = {
        "operationId": f"route{op.number}",
        "summary": op.summary,
        "description": f"Route {op.number} of the seed's table.",
        "tags": [op.path.split("/")[1]],
        "parameters": _parameters(op),
        "responses": responses,
    }
    if op.method in ("POST", "PUT"):
        properties: dict[str, Any] = {name: {} for name in op.body}
        media = "application/json"
        schema: dict[str, Any] = {
            "type": "object",
            "properties": properties,
            "additionalProperties": True,
        }
        content = {media: {"schema": schema}}
        if op.detail == "validate_bpmn":
            content["application/xml"] = {"schema": {"type": "string"}}
        entry["requestBody"] = {"required": op.kind in ("create", "update"), "content": content}
    return entry


def _components() -> dict[str, Any]:
    def ref_param(name: str, description: str, **schema: Any) -> dict[str, Any]:
        return _param(name, "query", description, **schema)

    return {
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["code", "reason", "message"],
                "properties": {
                    "code": {"type": "integer"},
                    "reason": {"type": "string"},
                    "message": {"type": "string"},
                    "detail": {"type": "object"},
                },
            },
            "QueryResult": {
                "type": "object",
                "properties": {
                    "result": {"type": "array", "items": {"type": "object"}},
                    "resultCount": {"type": "integer"},
                    "pagedResultsCookie": {"type": "string", "nullable": True},
                    "totalPagedResultsPolicy": {"type": "string"},
                    "totalPagedResults": {"type": "integer"},
                    "remainingPagedResults": {"type": "integer"},
                },
            },
        },
        "responses": {
            "Error": {
                "description": "a CREST error envelope (its code is the HTTP status)",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
        },
        "parameters": {
            "AcceptApiVersion": _param(
                "Accept-API-Version", "header", "resource=1.0 (protocol up to 2.1)"
            ),
            "RequestId": _param("X-Request-Id", "header", "correlation id, echoed back"),
            "_pageSize": ref_param("_pageSize", "page size", type="integer"),
            "_pagedResultsOffset": ref_param("_pagedResultsOffset", "offset", type="integer"),
            "_pagedResultsCookie": ref_param("_pagedResultsCookie", "the previous page's cookie"),
            "_totalPagedResultsPolicy": ref_param(
                "_totalPagedResultsPolicy", "count policy", enum=["NONE", "ESTIMATE", "EXACT"]
            ),
            "_sortKeys": ref_param("_sortKeys", "comma-separated fields, - for descending"),
            "_fields": ref_param("_fields", "comma-separated fields to return"),
            "_prettyPrint": ref_param("_prettyPrint", "indent the JSON", type="boolean"),
        },
        "securitySchemes": {
            "username": {"type": "apiKey", "in": "header", "name": "X-OpenIDM-Username"},
            "password": {"type": "apiKey", "in": "header", "name": "X-OpenIDM-Password"},
            "basic": {"type": "http", "scheme": "basic"},
            "cognito": {"type": "apiKey", "in": "header", "name": "Authorization"},
        },
    }


@functools.cache
def describe() -> dict[str, Any]:
    """The OpenAPI 3.0 document (built once per process; callers must not change it)."""
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(path_key(op), {})[op.method.lower()] = _operation(op)
    paths[WORKFLOW + DESCRIPTOR_PATH + "#_api"] = {
        "get": {
            "operationId": "api",
            "summary": "This description (query parameter _api; on a route: its part)",
            "tags": ["workflow"],
            "parameters": [_param("_api", "query", "present", required=True)],
            "responses": {
                "200": {"description": "OpenAPI 3.0", "content": {"application/json": {}}},
                "401": _ERROR,
            },
        }
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "PingIDM workflow (re-implementation)",
            "version": "1.0",
            "description": "The 53 routes of /openidm/workflow; errors are CREST envelopes.",
        },
        "servers": [{"url": "/"}],
        "security": [{"username": [], "password": []}, {"basic": []}, {"cognito": []}],
        "paths": paths,
        "components": _components(),
    }


@functools.cache
def describe_route(route: str) -> dict[str, Any]:
    """The part of ``describe()`` about ``route`` (a route template below /openidm/workflow,
    ``/processinstance`` say) and the routes below it; ``""`` is the whole document."""
    whole = describe()
    if not route:
        return whole
    full = WORKFLOW + route
    paths = {
        key: item
        for key, item in whole["paths"].items()
        if (base := key.split("#", 1)[0]) == full or base.startswith(full + "/")
    }
    return {**whole, "paths": paths}
