"""The service's container on the in-memory store and publisher, for service-level tests.

``MemoryItemStore`` and ``MemoryPublisher`` pass the storage contract suite the DynamoDB store
passes (``tests/contract/``), so service and engine behaviour is tested on them; moto stays for
what is DynamoDB's or SQS's own (request counts, injected failures, threads through the moto
lock, the queue itself).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from chalicelib.bootstrap import Container, build_container
from chalicelib.clock import FixedClock
from chalicelib.messaging.memory import MemoryPublisher
from chalicelib.settings import Settings
from chalicelib.storage.memory import MemoryItemStore
from tests.support.env import TEST_ENV


def memory_container(
    settings: Settings | None = None, *, now: datetime | None = None, **overrides: Any
) -> Container:
    """The real container (users, access policy, authenticator) over a fresh memory store and
    publisher, with a ``FixedClock`` at ``now`` (default 2026-01-01T00:00Z); ``overrides``
    replace settings fields (``jobs_queue="jobs"``, ``sweep_period_seconds=1``)."""
    settings = settings or Settings.from_env(TEST_ENV)
    if overrides:
        settings = dataclasses.replace(settings, **overrides)
    return build_container(
        settings, store=MemoryItemStore(), publisher=MemoryPublisher(), clock=FixedClock(now)
    )
