"""The ``_fields`` parameter: parse its JSON pointers, select them from a query item, filter a
READ body (api-reference.md §4.2)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import BadRequest
from .pointer import MISSING, PointerError, Segments, parse_pointer, resolve

__all__ = ["ALL_FIELDS", "parse_fields", "all_fields", "select_fields", "read_fields"]

#: the empty pointer: a ``_fields`` entry that keeps every field
ALL_FIELDS: Segments = ()


def parse_fields(values: Iterable[str]) -> tuple[Segments, ...]:
    """Parse ``_fields`` values (``a,b/c``; repeatable).

    An empty entry before another one (``,diagram``), or a value that is empty as a whole, is
    the empty pointer ``()``: "all fields", as CREST reads it (``String.split`` drops only the
    trailing empty entries: ``a,`` is just ``a``). ``ALL_FIELDS`` in the result means the whole
    item, plus whatever else is named (DECISIONS.md).
    """
    fields: list[Segments] = []
    for value in values:
        entries = value.split(",")
        while len(entries) > 1 and not entries[-1].strip():
            entries.pop()
        for raw in entries:
            if not raw.strip():
                if ALL_FIELDS not in fields:
                    fields.append(ALL_FIELDS)
                continue
            try:
                fields.append(parse_pointer(raw.strip()))
            except PointerError as exc:
                raise BadRequest(
                    f"The value '{value}' for parameter '_fields' could not be "
                    f"parsed as a list of JSON pointers: {exc}"
                ) from None
    return tuple(fields)


def all_fields(fields: Iterable[Segments]) -> bool:
    """True when ``fields`` keep the whole item: none named, or the empty pointer among them."""
    fields = list(fields)
    return not fields or ALL_FIELDS in fields


def select_fields(item: Mapping[str, Any], fields: Iterable[Segments]) -> dict[str, Any]:
    """Keep only ``fields`` (keyed by each pointer's leaf name) plus ``_id`` and ``_rev``.

    No fields, or the empty pointer among them, means the whole item. A field the item does
    not have is left out.
    """
    fields = list(fields)
    if all_fields(fields):
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
    if all_fields(fields) or not isinstance(body, Mapping):
        return body
    return select_fields(body, fields)
