"""The ``_fields`` parameter: parse its JSON pointers, select them from a query item, filter a
READ body (api-reference.md §4.2)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import BadRequest
from .pointer import MISSING, PointerError, Segments, parse_pointer, resolve

__all__ = ["parse_fields", "select_fields", "read_fields"]


def parse_fields(values: Iterable[str]) -> tuple[Segments, ...]:
    """Parse ``_fields`` values (``a,b/c``; repeatable). Empty entries are ignored."""
    fields: list[Segments] = []
    for value in values:
        for raw in value.split(","):
            if not raw.strip():
                continue
            try:
                fields.append(parse_pointer(raw.strip()))
            except PointerError as exc:
                raise BadRequest(
                    f"The value '{value}' for parameter '_fields' could not be "
                    f"parsed as a list of JSON pointers: {exc}"
                ) from None
    return tuple(fields)


def select_fields(item: Mapping[str, Any], fields: Iterable[Segments]) -> dict[str, Any]:
    """Keep only ``fields`` (keyed by each pointer's leaf name) plus ``_id`` and ``_rev``.

    No fields means the whole item. A field the item does not have is left out.
    """
    fields = list(fields)
    if not fields:
        return dict(item)
    selected = {key: item[key] for key in ("_id", "_rev") if key in item}
    for segments in fields:
        value = resolve(item, segments)
        if value is not MISSING:
            selected[segments[-1]] = value
    return selected


def read_fields(body: Any, fields: Iterable[tuple[str, ...]]) -> Any:
    """A READ body filtered to ``_fields`` (plus ``_id``, ``_rev``), as CREST's
    ``Resources.filterResource``; an empty pointer (``_fields=,x``) keeps everything."""
    fields = list(fields)
    if not fields or not isinstance(body, Mapping) or any(not f for f in fields):
        return body
    return select_fields(body, fields)
