"""``Idempotency-Key``: a retried request returns the first response, with no further effect.

DECISIONS.md: a key is scoped to (caller, route, key). The same key and the same body within
24 hours returns the first response (same status and body); the same key with another body,
or while the first request is still running, is 409.

One runtime-table item per scoped key (its key: ``repositories.idempotency``): the body hash,
the state (``running`` or ``done``), the response once known, the time it was claimed, a TTL of 48 hours and a ``version`` that conditions every write::

    begin()   get the item;  none (or older than 24 h)  -> Put "running" (MustNotExist, or
                                                            VersionIs the stale one): a Claim
                             done, same body            -> the stored response (replay)
                             other body, or running     -> 409
    finish()  Put "done" + response, VersionIs(claim)   (or ``Claim.done_write`` inside the
                                                            use case's own transaction)
    release() Delete, VersionIs(claim)                  (the request failed: the client may
                                                            retry with the same key)

The 24-hour window is checked against the stored time (DynamoDB's TTL deletion can lag by
days). A ``running`` claim older than ``STALE_CLAIM`` (longer than any Lambda may run) belongs
to a request that died without releasing it and may be taken over.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

from ..clock import format_iso, parse_iso
from ..errors import BadRequest, ConcurrencyError, Conflict
from ..storage.ports import Condition, MustNotExist, Put, Table, VersionIs, Write
from .container import Services
from .repositories.idempotency import read_record, record_delete, record_item, scoped_pk

__all__ = [
    "HEADER",
    "WINDOW",
    "RETENTION",
    "STALE_CLAIM",
    "MAX_KEY_LENGTH",
    "ClaimState",
    "StoredResponse",
    "Claim",
    "begin",
    "finish",
    "release",
    "body_hash",
]

#: the request header that carries the key
HEADER = "Idempotency-Key"
#: a retry within this window replays the first response
WINDOW = timedelta(hours=24)
#: the item's TTL (DynamoDB removes it some time after)
RETENTION = timedelta(hours=48)
#: a running claim older than this was abandoned (Lambda's limit is 15 minutes)
STALE_CLAIM = timedelta(minutes=15)
MAX_KEY_LENGTH = 255


class ClaimState(str, enum.Enum):
    """Where the first request with a key is."""

    RUNNING = "running"
    DONE = "done"


@dataclass(frozen=True)
class StoredResponse:
    """A response as the first request answered it."""

    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "body": self.body, "headers": dict(self.headers)}


@dataclass(frozen=True)
class Claim:
    """The right to execute the first request with a key (held until finished or released)."""

    pk: str
    version: int
    body_hash: str
    created: str

    def done_write(self, response: StoredResponse, *, ttl: int) -> Write:
        """The write that records ``response`` (conditioned on still holding the claim)."""
        data = {
            "bodyHash": self.body_hash,
            "state": ClaimState.DONE.value,
            "created": self.created,
            "response": response.to_json(),
        }
        return Put(
            Table.RUNTIME,
            record_item(self.pk, data, ttl, self.version + 1),
            VersionIs(self.version),
        )


def body_hash(body: Any) -> str:
    """A hash of the request body as JSON (key order does not matter)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str) -> str:
    """The key, or 400 naming the header when it is empty, too long or not printable."""
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise BadRequest(f"The header {HEADER} must be 1 to {MAX_KEY_LENGTH} printable characters")
    return key


def ttl_of(container: Services) -> int:
    """Epoch seconds at which DynamoDB may remove an item written now."""
    return int((container.clock.now() + RETENTION).timestamp())


def begin(
    container: Services, caller_id: str, route: str, key: str, body: Any
) -> Claim | StoredResponse:
    """Claim ``key`` for this request, or return the response of the first one.

    Costs one GetItem, plus one TransactWriteItems for a new claim. Raises ``Conflict`` (409)
    when the key was used with another body or its first request is still running.
    """
    pk = scoped_pk(caller_id, route, check_key(key))
    digest = body_hash(body)
    now = container.clock.now()
    found = read_record(container.store, pk)
    condition: Condition = MustNotExist()
    version = 1
    if found is not None:
        data = found.data
        created = parse_iso(data["created"])
        if now - created < WINDOW:
            if data.get("bodyHash") != digest:
                raise Conflict(
                    f"The {HEADER} '{key}' was already used with another request body",
                    detail={"header": HEADER},
                )
            if data.get("state") == ClaimState.DONE.value:
                response = data["response"]
                return StoredResponse(
                    int(response["status"]), response["body"], response.get("headers") or {}
                )
            if now - created < STALE_CLAIM:
                raise Conflict(
                    f"A request with the {HEADER} '{key}' is still running",
                    detail={"header": HEADER},
                )
        condition, version = VersionIs(int(found.version or 0)), int(found.version or 0) + 1
    created_at = cast(str, format_iso(now))
    claim = record_item(
        pk,
        {"bodyHash": digest, "state": ClaimState.RUNNING.value, "created": created_at},
        ttl_of(container),
        version,
    )
    try:
        container.store.transact([Put(Table.RUNTIME, claim, condition)])
    except ConcurrencyError:
        raise Conflict(
            f"A request with the {HEADER} '{key}' is still running", detail={"header": HEADER}
        ) from None
    return Claim(pk, version, digest, created_at)


def finish(container: Services, claim: Claim, response: StoredResponse) -> None:
    """Record ``response`` for later retries (when the use case did not do it itself)."""
    container.store.transact([claim.done_write(response, ttl=ttl_of(container))])


def release(container: Services, claim: Claim) -> None:
    """Give the key back after a failed request; a lost condition means nothing to release."""
    try:
        container.store.transact([record_delete(claim.pk, claim.version)])
    except ConcurrencyError:
        pass
