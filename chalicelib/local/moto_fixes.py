"""One performance fix to moto's DynamoDB, for local mode, the tests and the benchmarks.

moto's ``transact_write_items`` keeps a backup of every table a transaction touches, so it can
roll back when a condition fails. It takes that backup once per *write* rather than once per
table: a transaction of 100 writes deep-copies its table 100 times, and a 500-way fan-out
(thousands of items, dozens of transactions) takes minutes instead of seconds.

``install()`` makes each table's backup happen once per transaction (the first copy is reused
for the same table object). What the transaction does, and its rollback, are unchanged. Never
imported by the Lambda handlers: moto is a development dependency.
"""

from __future__ import annotations

import copy
import functools
import threading
import types
from typing import Any

__all__ = ["install"]

_installed = False


def install() -> None:
    """Patch moto's DynamoDB backend (idempotent, thread-safe: the memo is per thread)."""
    global _installed
    if _installed:
        return
    from moto.dynamodb import models

    local = threading.local()

    def deepcopy(value: Any, memo: Any = None) -> Any:
        backups = getattr(local, "backups", None)
        if backups is None or not isinstance(value, models.Table):
            return copy.deepcopy(value, memo)
        if id(value) not in backups:  # keeps ``value`` alive, so its id stays unique
            backups[id(value)] = (value, copy.deepcopy(value, memo))
        return backups[id(value)][1]

    original = models.DynamoDBBackend.transact_write_items

    @functools.wraps(original)
    def transact_write_items(self: Any, transact_items: Any) -> Any:
        outer = getattr(local, "backups", None)
        local.backups = {}
        try:
            return original(self, transact_items)
        finally:
            local.backups = outer

    # replacing a module's name and a class's method: typed as Any on purpose
    patched_module: Any = models
    patched_backend: Any = models.DynamoDBBackend
    patched_module.copy = types.SimpleNamespace(deepcopy=deepcopy, copy=copy.copy)
    patched_backend.transact_write_items = transact_write_items
    _installed = True
