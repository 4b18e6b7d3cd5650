"""``python -m tests.support.crashing_launcher``: the launcher of ``make run``, except that the
first commit intent it applies kills the process half-way (the e2e crash test).

The apply runs its first transaction, then the process ends with ``os._exit`` at the second:
no ``finally``, no clean-up, no reply to the caller, as when Lambda or a machine dies. What is
left in DynamoDB is the decide transaction (the intent and its ``apply-intent`` job) plus one
applied batch: the state a restarted service must finish on its own.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from chalicelib.local.launcher import main
from chalicelib.storage import intent

#: the exit status of the simulated crash (what a SIGKILL'd process reports, 128 + 9)
CRASH_EXIT = 137

_apply = intent.apply


class _DyingStore:
    """The store, except that its second transaction ends the process instead."""

    def __init__(self, store: Any):
        self._store = store
        self._transactions = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def transact(self, writes: Any, **kwargs: Any) -> Any:
        if self._transactions >= 1:
            os._exit(CRASH_EXIT)
        self._transactions += 1
        return self._store.transact(writes, **kwargs)


def _crashing_apply(store: Any, item: Any) -> bool:
    return _apply(_DyingStore(store), item)


def install() -> None:
    """Make every commit intent this process applies crash it (only when run as the launcher:
    importing this module, for ``CRASH_EXIT`` say, changes nothing)."""
    setattr(intent, "apply", _crashing_apply)  # noqa: B010 (a test double on purpose)


if __name__ == "__main__":
    install()
    sys.exit(main())
