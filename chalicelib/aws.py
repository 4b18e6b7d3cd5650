"""AWS plumbing shared by the adapters: lazy botocore clients, a request counter, the moto lock.

* ``client(service, region, endpoint_url)``: one botocore client per (service, region, endpoint)
  per container, built on first use from one botocore session. We use ``botocore.session``
  directly, not boto3: importing boto3 costs about 100 ms of cold start (s3transfer).
  The DynamoDB adapter hands the same client to pynamodb, so every DynamoDB request of the
  container, pynamodb's included, goes through a client made here.
* ``counting()``: every client made here carries a ``before-call`` event hook that counts API
  calls per service and operation while a ``with counting() as c:`` block is open
  (``c.counts == {'dynamodb': {'Query': 1, 'TransactWriteItems': 1}}``). A call is counted once,
  however many times botocore retries it. Used by benchmarks to check DESIGN §6 budgets.
* ``moto_lock()``: the process-wide lock that local mode and threaded tests pass to the DynamoDB
  adapter. moto's in-process DynamoDB is not thread-safe for transactions (a failed
  TransactWriteItems restores a table copy taken at its start, erasing concurrent commits), so
  every moto DynamoDB call must hold it. Real AWS passes ``contextlib.nullcontext()`` instead.

Nothing here reads the environment or builds a client at import time.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import botocore.session
from botocore.client import BaseClient, Config

__all__ = [
    "client",
    "session",
    "reset_clients",
    "moto_lock",
    "RequestCounter",
    "counting",
    "instrument",
]

#: Per-service client configuration. DynamoDB: parameter validation off (pynamodb does the same:
#: the request shapes are ours), standard retries with a few attempts, short timeouts so a
#: Lambda answers 503 well inside API Gateway's 29 s. SQS: read timeout above the 20 s long poll.
_CONFIGS: dict[str, Config] = {
    "dynamodb": Config(
        parameter_validation=False,
        connect_timeout=2,
        read_timeout=10,
        retries={"mode": "standard", "total_max_attempts": 4},
        max_pool_connections=20,
    ),
    "sqs": Config(
        connect_timeout=2, read_timeout=30, retries={"mode": "standard", "total_max_attempts": 4}
    ),
    # a retried SendRawEmail may send twice: few attempts, and well inside the worker's timeout
    "ses": Config(
        connect_timeout=2, read_timeout=15, retries={"mode": "standard", "total_max_attempts": 2}
    ),
}

_lock = threading.Lock()
_session: botocore.session.Session | None = None
_clients: dict[tuple[str, str, str | None], BaseClient] = {}
_MOTO_LOCK = threading.RLock()


def session() -> botocore.session.Session:
    """The container's botocore session, created on first use."""
    global _session
    with _lock:
        if _session is None:
            _session = botocore.session.get_session()
        return _session


def client(service: str, region: str | None = None, endpoint_url: str | None = None) -> BaseClient:
    """The container's botocore client for ``service`` in ``region`` (optionally at an endpoint).

    Without ``region``, region and endpoint come from ``settings.get_settings()`` (read when
    called, never at import). Created once per (service, region, endpoint) and cached; botocore
    clients are thread-safe once built, but building one is not, so creation happens under a lock.
    Every client carries the request-counting hook.
    """
    if region is None:
        from .settings import get_settings

        settings = get_settings()
        region, endpoint_url = settings.region, endpoint_url or settings.endpoint_url
    key = (service, region, endpoint_url)
    found = _clients.get(key)
    if found is not None:
        return found
    sess = session()
    with _lock:
        found = _clients.get(key)
        if found is None:
            found = sess.create_client(
                service, region_name=region, endpoint_url=endpoint_url, config=_CONFIGS.get(service)
            )
            instrument(found)
            _clients[key] = found
        return found


def reset_clients() -> None:
    """Forget the cached clients and session (tests that change region or endpoint)."""
    global _session
    with _lock:
        _clients.clear()
        _session = None


def moto_lock() -> threading.RLock:
    """The process-wide lock serialising moto DynamoDB calls (local mode and threaded tests)."""
    return _MOTO_LOCK


# --- request counting ------------------------------------------------------------------------


class RequestCounter:
    """API calls per service and operation, counted while a ``counting()`` block is open."""

    def __init__(self, thread_id: int | None = None):
        self._lock = threading.Lock()
        self._counts: dict[str, dict[str, int]] = {}
        self.thread_id = thread_id

    def record(self, service: str, operation: str) -> None:
        """Count one call of ``operation`` on ``service``."""
        with self._lock:
            per_service = self._counts.setdefault(service, {})
            per_service[operation] = per_service.get(operation, 0) + 1

    @property
    def counts(self) -> dict[str, dict[str, int]]:
        """A copy: ``{'dynamodb': {'Query': 1}, 'sqs': {'SendMessage': 2}}``."""
        with self._lock:
            return {service: dict(ops) for service, ops in self._counts.items()}

    def total(self, service: str | None = None) -> int:
        """Calls counted for one service, or for all of them."""
        counts = self.counts
        services = [service] if service else list(counts)
        return sum(sum(counts.get(name, {}).values()) for name in services)

    def __repr__(self) -> str:
        return f"RequestCounter({self.counts!r})"


_active: list[RequestCounter] = []
_active_lock = threading.Lock()


def _on_before_call(model: Any = None, **_: Any) -> None:
    """botocore ``before-call`` hook: count the call on every open counter."""
    if not _active or model is None:
        return
    service = model.service_model.service_name
    thread_id = threading.get_ident()
    with _active_lock:
        counters = list(_active)
    for counter in counters:
        if counter.thread_id is None or counter.thread_id == thread_id:
            counter.record(service, model.name)


def instrument(botocore_client: BaseClient) -> BaseClient:
    """Attach the counting hook to a client built elsewhere (idempotent); returns the client."""
    if not getattr(botocore_client, "_workflow_counted", False):
        botocore_client.meta.events.register(
            "before-call", _on_before_call, unique_id="workflow-request-counter"
        )
        botocore_client._workflow_counted = True
    return botocore_client


@contextmanager
def counting(*, current_thread_only: bool = False) -> Iterator[RequestCounter]:
    """Count AWS API calls made through our clients inside the block.

    By default every thread's calls are counted; ``current_thread_only=True`` counts only the calls
    made by the thread that opened the block (useful when worker threads run beside a benchmark).
    """
    counter = RequestCounter(threading.get_ident() if current_thread_only else None)
    with _active_lock:
        _active.append(counter)
    try:
        yield counter
    finally:
        with _active_lock:
            _active.remove(counter)
