"""Sorting, field selection and paging of query results (DECISIONS.md "Wire conventions").

Two ways to page:

* :func:`page` over an in-memory list or any iterable: the cookie encodes an offset.
* :class:`Pager` over storage that reads in batches (a DynamoDB Query): the cookie encodes the
  storage token plus how many items of that batch were already consumed, so a filter that thins
  out a batch never makes a short page, and no item is skipped or repeated.

Cookies are opaque to clients: URL-safe base64 of compact JSON, without padding.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import islice
from typing import Any, Generic, TypeVar

from ..errors import BadRequest
from .enums import CountPolicy
from .pointer import MISSING, PointerError, Segments, format_pointer, parse_pointer, resolve
from .responses import query_envelope

__all__ = [
    "DEFAULT_MAX_PAGE_SIZE",
    "SortKey",
    "parse_sort_keys",
    "sort_items",
    "encode_cookie",
    "decode_cookie",
    "effective_page_size",
    "page",
    "PageResult",
    "ScanResult",
    "Pager",
]

#: The server maximum page size when the caller does not pass one (the settings default).
DEFAULT_MAX_PAGE_SIZE = 1000

T = TypeVar("T")


# --------------------------------------------------------------------------------------------
# Sort keys and fields


@dataclass(frozen=True)
class SortKey:
    """One ``_sortKeys`` entry: a field pointer and a direction."""

    field: Segments
    ascending: bool = True

    @property
    def name(self) -> str:
        """The field as a resource names it: ``startTime``, or ``a/b`` for a nested one."""
        return format_pointer(self.field)[1:]


def parse_sort_keys(values: Iterable[str]) -> tuple[SortKey, ...]:
    """Parse ``_sortKeys`` values (``k1,-k2,+k3``; the parameter may repeat).

    Raises ``BadRequest`` ``The value '<v>' for parameter '_sortKeys' could not be parsed as a
    comma separated list of sort keys`` for an empty key or a malformed pointer.
    """
    keys: list[SortKey] = []
    for value in values:
        for raw in value.split(","):
            text = raw.strip()
            ascending = not text.startswith("-")
            if text and text[0] in "+-":
                text = text[1:]
            try:
                keys.append(SortKey(parse_pointer(text), ascending))
            except PointerError:
                raise BadRequest(
                    f"The value '{value}' for parameter '_sortKeys' could not be "
                    "parsed as a comma separated list of sort keys"
                ) from None
    return tuple(keys)


def _sort_value(value: Any) -> tuple:
    """A total order over JSON values: null/missing < booleans < numbers < strings < others."""
    if value is MISSING or value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, (int, float, Decimal)):
        return (2, value)
    if isinstance(value, str):
        return (3, value)
    return (4, json.dumps(value, sort_keys=True, default=str))


def sort_items(
    items: Iterable[Mapping[str, Any]],
    sort_keys: Iterable[SortKey],
    allowed: Iterable[str] | None = None,
) -> list[Mapping[str, Any]]:
    """Stable multi-key sort of JSON objects.

    Null and missing values are the smallest (first ascending, last descending); values of
    different JSON types never raise (see ``_sort_value``). Strings sort case-sensitively.

    Raises ``BadRequest`` ``Sort key: <k> is not valid`` when ``allowed`` (field names such as
    ``startTime``) is given and a key is not in it.
    """
    keys = list(sort_keys)
    if allowed is not None:
        allowed_names = set(allowed)
        for key in keys:
            if key.name not in allowed_names:
                raise BadRequest(f"Sort key: {key.name} is not valid")
    result = list(items)
    for key in reversed(keys):  # least significant first; list.sort is stable, even reversed
        result.sort(key=_sort_key(key.field), reverse=not key.ascending)
    return result


def _sort_key(field: Segments) -> Callable[[Mapping[str, Any]], tuple]:
    """The ``list.sort`` key of one sort field."""
    return lambda item: _sort_value(resolve(item, field))


# --------------------------------------------------------------------------------------------
# Cookies


def encode_cookie(state: Mapping[str, Any]) -> str:
    """An opaque ``pagedResultsCookie`` holding any JSON-serialisable ``state``."""
    text = json.dumps(state, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(text.encode("utf-8")).rstrip(b"=").decode("ascii")


def decode_cookie(cookie: str) -> dict[str, Any]:
    """The state inside a cookie made by :func:`encode_cookie`.

    Raises ``BadRequest`` naming ``_pagedResultsCookie`` for anything else.
    """
    try:
        raw = base64.b64decode(cookie + "=" * (-len(cookie) % 4), altchars=b"-_", validate=True)
        state = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        state = None
    if not isinstance(state, dict):
        raise _bad_cookie(cookie)
    return state


def _bad_cookie(cookie: str) -> BadRequest:
    return BadRequest(
        f"The value '{cookie}' for parameter '_pagedResultsCookie' is not a valid "
        "paged results cookie"
    )


def _cookie_int(cookie: str, state: Mapping[str, Any], key: str) -> int:
    value = state.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _bad_cookie(cookie)
    return value


def _check_exclusive(offset: int, cookie: str | None) -> None:
    if offset < 0:
        raise ValueError("offset must be >= 0")
    if offset > 0 and cookie:
        raise BadRequest(
            "The parameters _pagedResultsOffset and _pagedResultsCookie are mutually exclusive"
        )


# --------------------------------------------------------------------------------------------
# In-memory paging


def effective_page_size(page_size: int | None, max_page_size: int = DEFAULT_MAX_PAGE_SIZE) -> int:
    """``_pageSize`` absent or 0 means the server maximum; larger values are clamped to it."""
    if max_page_size < 1:
        raise ValueError("max_page_size must be >= 1")
    return min(page_size, max_page_size) if page_size and page_size > 0 else max_page_size


def page(
    items: Iterable[Mapping[str, Any]],
    page_size: int | None = 0,
    *,
    offset: int = 0,
    cookie: str | None = None,
    max_page_size: int = DEFAULT_MAX_PAGE_SIZE,
    count_policy: CountPolicy = CountPolicy.NONE,
) -> dict[str, Any]:
    """One page of ``items`` as the CREST query envelope.

    ``items`` may be a list or a lazy iterable (it is read only as far as needed, unless an
    exact count is asked for). The page starts at ``offset`` or at the cookie's position; the
    returned cookie is set exactly when more items follow. Every page except the last holds
    ``effective_page_size(page_size, max_page_size)`` items. ``EXACT`` or ``ESTIMATE`` gives
    the exact total with policy ``EXACT``.
    """
    _check_exclusive(offset, cookie)
    start = _cookie_int(cookie, decode_cookie(cookie), "offset") if cookie else offset
    size = effective_page_size(page_size, max_page_size)
    iterator = iter(items)
    skipped = sum(1 for _ in islice(iterator, start))
    result = list(islice(iterator, size))
    has_more = next(iterator, MISSING) is not MISSING
    total = None
    if count_policy in (CountPolicy.EXACT, CountPolicy.ESTIMATE):
        total = skipped + len(result) + (1 + sum(1 for _ in iterator) if has_more else 0)
    next_cookie = encode_cookie({"offset": start + size}) if has_more else None
    return query_envelope(result, next_cookie, total)


# --------------------------------------------------------------------------------------------
# Storage-backed paging

#: ``fetch(start_token, limit) -> (items, next_token)``: one storage read. ``start_token`` None
#: is the beginning; ``next_token`` None means the data ends. ``limit`` is a hint: the reader may
#: return fewer items (with a token) or more. Tokens must be JSON-serialisable and reading from
#: the same token must return the same items in the same order (a DynamoDB Query does).
Fetch = Callable[[Any, int], "tuple[Sequence[T], Any]"]


@dataclass(frozen=True)
class PageResult(Generic[T]):
    """A page read by :class:`Pager`: the items, the cookie of the next page (or None), and how
    many items the source returned while reading it (``read``)."""

    items: list[T]
    cookie: str | None
    read: int = 0


@dataclass(frozen=True)
class ScanResult(Generic[T]):
    """Matching items read by :meth:`Pager.scan`: ``complete`` when the data ended within the
    budget (then ``items`` is every matching item), and how many items the source returned."""

    items: list[T]
    complete: bool
    read: int


#: the most a page's later fetches multiply what it still needs by (the budget caps them too)
MAX_FETCH_GROWTH = 32


class Pager(Generic[T]):
    """Pages over batched storage reads, filtered by a Python predicate.

    The cookie is ``{"token": <storage token of a batch>, "consumed": <items of that batch
    already used>}``, plus ``"skip"``: matching items still to skip of an offset the previous
    request could not finish. A page ends when it is full *and* a further matching item has been
    seen (the cookie then points at that item), when the data ends (cookie None), or when the
    read budget is spent (the cookie points at the first item not read). So without a budget
    every page but the last is full; with one a page may be short (even empty) and still carry a
    cookie. Either way the next page starts exactly at the first item not returned. A batch
    shorter than ``consumed`` on a re-read carries the rest of the count into the next batch.

    The budget counts every item the source returns, before filtering, including the part of a
    resumed batch that the cookie skips. The fetch ``limit`` never asks for more than the budget
    left, so a source that honours it stops at the budget; a request always reads at least one
    item past its starting point, so following cookies always makes progress.
    """

    def __init__(
        self, fetch: Fetch, predicate: Callable[[T], bool] | None = None, *, batch: int = 0
    ):
        self._fetch = fetch
        self._predicate = predicate or (lambda item: True)
        #: the least a fetch of :meth:`page` asks for (the budget still caps it): a source
        #: whose every read costs the same requests whatever it returns (a sharded listing)
        #: fills a filtered page in one read when a fair share of what it lists matches
        self._batch = batch

    def page(
        self,
        page_size: int,
        cookie: str | None = None,
        offset: int = 0,
        budget: int | None = None,
    ) -> PageResult[T]:
        """Read one page of ``page_size`` (>= 1) matching items, after skipping ``offset`` of
        them or resuming at ``cookie``, reading at most ``budget`` items (None: no limit)."""
        if page_size < 1:
            raise ValueError("page_size must be >= 1")
        if budget is not None and budget < 1:
            raise ValueError("budget must be >= 1")
        _check_exclusive(offset, cookie)
        token, consumed, to_skip = self._start(cookie)
        to_skip += offset
        result: list[T] = []
        spent = 0  # items the source returned in earlier batches of this request
        fresh = 0  # items examined past the starting point
        # From the third fetch on, each asks for twice as many: a selective filter (few matches
        # per item read) then fills its page in a few larger reads, not one read per match,
        # while a page the first two fetches fill reads about what it needs.
        fetches = 0
        while True:
            growth = min(2 ** max(fetches - 1, 0), MAX_FETCH_GROWTH)
            fetches += 1
            wanted = consumed + to_skip + max(page_size - len(result), 1) * growth + 1
            wanted = max(wanted, consumed + self._batch)
            if budget is not None:
                wanted = min(wanted, max(budget - spent, consumed + 1))
            batch, next_token = self._fetch(token, wanted)
            for index in range(consumed, len(batch)):
                if budget is not None and fresh and spent + index >= budget:
                    return PageResult(
                        result, _pager_cookie(token, index, to_skip), spent + len(batch)
                    )
                fresh += 1
                item = batch[index]
                if not self._predicate(item):
                    continue
                if to_skip:
                    to_skip -= 1
                elif len(result) == page_size:
                    return PageResult(result, _pager_cookie(token, index, 0), spent + len(batch))
                else:
                    result.append(item)
            spent += len(batch)
            if next_token is None:
                return PageResult(result, None, spent)
            if next_token == token:
                raise RuntimeError("fetch returned its start token again; it would never end")
            consumed = max(0, consumed - len(batch))
            token = next_token
            if budget is not None and fresh and spent >= budget:
                return PageResult(result, _pager_cookie(token, consumed, to_skip), spent)

    def scan(self, budget: int | None = None) -> ScanResult[T]:
        """Every matching item in storage order, reading at most ``budget`` items (None: no
        limit); ``complete`` is False when the budget ran out before the data ended."""
        token = None
        found: list[T] = []
        spent = 0
        while True:
            limit = (
                DEFAULT_MAX_PAGE_SIZE
                if budget is None
                else min(budget - spent, DEFAULT_MAX_PAGE_SIZE)
            )
            batch, next_token = self._fetch(token, limit)
            if budget is not None and spent + len(batch) > budget:
                found.extend(item for item in batch[: budget - spent] if self._predicate(item))
                return ScanResult(found, False, spent + len(batch))
            found.extend(item for item in batch if self._predicate(item))
            spent += len(batch)
            if next_token is None:
                return ScanResult(found, True, spent)
            if budget is not None and spent >= budget:
                return ScanResult(found, False, spent)
            if next_token == token:
                raise RuntimeError("fetch returned its start token again; it would never end")
            token = next_token

    def items(self) -> Iterator[T]:
        """Every matching item, in storage order (for sorting in memory or counting)."""
        token = None
        while True:
            batch, next_token = self._fetch(token, DEFAULT_MAX_PAGE_SIZE)
            yield from (item for item in batch if self._predicate(item))
            if next_token is None:
                return
            if next_token == token:
                raise RuntimeError("fetch returned its start token again; it would never end")
            token = next_token

    def count(self) -> int:
        """The number of matching items (reads everything)."""
        return sum(1 for _ in self.items())

    @staticmethod
    def _start(cookie: str | None) -> tuple[Any, int, int]:
        if not cookie:
            return None, 0, 0
        state = decode_cookie(cookie)
        if "token" not in state:
            raise _bad_cookie(cookie)
        skip = _cookie_int(cookie, state, "skip") if "skip" in state else 0
        return state["token"], _cookie_int(cookie, state, "consumed"), skip


def _pager_cookie(token: Any, consumed: int, skip: int) -> str:
    state: dict[str, Any] = {"token": token, "consumed": consumed}
    if skip:
        state["skip"] = skip
    return encode_cookie(state)
