"""CREST response shapes: query envelope, key order, errors, JSON text (api-reference.md §4.3-4.9).

Pure functions over dicts; the HTTP layer turns them into framework responses (and renders
error envelopes: ``chalicelib.api.errors``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from ..errors import BadRequest, NotFound, NotSupported
from .enums import RequestType
from .pointer import MISSING, resolve

__all__ = [
    "CONTENT_API_VERSION",
    "query_envelope",
    "order_keys",
    "not_supported_on_instance",
    "not_supported_on_collection",
    "resource_not_found",
    "render_json",
    "field_download",
]

#: Value of the ``Content-API-Version`` response header (DECISIONS.md).
CONTENT_API_VERSION = "protocol=2.1,resource=1.0"

_COLLECTION_VERBS = {"read": "read", "update": "updated", "delete": "deleted", "patch": "patched"}


def query_envelope(
    result: Iterable[Mapping[str, Any]],
    paged_results_cookie: str | None = None,
    total_paged_results: int | None = None,
) -> dict[str, Any]:
    """The CREST query response body.

    ``total_paged_results`` is the exact count when the client asked for one (policy
    ``EXACT``); ``None`` gives ``-1`` with policy ``NONE``. ``remainingPagedResults`` is always
    ``-1`` (DECISIONS.md, paging).
    """
    items = [order_keys(item) for item in result]
    counted = total_paged_results is not None
    return {
        "result": items,
        "resultCount": len(items),
        "pagedResultsCookie": paged_results_cookie,
        "totalPagedResultsPolicy": "EXACT" if counted else "NONE",
        "totalPagedResults": total_paged_results if counted else -1,
        "remainingPagedResults": -1,
    }


def order_keys(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``obj`` with ``_id`` then ``_rev`` first (when present), the rest as given."""
    ordered = {key: obj[key] for key in ("_id", "_rev") if key in obj}
    ordered.update((key, value) for key, value in obj.items() if key not in ordered)
    return ordered


def _op_name(op: RequestType | str) -> str:
    return op.value if isinstance(op, RequestType) else str(op).lower()


def not_supported_on_instance(op: RequestType | str) -> NotSupported:
    """501 ``The <OP> operations are not supported`` (``op`` upper-cased, e.g. ``PATCH``)."""
    return NotSupported(f"The {_op_name(op).upper()} operations are not supported")


def not_supported_on_collection(path: str, op: RequestType | str) -> BadRequest:
    """400 ``The resource collection <path> cannot be read|updated|deleted|patched``.

    Raises ``ValueError`` for an operation a collection URL may legitimately carry.
    """
    name = _op_name(op)
    if name not in _COLLECTION_VERBS:
        raise ValueError(f"{name!r} is not an instance-only operation")
    return BadRequest(f"The resource collection {path} cannot be {_COLLECTION_VERBS[name]}")


def resource_not_found(path: str) -> NotFound:
    """404 ``Resource '<path>' not found``."""
    return NotFound(f"Resource '{path}' not found")


def render_json(body: Any, pretty: bool = False) -> str:
    """JSON text of a response body: compact, or indented by 2 with ``_prettyPrint=true``.

    Non-ASCII characters are written as-is (the body is sent as UTF-8). ``Decimal`` values (as
    DynamoDB returns numbers) are written as JSON numbers.
    """
    if pretty:
        return json.dumps(body, indent=2, ensure_ascii=False, default=_json_default)
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def field_download(body: Any, field: tuple[str, ...], mime_type: str) -> bytes | str:
    """The ``_mimeType`` body: the field's base64-decoded bytes (either alphabet, padding
    optional, as CREST's decoder); for a ``text/*`` type a string field is sent as it is.
    404 when the field is absent, 400 when it is not base64 text."""
    value = resolve(body, field) if isinstance(body, Mapping) else MISSING
    name = "/".join(field)
    if value is MISSING or value is None:
        raise NotFound(f"The field '{name}' is not available")
    if not isinstance(value, str):
        raise BadRequest(f"The field '{name}' is not a string and cannot be sent as {mime_type}")
    if mime_type.lower().startswith("text/"):
        return value
    text = "".join(value.split()).replace("-", "+").replace("_", "/").rstrip("=")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(
            f"The field '{name}' is not base64 and cannot be sent as {mime_type}"
        ) from None
