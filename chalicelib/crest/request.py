"""Parse an HTTP request into a CREST request (api-reference.md §4.1, §4.2, §4.7, §4.9).

Input is plain data (method, query parameters, headers, body), so the HTTP layer stays a thin
translation and every rule here is tested without a framework.

Choices made where the sources are silent (all tested):

* Reserved parameters other than ``_fields`` and ``_sortKeys`` are single-valued; repeating one
  (in any letter case) is a 400 naming it.
* ``_pageSize`` and ``_pagedResultsOffset`` must be integers in ``0..2**31-1`` (else 400 naming
  the parameter). A page size above the server maximum is clamped to it; the query then pages
  with a cookie (DECISIONS.md).
* ``_mimeType`` is only for a read with exactly one ``_fields`` entry; otherwise 400.
* ``_crestapi`` (API descriptors) is not supported: 501.
* A body without a ``Content-Type`` header is read as JSON (as CREST does). Bodies of GET are
  ignored. An empty body is ``{}``.
* The wrong content type is a 400 whose message lists the types this call accepts (CREST's text
  also names multipart/form-data, which we do not accept).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote

from ..errors import BadRequest, Conflict, NotSupported, PayloadTooLarge, PreconditionFailed
from ..limits import DEFAULT_LIMITS, Limits, check_depth
from .charset import decode_body
from .enums import CountPolicy, RequestType
from .fields import parse_fields
from .filter import Node
from .filter import parse as parse_filter
from .paging import DEFAULT_MAX_PAGE_SIZE, SortKey, parse_sort_keys
from .pointer import Segments

__all__ = [
    "ApiVersion",
    "CrestRequest",
    "parse_request",
    "parse_api_version",
    "decode_path_id",
    "MAX_INT",
]

MAX_INT = 2**31 - 1
JSON = "application/json"

_RESERVED = {
    name.lower(): name
    for name in (
        "_action",
        "_queryId",
        "_queryFilter",
        "_queryExpression",
        "_pageSize",
        "_pagedResultsOffset",
        "_pagedResultsCookie",
        "_totalPagedResultsPolicy",
        "_sortKeys",
        "_fields",
        "_prettyPrint",
        "_mimeType",
        "_crestapi",
    )
}
_REPEATABLE = {"_fields", "_sortKeys"}
_QUERY_PARAMS = ("_queryId", "_queryExpression", "_queryFilter")
_VERSION_PART = re.compile(r"\s*(resource|protocol)=(\d+)(?:\.(\d+))?\s*", re.IGNORECASE)
_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class ApiVersion:
    """The versions requested by ``Accept-API-Version`` (defaults: resource 1.0, protocol 2.1)."""

    resource: tuple[int, int] = (1, 0)
    protocol: tuple[int, int] = (2, 1)


@dataclass(frozen=True)
class CrestRequest:
    """A parsed CREST request. ``page_size`` 0 means "not given" (all, up to the maximum)."""

    method: str
    request_type: RequestType
    action: str | None = None
    query_filter: Node | None = None
    query_id: str | None = None
    query_expression: str | None = None
    page_size: int = 0
    paged_results_offset: int = 0
    paged_results_cookie: str | None = None
    total_paged_results_policy: CountPolicy = CountPolicy.NONE
    sort_keys: tuple[SortKey, ...] = ()
    fields: tuple[Segments, ...] = ()
    pretty_print: bool = False
    mime_type: str | None = None
    version: ApiVersion = ApiVersion()
    if_match: str | None = None
    if_none_match: str | None = None
    #: PUT without If-Match/If-None-Match: CREST would create, then update if that gives 412.
    upsert: bool = False
    #: Parsed JSON body ({} when empty); None for GET and for non-JSON content types.
    content: Any = None
    #: The body text when the content type is an allowed non-JSON type (application/xml).
    raw_content: str | None = None
    content_type: str | None = None
    #: Non-reserved parameters, every value in order (filtered-query parameters arrive here).
    additional_parameter_lists: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )

    @property
    def additional_parameters(self) -> dict[str, str]:
        """Non-reserved parameters with their last value."""
        return {name: values[-1] for name, values in self.additional_parameter_lists.items()}

    def param(self, name: str, default: str | None = None) -> str | None:
        """The last value of the additional parameter ``name`` (case-sensitive)."""
        values = self.additional_parameter_lists.get(name)
        return values[-1] if values else default

    def getlist(self, name: str) -> tuple[str, ...]:
        """Every value of the additional parameter ``name``."""
        return self.additional_parameter_lists.get(name, ())


def parse_request(
    method: str,
    query_params: Mapping[str, str | Sequence[str]] | None = None,
    headers: Mapping[str, str] | None = None,
    body: bytes | str | None = None,
    *,
    max_page_size: int = DEFAULT_MAX_PAGE_SIZE,
    max_body_bytes: int | None = None,
    content_types: Collection[str] = (JSON,),
    require_object: bool = True,
    limits: Limits = DEFAULT_LIMITS,
) -> CrestRequest:
    """Parse one HTTP request into a :class:`CrestRequest`.

    Parameters
    ----------
    method, query_params, headers, body:
        The HTTP request. Query values may be a string or a list of strings; header names are
        matched case-insensitively.
    max_page_size:
        The server maximum; a larger ``_pageSize`` is clamped to it.
    max_body_bytes:
        A larger body raises ``PayloadTooLarge`` (413).
    content_types:
        Media types accepted for a non-empty body; add ``application/xml`` for actions that
        take XML (the body is then left in ``raw_content``).
    require_object:
        Whether create, update and action bodies must be JSON objects.
    limits:
        A JSON body nested deeper than ``limits.json_depth`` is a 400 naming the limit.

    Raises
    ------
    BadRequest, PreconditionFailed, Conflict, NotSupported, PayloadTooLarge
        As listed in the module docstring and api-reference.md §4.
    """
    header = {name.lower(): value for name, value in (headers or {}).items()}
    method = method.upper()
    override = header.get("x-http-method-override", "").strip().upper()
    if method == "POST" and override:
        method = override
    if method not in ("GET", "POST", "PUT", "DELETE", "PATCH"):
        raise NotSupported(f"The HTTP method {method} is not supported")
    version = parse_api_version(header.get("accept-api-version"))
    for name in ("If-Modified-Since", "If-Unmodified-Since"):
        if name.lower() in header:
            raise Conflict(f"Header {name} not supported")

    reserved, additional = _split_params(query_params)
    options = _parse_reserved(reserved, max_page_size)
    if_match = _etag(header.get("if-match"))
    if_none_match = _etag(header.get("if-none-match"))
    request_type, upsert = _request_type(method, reserved, if_match, if_none_match, version)
    _check_preconditions(request_type, method, if_match, if_none_match)
    if options["mime_type"] and (request_type != RequestType.READ or len(options["fields"]) != 1):
        raise BadRequest(
            "The parameter _mimeType requires a read request with exactly one _fields value"
        )

    content, raw_content, content_type = None, None, header.get("content-type")
    if method != "GET":
        content, raw_content = _parse_body(
            body, content_type, request_type, max_body_bytes, content_types, require_object
        )
        check_depth(content, limits, "request body")
    action = options.pop("action")
    return CrestRequest(
        method=method,
        request_type=request_type,
        action=action if request_type == RequestType.ACTION else None,
        version=version,
        if_match=if_match,
        if_none_match=if_none_match,
        upsert=upsert,
        content=content,
        raw_content=raw_content,
        content_type=content_type,
        additional_parameter_lists=MappingProxyType(additional),
        **options,
    )


def parse_api_version(value: str | None) -> ApiVersion:
    """Parse ``Accept-API-Version`` (``resource=1.0``, ``protocol=2.1``, both in either order).

    Raises ``BadRequest`` when malformed, when the resource major version is not 1 and when the
    protocol version is above 2.1 (``Unsupported major version: …`` / ``minor``).
    """
    if value is None or not value.strip():
        return ApiVersion()
    found: dict[str, tuple[int, int]] = {}
    for part in value.split(","):
        match = _VERSION_PART.fullmatch(part)
        if match is None or match.group(1).lower() in found:
            raise BadRequest(f"Malformed header Accept-API-Version: '{value}'")
        found[match.group(1).lower()] = (int(match.group(2)), int(match.group(3) or 0))
    resource = found.get("resource", (1, 0))
    protocol = found.get("protocol", (2, 1))
    if resource[0] != 1:
        raise BadRequest(
            f"Unsupported resource version {resource[0]}.{resource[1]}: the "
            "supported version is resource=1.0"
        )
    if protocol[0] not in (1, 2):
        raise BadRequest(f"Unsupported major version: {protocol[0]}.{protocol[1]}")
    if protocol[0] == 2 and protocol[1] > 1:
        raise BadRequest(f"Unsupported minor version: {protocol[0]}.{protocol[1]}")
    return ApiVersion(resource, protocol)


def decode_path_id(segment: str) -> str:
    """Percent-decode one path segment, once (``a%3A1%3A5`` -> ``a:1:5``; ``+`` stays ``+``)."""
    try:
        return unquote(segment, errors="strict")
    except UnicodeDecodeError:
        raise BadRequest(
            f"The resource id '{segment}' is not valid percent-encoded UTF-8"
        ) from None


# --------------------------------------------------------------------------------------------


def _split_params(query_params) -> tuple[dict[str, list[str]], dict[str, tuple[str, ...]]]:
    """Reserved parameters by canonical name (case-insensitive match) and the others as given."""
    reserved: dict[str, list[str]] = {}
    additional: dict[str, tuple[str, ...]] = {}
    for name, raw in (query_params or {}).items():
        values = [raw] if isinstance(raw, str) else list(raw)
        canonical = _RESERVED.get(name.lower())
        if canonical is None:
            additional[name] = additional.get(name, ()) + tuple(values)
        else:
            reserved.setdefault(canonical, []).extend(values)
    for name, values in reserved.items():
        if name not in _REPEATABLE and len(values) > 1:
            raise BadRequest(
                f"The parameter {name} is single-valued but {len(values)} values were provided"
            )
    return reserved, additional


def _parse_reserved(reserved: dict[str, list[str]], max_page_size: int) -> dict[str, Any]:
    def one(name: str) -> str | None:
        return reserved[name][0] if name in reserved else None

    present = [name for name in _QUERY_PARAMS if name in reserved]
    if len(present) > 1:
        raise BadRequest(f"The parameters {present[0]} and {present[1]} are mutually exclusive")
    filter_text = one("_queryFilter")
    page_size = _int_param("_pageSize", one("_pageSize"))
    offset = _int_param("_pagedResultsOffset", one("_pagedResultsOffset"))
    cookie = one("_pagedResultsCookie") or None
    if offset > 0 and cookie:
        raise BadRequest(
            "The parameters _pagedResultsOffset and _pagedResultsCookie are mutually exclusive"
        )
    if "_crestapi" in reserved:
        raise NotSupported("API descriptors (_crestapi) are not supported")
    return {
        "action": one("_action"),
        "query_filter": parse_filter(filter_text) if filter_text is not None else None,
        "query_id": one("_queryId"),
        "query_expression": one("_queryExpression"),
        "page_size": min(page_size, max_page_size),
        "paged_results_offset": offset,
        "paged_results_cookie": cookie,
        "total_paged_results_policy": _count_policy(one("_totalPagedResultsPolicy")),
        "sort_keys": parse_sort_keys(reserved.get("_sortKeys", [])),
        "fields": parse_fields(reserved.get("_fields", [])),
        "pretty_print": _bool_param("_prettyPrint", one("_prettyPrint")),
        "mime_type": one("_mimeType") or None,
    }


def _int_param(name: str, value: str | None) -> int:
    if value is None or value == "":
        return 0
    text = value.strip()
    if not _DIGITS.fullmatch(text) or int(text) > MAX_INT:
        raise BadRequest(
            f"The value '{value}' for parameter '{name}' is not an integer between 0 and {MAX_INT}"
        )
    return int(text)


def _count_policy(value: str | None) -> CountPolicy:
    if value is None:
        return CountPolicy.NONE
    try:
        return CountPolicy(value.strip().upper())
    except ValueError:
        raise BadRequest(
            f"The value '{value}' for parameter '_totalPagedResultsPolicy' could "
            "not be parsed as a valid count policy"
        ) from None


def _bool_param(name: str, value: str | None) -> bool:
    if value is None:
        return False
    if value.strip().lower() not in ("true", "false"):
        raise BadRequest(
            f"The value '{value}' for parameter '{name}' could not be parsed as a boolean"
        )
    return value.strip().lower() == "true"


def _etag(value: str | None) -> str | None:
    """Header value without surrounding double quotes; None when absent or empty."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def _request_type(
    method: str,
    reserved: Mapping[str, list[str]],
    if_match: str | None,
    if_none_match: str | None,
    version: ApiVersion,
) -> tuple[RequestType, bool]:
    """CREST ``HttpUtils.determineRequestType``; the flag is the PUT create-or-update case."""
    if method == "GET":
        is_query = any(name in reserved for name in _QUERY_PARAMS)
        return (RequestType.QUERY if is_query else RequestType.READ), False
    if method == "POST":
        action = reserved["_action"][0] if "_action" in reserved else None
        if action == "create" or (action is None and version.protocol >= (2, 1)):
            return RequestType.CREATE, False
        if action is None:
            raise BadRequest("The parameter _action is required")
        return RequestType.ACTION, False
    if method == "PUT":
        if if_none_match is not None:
            if if_none_match != "*":
                raise BadRequest(
                    f'"{if_none_match}" is not a supported value for If-None-Match on PUT'
                )
            return RequestType.CREATE, False
        if if_match is not None or version.protocol < (2, 0):
            return RequestType.UPDATE, False
        return RequestType.UPDATE, True
    if method == "DELETE":
        return RequestType.DELETE, False
    return RequestType.PATCH, False


