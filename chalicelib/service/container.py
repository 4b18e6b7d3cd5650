"""What a use case needs of the composition root, typed with the ports.

``bootstrap.Container`` provides it in production; tests may pass any object with these
attributes (a fake store, an in-memory publisher, a fixed clock).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from ..clock import Clock
from ..messaging.mail import Mailer
from ..messaging.notify import Notifier
from ..messaging.ports import Publisher
from ..settings import Settings
from ..storage.ports import ItemStore

if TYPE_CHECKING:  # the authenticator is built by the composition root, not imported here
    from ..auth.authenticate import Authenticator

__all__ = ["Services"]


class Services(Protocol):
    """The adapters a use case runs with: settings, clock, item store, queue publisher, the
    authenticator (its user store), the mailer (mail tasks), the notifier (outbound sns and
    eventbridge channels), and per-container extras (the definition cache)."""

    settings: Settings
    clock: Clock
    store: ItemStore
    publisher: Publisher
    authenticator: Authenticator  # the candidate-group query reads its user store
    mailer: Mailer
    notifier: Notifier
    extras: dict[str, Any]
