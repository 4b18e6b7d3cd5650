"""Counting the reads and writes a piece of code asks of an ``ItemStore`` (either store)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: the ``ItemStore`` methods counted: each is one request (or one per 100 keys) on DynamoDB
METHODS = ("get", "query", "query_index", "batch_get", "transact", "batch_put")


@contextmanager
def counting(store: Any) -> Iterator[Counter]:
    """Count the calls made to ``store``'s methods while inside, by method name. A call a
    method makes to another (the memory store's ``batch_get`` calls ``get``) is not counted."""
    calls: Counter = Counter()
    depth = 0

    def counted(name: str, method: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            nonlocal depth
            if depth == 0:
                calls[name] += 1
            depth += 1
            try:
                return method(*args, **kwargs)
            finally:
                depth -= 1

        return call

    for name in METHODS:
        setattr(store, name, counted(name, getattr(store, name)))
    try:
        yield calls
    finally:
        for name in METHODS:
            delattr(store, name)