def _check_preconditions(
    request_type: RequestType, method: str, if_match: str | None, if_none_match: str | None
) -> None:
    if request_type == RequestType.QUERY:
        if if_match is not None:
            raise PreconditionFailed("If-Match not supported for GET requests")
        if if_none_match is not None:
            raise PreconditionFailed("If-None-Match not supported for GET requests")
    if request_type == RequestType.READ:
        if if_match is not None:
            raise PreconditionFailed("If-Match not supported for read requests")
        if if_none_match == "*":
            raise PreconditionFailed("If-None-Match: * not supported for read requests")


def _parse_body(
    body: bytes | str | None,
    content_type: str | None,
    request_type: RequestType,
    max_body_bytes: int | None,
    content_types: Collection[str],
    require_object: bool,
) -> tuple[Any, str | None]:
    """The parsed JSON content and, for allowed non-JSON types, the raw text."""
    data = body.encode("utf-8") if isinstance(body, str) else (body or b"")
    if max_body_bytes is not None and len(data) > max_body_bytes:
        raise PayloadTooLarge(
            f"The request body is larger than the maximum of {max_body_bytes} bytes"
        )
    if not data.strip():
        return ({} if request_type != RequestType.PATCH else []), None
    media_type = (content_type or JSON).split(";")[0].strip().lower()
    allowed = [t.lower() for t in content_types]
    if media_type not in allowed:
        listed = " and ".join(f"'{t}'" for t in allowed)
        noun, verb = ("content-type", "is") if len(allowed) == 1 else ("content-types", "are")
        raise BadRequest(
            f"The request could not be processed because it specified the "
            f"content-type '{content_type}' when only the {noun} {listed} {verb} "
            "supported"
        )
    text = decode_body(data, media_type, content_type)  # XML: its declared charset
    if media_type != JSON and not media_type.endswith("+json"):
        return None, text
    content = _loads(text)
    needs_object = request_type in (RequestType.CREATE, RequestType.UPDATE, RequestType.ACTION)
    if require_object and needs_object and not isinstance(content, dict):
        raise BadRequest(
            "The request could not be processed because the provided content is not a JSON object"
        )
    return content, None


class _NonFiniteNumber(ValueError):
    """``NaN``/``Infinity``: accepted by Python's json module, but not JSON."""


def _reject_constant(name: str) -> Any:
    raise _NonFiniteNumber(name)


_STRING_OR_CONSTANT = re.compile(r'"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)')


def _loads(text: str) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        what, where = exc.msg, exc.pos
    except _NonFiniteNumber as exc:
        # The decoder reads in order, so the first such token outside a string is the culprit.
        match = next(m for m in _STRING_OR_CONSTANT.finditer(text) if m.group(1))
        what, where = f"{exc} is not a valid JSON value", match.start(1)
    except RecursionError:
        raise BadRequest(
            "The request content could not be parsed as JSON: nested too deeply"
        ) from None
    raise BadRequest(f"The request content could not be parsed as JSON: {what} at position {where}")
