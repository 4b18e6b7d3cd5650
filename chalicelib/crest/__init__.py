"""CREST (ForgeRock Common REST) request and response layer: pure functions over plain data.

Modules: ``filter`` (``_queryFilter`` grammar, evaluator, renderer), ``request`` (HTTP request ->
``CrestRequest``), ``fields`` (``_fields``: parse, select, filter a READ body), ``paging`` (sort,
pages, cookies, ``Pager``), ``responses`` (query envelope, standard errors, JSON text), ``pointer``
(JSON pointers), ``enums``. Error envelopes are rendered at the API edge (``api.errors``).
Standard library only, plus ``chalicelib.errors``.
"""

from .enums import CountPolicy, RequestType
from .fields import parse_fields, read_fields, select_fields
from .filter import QueryFilterError, equality_terms, matches, render
from .filter import parse as parse_filter
from .paging import (
    Pager,
    PageResult,
    SortKey,
    decode_cookie,
    encode_cookie,
    page,
    sort_items,
)
from .request import ApiVersion, CrestRequest, decode_path_id, parse_request
from .responses import (
    CONTENT_API_VERSION,
    not_supported_on_collection,
    not_supported_on_instance,
    order_keys,
    query_envelope,
    render_json,
    resource_not_found,
)

__all__ = [
    "CountPolicy",
    "RequestType",
    "QueryFilterError",
    "parse_filter",
    "render",
    "matches",
    "equality_terms",
    "Pager",
    "PageResult",
    "SortKey",
    "decode_cookie",
    "encode_cookie",
    "page",
    "parse_fields",
    "select_fields",
    "read_fields",
    "sort_items",
    "ApiVersion",
    "CrestRequest",
    "decode_path_id",
    "parse_request",
    "CONTENT_API_VERSION",
    "not_supported_on_collection",
    "not_supported_on_instance",
    "order_keys",
    "query_envelope",
    "render_json",
    "resource_not_found",
]
