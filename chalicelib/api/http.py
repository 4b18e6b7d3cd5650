"""HTTP glue between Chalice and the CREST resources.

``serve(request, resource, ids)`` is what every view calls. In order it: takes a correlation id,
authenticates the caller, parses the CREST request, authorizes the operation, dispatches to the
resource and renders the result. Every ``WorkflowError`` becomes a CREST error envelope here, in
one place (its status from ``api.errors``); any other exception is logged with its stack trace and
answered with a bare 500 envelope that carries the correlation id, never the trace.

``envelope_middleware`` rewrites the few errors Chalice produces before a view runs (415, 405,
its own 500) into the same envelope and logs one line per request: its fields (method, path,
status, ms, correlationId, caller, dynamodbRequests) as their own JSON keys, and the metrics
``RequestLatency`` and ``DynamoDBRequests`` in embedded metric format (``observability``).
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ..auth.rules import Gate
from ..crest import responses
from ..crest.enums import RequestType
from ..crest.fields import read_fields
from ..crest.request import CrestRequest, parse_request
from ..errors import ConcurrencyError, Forbidden, InternalError, WorkflowError
from ..limits import DEFAULT_LIMITS, Limits, check_response, response_fits
from ..observability import REQUEST_LOGGER, configure_logging, emit_metrics
from ..storage.ports import StorageError
from .errors import error_envelope, reason_for, status_of
from .resource import RequestContext, Resource, Result

if TYPE_CHECKING:  # Chalice is imported when a response is built, not with this module
    from chalice.app import MultiDict, Request, Response

    from ..auth.rules import Policy

    #: Chalice's header map (a header may repeat)
    Headers = dict[str, str | list[str]]

__all__ = [
    "serve",
    "envelope_middleware",
    "ALL_METHODS",
    "ANY_CONTENT",
    "correlation_id_of",
    "MAX_BODY_BYTES",
]

log = logging.getLogger("workflow.http")

#: Every method is registered on every route: CREST answers unsupported ones itself.
ALL_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]
#: Accept any request content type so that CREST (not Chalice) judges it.
ANY_CONTENT = ["*/*"]
#: Request bodies above this size are refused with 413 (API Gateway's own limit is 10 MB).
MAX_BODY_BYTES = 6 * 1024 * 1024

API_VERSION_HEADER = "Content-API-Version"
API_VERSION_VALUE = "protocol=2.1,resource=1.0"
PREFIX = "/openidm/"
WORKFLOW_ROOT = "/openidm/workflow"
#: the query parameter asking for the OpenAPI description (``api.openapi``)
API_PARAMETER = "_api"

#: what ``serve`` learns that the request line reports (the caller), per request
_request_fields: ContextVar[dict[str, Any] | None] = ContextVar("request_fields", default=None)


def correlation_id_of(headers: Mapping[str, str], context: Mapping[str, Any] | None) -> str:
    """The caller's ``X-Request-Id``, else API Gateway's request id, else a new id."""
    supplied = (headers.get("x-request-id") or "").strip()
    if supplied and len(supplied) <= 128 and supplied.isprintable():
        return supplied
    request_id = (context or {}).get("requestId")
    if request_id:
        return str(request_id)
    return uuid.uuid4().hex


def _resource_path(request: Request) -> str:
    """The resource path as CREST names it: ``workflow/processinstance/123`` (ids decoded).

    Chalice's ``request.path`` is the route template (``.../{id}``); the path variables fill it.
    """
    path = request.path or ""
    for name, value in (request.uri_params or {}).items():
        path = path.replace("{" + name + "}", value)
    if path.startswith(PREFIX):
        path = path[len(PREFIX) :]
    return unquote(path.rstrip("/"))


def serve(request: Request, resource: Resource, ids: Mapping[str, str] | None = None) -> Response:
    """Serve one CREST request on ``resource``; always returns a Chalice ``Response``."""
    from ..bootstrap import get_container

    headers: Mapping[str, str] = request.headers or {}
    correlation = correlation_id_of(headers, request.context)
    path = _resource_path(request)
    try:
        container = get_container()
        caller = container.authenticator.authenticate(
            dict(headers.items()), (request.context or {}).get("authorizer")
        )
        fields = _request_fields.get()
        if fields is not None:
            fields["caller"] = caller.user_id
        crest_request = parse_request(
            method=request.method,
            query_params=_multi(request.query_params),
            headers=dict(headers.items()),
            body=request.raw_body,
            max_page_size=container.settings.max_page_size,
            max_body_bytes=MAX_BODY_BYTES,
            content_types=getattr(resource, "content_types", ("application/json",)),
            limits=container.settings.limits,
        )
        if resource.describable and _wants_api(crest_request):
            from .openapi import describe_route

            route = (request.path or "").removeprefix(WORKFLOW_ROOT)
            return _render(Result(describe_route(route)), crest_request.pretty_print, correlation)
        decoded = {name: unquote(value) for name, value in (ids or {}).items()}
        ctx = RequestContext(
            caller=caller,
            request=crest_request,
            ids=decoded,
            path=path,
            container=container,
            correlation_id=correlation,
            resource=resource.name,
            headers={k.lower(): v for k, v in headers.items()},
        )
        gate = _gate(container.policy, ctx, resource)
        result = resource.dispatch(ctx)
        if gate is Gate.CHECK_SUBJECT and not ctx.subject_checked:
            raise InternalError(
                f"{type(resource).__name__} answered without checking the "
                f"caller against its item (correlation id {correlation})"
            )
        return _render(
            _read_result(result, crest_request),
            crest_request.pretty_print,
            correlation,
            container.settings.limits,
            crest_request.request_type,
        )
    except WorkflowError as exc:
        return _error(exc, correlation)
    except Exception:  # a bug: log it whole, answer without the trace
        log.exception("unhandled error serving %s %s [%s]", request.method, path, correlation)
        return _error(
            InternalError(f"Internal Server Error (correlation id {correlation})"), correlation
        )


def _wants_api(request: CrestRequest) -> bool:
    """``GET ...?_api``: the OpenAPI description (any authenticated caller may read it)."""
    return request.request_type is RequestType.READ and API_PARAMETER in (
        request.additional_parameter_lists
    )


def _gate(policy: Policy, ctx: RequestContext, resource: Resource) -> Gate:
    """The first authorization check, before the resource loads anything (403 at once)."""
    if not resource.authorize:
        return Gate.ALLOW
    gate = policy.gate(
        ctx.caller, resource.name, ctx.request.request_type, action=ctx.request.action
    )
    if gate is Gate.DENY:
        raise Forbidden()
    return gate


def _multi(query_params: MultiDict | None) -> dict[str, list[str]]:
    if not query_params:
        return {}
    return {name: list(query_params.getlist(name)) for name in query_params.keys()}


def _read_result(result: Result, request: CrestRequest) -> Result:
    """A READ answer as ``_fields`` shapes it: only those fields, or with ``_mimeType`` the one
    field's decoded value as the whole body, with that content type (the diagram download)."""
    if request.request_type is not RequestType.READ or result.raw or not request.fields:
        return result
    if request.mime_type:
        body = responses.field_download(result.body, request.fields[0], request.mime_type)
        headers = {**result.headers, "Content-Type": request.mime_type}
        return Result(body, status=result.status, headers=headers, raw=True)
    return Result(
        read_fields(result.body, request.fields),
        status=result.status,
        headers=result.headers,
    )


