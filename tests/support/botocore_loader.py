"""One botocore data loader for every botocore session a test process makes.

``aws.reset_clients()`` forgets the botocore session, and the suite resets it around every
moto test (``mock_aws`` must see the clients made), so each test's first clients came from a
new session with a new ``Loader``, which parsed botocore's JSON again: the DynamoDB and SQS
service models and ``endpoints.json``, about 60 ms of every test's setup. ``install()`` makes
``botocore.session`` create its loader once per data path and hand the same one to every
later session. A ``Loader`` caches what it parsed and hands the same objects to every client
of a session already (botocore reads them, never changes them), so sharing it changes no
client: sessions, credentials, event handlers (moto's included) and clients are still new.
"""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["install"]


def install() -> None:
    """Make every later botocore session share one loader per data path (idempotent)."""
    import botocore.session

    module: Any = botocore.session
    if getattr(module.create_loader, "shared_loader", False):
        return
    shared = functools.lru_cache(maxsize=None)(module.create_loader)
    shared.shared_loader = True
    module.create_loader = shared
