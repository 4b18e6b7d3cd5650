"""The mail port: send one MIME message to its envelope recipients (the mail task's runner,
``service/actions/mail_task.py``). The adapter is ``ses`` (Amazon SES ``SendRawEmail``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

__all__ = ["Mailer", "MailNotSent"]


class MailNotSent(Exception):
    """The mail service refused or could not take the message; the text is its reason (an
    error code and message, never the message's body)."""


@runtime_checkable
class Mailer(Protocol):
    """Sends raw MIME messages."""

    def send_raw(self, source: str, destinations: Sequence[str], data: bytes) -> str:
        """Send ``data`` from ``source`` to every one of ``destinations`` (the envelope: Bcc
        recipients included); returns the service's message id. :class:`MailNotSent` when
        it is not sent."""