def _render(
    result: Result,
    pretty: bool,
    correlation: str,
    limits: Limits = DEFAULT_LIMITS,
    request_type: RequestType = RequestType.READ,
) -> Response:
    """The response of ``result``. A JSON body larger than ``limits.response_bytes`` (Lambda
    answers at most 6 MB) is ``LimitExceeded`` (400) for a read or query, which changed nothing
    (``_fields`` reads less); any other request has made its change, so it answers its
    ``_id``/``_rev`` only (logged)."""
    from chalice import Response

    headers: Headers = {
        API_VERSION_HEADER: API_VERSION_VALUE,
        "X-Request-Id": correlation,
        "Cache-Control": "no-cache",
    }
    headers.update(result.headers)
    if result.raw:
        return Response(body=result.body, status_code=result.status, headers=headers)
    headers.setdefault("Content-Type", "application/json;charset=utf-8")
    if result.status == 204:
        return Response(body="", status_code=204, headers=headers)
    body = responses.render_json(result.body, pretty=pretty)
    if not response_fits(body, limits):
        if request_type in (RequestType.READ, RequestType.QUERY):
            check_response(body, limits, result.body)
        log.warning("response of %d characters cut to its _id/_rev [%s]", len(body), correlation)
        body = responses.render_json(read_fields(result.body, [("_id",)]), pretty=pretty)
    return Response(body=body, status_code=result.status, headers=headers)


def _error(exc: WorkflowError, correlation: str) -> Response:
    from chalice import Response

    headers: Headers = {
        "Content-Type": "application/json;charset=utf-8",
        API_VERSION_HEADER: API_VERSION_VALUE,
        "X-Request-Id": correlation,
        "Cache-Control": "no-cache",
    }
    status = status_of(exc)
    if isinstance(exc, (ConcurrencyError, StorageError)):  # its detail stays in the log
        log.info("%s [%s]: %s %s", type(exc).__name__, correlation, exc.message, exc.detail)
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="openidm"'
    return Response(body=json.dumps(error_envelope(exc)), status_code=status, headers=headers)


def envelope_middleware(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """Log one line per request and rewrite Chalice's own error bodies as CREST envelopes."""
    from chalice import Response

    from ..aws import counting

    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):  # make run and the workers configure theirs
        configure_logging(os.environ.get("LOG_LEVEL", "INFO"))
    started = time.perf_counter()
    fields: dict[str, Any] = {}
    token = _request_fields.set(fields)
    try:
        with counting(current_thread_only=True) as counter:
            response = get_response(event)
    finally:
        _request_fields.reset(token)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body:
        code = response.status_code
        message = body.get("Message") or reason_for(code)
        if code == 500:  # Chalice caught something: never pass its text on
            message = "Internal Server Error"
        response = Response(
            status_code=code,
            body=json.dumps({"code": code, "reason": reason_for(code), "message": message}),
            headers={
                "Content-Type": "application/json;charset=utf-8",
                API_VERSION_HEADER: API_VERSION_VALUE,
            },
        )
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    headers = response.headers or {}
    path = PREFIX + _resource_path(event)
    correlation = headers.get("X-Request-Id", "-")
    dynamodb = counter.total("dynamodb")
    emit_metrics(
        f"{event.method} {path} {response.status_code} {elapsed_ms:.1f}ms [{correlation}]",
        {"RequestLatency": elapsed_ms, "DynamoDBRequests": dynamodb},
        logger=REQUEST_LOGGER,
        keep_zero=True,
        method=event.method,
        path=path,
        status=response.status_code,
        ms=elapsed_ms,
        correlationId=correlation,
        caller=fields.get("caller"),
        dynamodbRequests=dynamodb,
    )
    return response
