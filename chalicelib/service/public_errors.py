"""What a response may say about an error: storage words (items, writes, tables, keys,
DynamoDB's reasons) stay in the logs (``public_error``). Used by the error envelope of every
route and by a failed job's ``exceptionMessage``."""

from __future__ import annotations

from typing import Any

from ..errors import ConcurrencyError, WorkflowError
from ..storage.intent import TooLarge
from ..storage.ports import InvalidPageToken, StorageError, TransactionTooLarge

__all__ = ["public_error", "public_message"]


def public_error(exc: WorkflowError) -> tuple[str, dict[str, Any] | None]:
    """The message and detail a response may show of ``exc``: storage words (items, writes,
    tables, keys, DynamoDB's reasons) stay in the logs. A lost race (``ConcurrencyError``) shows
    its own plain message without the failed write; a ``StorageError`` is worded for the
    caller: an invalid cookie names ``_pagedResultsCookie``, a commit too large gives the
    counts, anything else a plain sentence."""
    if isinstance(exc, ConcurrencyError):
        return ConcurrencyError().message, None
    if isinstance(exc, InvalidPageToken):
        return "The value of _pagedResultsCookie is not a valid cookie", None
    if isinstance(exc, (TransactionTooLarge, TooLarge)):
        detail = exc.detail or {}
        limit = detail.get("limit")
        if "bytes" in detail:
            return f"This request changes more data at once than can be saved ({limit} bytes)", {
                "limit": limit
            }
        count = detail.get("items", detail.get("writes"))
        return (
            f"This request makes {count} changes that must be saved together; at most {limit} "
            "can be",
            {"limit": limit, "changes": count},
        )
    if isinstance(exc, StorageError):
        return "The request cannot be saved as it is", None
    return exc.message, exc.detail


def public_message(exc: BaseException) -> str:
    """The text a response may show for ``exc``: ``public_error``'s message for a domain
    error, else the exception's own text."""
    if isinstance(exc, WorkflowError):
        return public_error(exc)[0]
    return str(exc) or type(exc).__name__
