"""Enumerations shared by the CREST modules."""

from __future__ import annotations

from enum import Enum

__all__ = ["RequestType", "CountPolicy"]


class RequestType(str, Enum):
    """The CREST request type of an HTTP request (api-reference.md §4.1)."""

    READ = "read"
    QUERY = "query"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    ACTION = "action"
    PATCH = "patch"


class CountPolicy(str, Enum):
    """``_totalPagedResultsPolicy``. We always count exactly when asked (ESTIMATE answers EXACT)."""

    NONE = "NONE"
    ESTIMATE = "ESTIMATE"
    EXACT = "EXACT"
