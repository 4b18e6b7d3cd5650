"""SQL ``LIKE`` matching in linear time, and the ``_queryFilter`` ``co``/``sw`` string tests.

Every ``*Like`` parameter of the queries (definitions, tasks, executions' ``like`` and
``likeIgnoreCase`` variable operators) and the filter's ``co``/``sw`` go through this module
(``DECISIONS.md`` "Bounded work per request": matching is linear in pattern × text).

Pattern rules (unchanged from the regex translation this replaces): ``%`` is any run of
characters (none included), ``_`` exactly one character, every other character itself; there is
no escape character. The whole value must match. Case-sensitive unless ``ignore_case``, which
compares characters as Python's ``re.IGNORECASE`` does (one character against one character).

How: the pattern is cut at each ``%`` into pieces of fixed length (literals and ``_``). The first
piece must match at the start, the last at the end, and each piece in between is searched
leftmost after the previous one (taking the leftmost occurrence never loses a match, as in glob
matching). Each piece is a regex without repetition, so a search costs at most
``len(piece) × len(text)``; the whole match at most ``len(pattern) × len(text)``, whatever the
pattern (``%%%%%%%%x!`` no longer backtracks exponentially).
"""

from __future__ import annotations

import re

__all__ = ["LikePattern", "like", "contains", "starts_with"]


def _piece(text: str) -> str:
    return "".join("." if ch == "_" else re.escape(ch) for ch in text)


class LikePattern:
    """A compiled ``LIKE`` pattern; :meth:`matches` tells whether a whole value matches."""

    __slots__ = ("pattern", "ignore_case", "_pieces", "_lengths")

    def __init__(self, pattern: str, *, ignore_case: bool = False):
        self.pattern = pattern
        self.ignore_case = ignore_case
        flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
        parts = pattern.split("%")
        # consecutive "%" give empty pieces in between: they match anywhere, so drop them
        # (the first and last piece stay, even empty: they anchor the ends)
        kept = [parts[0], *(p for p in parts[1:-1] if p), parts[-1]] if len(parts) > 1 else parts
        self._pieces = [re.compile(_piece(part), flags) for part in kept]
        self._lengths = [len(part) for part in kept]

    def matches(self, text: str) -> bool:
        """Whether the whole of ``text`` matches the pattern."""
        pieces, lengths = self._pieces, self._lengths
        if len(pieces) == 1:
            return len(text) == lengths[0] and pieces[0].match(text) is not None
        end = len(text) - lengths[-1]
        if end < lengths[0] or pieces[0].match(text) is None:
            return False
        if pieces[-1].match(text, end) is None:
            return False
        position = lengths[0]
        for piece in pieces[1:-1]:
            found = piece.search(text, position, end)
            if found is None:
                return False
            position = found.end()
        return True

    def __repr__(self) -> str:
        return f"LikePattern({self.pattern!r}, ignore_case={self.ignore_case})"


def like(text: str, pattern: str, *, ignore_case: bool = False) -> bool:
    """Whether ``text`` matches the ``LIKE`` ``pattern`` (compile once with ``LikePattern``
    when matching many values)."""
    return LikePattern(pattern, ignore_case=ignore_case).matches(text)


def contains(text: str, part: str) -> bool:
    """``co`` on strings: ``part`` occurs in ``text``, ignoring case (a substring search:
    at most ``len(part) × len(text)``)."""
    return part.lower() in text.lower()


def starts_with(text: str, prefix: str) -> bool:
    """``sw`` on strings: ``text`` starts with ``prefix``, ignoring case."""
    return text.lower().startswith(prefix.lower())
