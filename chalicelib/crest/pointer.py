"""JSON pointers as CREST uses them in `_queryFilter`, `_sortKeys` and `_fields`.

A pointer is kept as a tuple of decoded segments: ``"/a/b~1c"`` and ``"a/b~1c"`` both become
``("a", "b/c")``. The leading ``/`` is optional, as in CREST. Empty pointers and empty segments
(``"/"``, ``"a//b"``) are rejected: no workflow field has an empty name, and accepting them would
only hide typos.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Segments", "PointerError", "MISSING", "parse_pointer", "format_pointer", "resolve"]

#: A decoded JSON pointer.
Segments = tuple[str, ...]


class PointerError(ValueError):
    """A malformed pointer. ``offset`` is the 0-based character offset of the fault in the text."""

    def __init__(self, what: str, offset: int):
        super().__init__(f"{what} at position {offset}")
        self.what = what
        self.offset = offset


class _Missing:
    """The value of a pointer that resolves to nothing (distinct from JSON ``null``)."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


def parse_pointer(text: str) -> Segments:
    """Decode ``text`` (``/a/b`` or ``a/b``, with ``~0`` = ``~`` and ``~1`` = ``/``).

    Raises
    ------
    PointerError
        For an empty pointer, an empty segment or a ``~`` not followed by ``0`` or ``1``; the
        error's ``offset`` points at the fault.
    """
    start = 1 if text.startswith("/") else 0
    if start == len(text):
        return _fail("empty JSON pointer", 0)
    segments: list[str] = []
    index = start
    while True:
        end = text.find("/", index)
        end = len(text) if end < 0 else end
        if end == index:
            _fail("empty segment in JSON pointer", index)
        segments.append(_unescape(text, index, end))
        if end == len(text):
            return tuple(segments)
        index = end + 1


def _unescape(text: str, start: int, end: int) -> str:
    out: list[str] = []
    index = start
    while index < end:
        char = text[index]
        if char == "~":
            following = text[index + 1] if index + 1 < end else ""
            if following not in ("0", "1"):
                _fail("invalid escape '~' in JSON pointer", index)
            out.append("~" if following == "0" else "/")
            index += 2
        else:
            out.append(char)
            index += 1
    return "".join(out)


def _fail(what: str, offset: int):
    raise PointerError(what, offset)


def format_pointer(segments: Segments) -> str:
    """The canonical text of a pointer: a leading ``/`` and escaped segments."""
    return "".join("/" + s.replace("~", "~0").replace("/", "~1") for s in segments)


def resolve(obj: Any, segments: Segments) -> Any:
    """The value at ``segments`` inside ``obj``, or ``MISSING``.

    Objects are walked by key; lists by a decimal index (``"0"``, ``"12"``; no sign, no leading
    zero). Anything else resolves to ``MISSING``.
    """
    current = obj
    for segment in segments:
        if isinstance(current, dict):
            if segment not in current:
                return MISSING
            current = current[segment]
        elif isinstance(current, list) and _is_index(segment) and int(segment) < len(current):
            current = current[int(segment)]
        else:
            return MISSING
    return current


def _is_index(segment: str) -> bool:
    return segment.isascii() and segment.isdigit() and (segment == "0" or segment[0] != "0")
