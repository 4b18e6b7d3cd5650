"""Idempotency records in the runtime table: one item per scoped ``Idempotency-Key``.

=======================================  ==============  =============  ===========
partition (``pk``)                       sort key        ``kind``       index
=======================================  ==============  =============  ===========
``idem#<sha256 of caller|route|key>``    ``#idem``       idempotency    (not indexed)
=======================================  ==============  =============  ===========

The key is hashed, so no client key is stored raw. What the item holds and how it is written is
``service.idempotency``.
"""

from __future__ import annotations

import hashlib

__all__ = ["SK", "KIND", "scoped_pk"]

SK = "#idem"
KIND = "idempotency"


def scoped_pk(caller_id: str, route: str, key: str) -> str:
    """The item's partition key: a hash of (caller, route, key), so no key is stored raw."""
    digest = hashlib.sha256("|".join((caller_id, route, key)).encode()).hexdigest()
    return f"idem#{digest}"
