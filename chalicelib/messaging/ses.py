"""``Mailer`` over Amazon SES (``SendRawEmail``) with a plain botocore client.

The client is built on first use, in ``WORKFLOW_SES_REGION`` (default: the stage's region):
SES sends only from identities verified in that region, and (in the SES sandbox) only to
verified recipients. Every SES or connection failure becomes :class:`MailNotSent`.
"""

from __future__ import annotations

from collections.abc import Sequence

from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError

from .. import aws
from ..settings import Settings
from .mail import MailNotSent

__all__ = ["SesMailer"]


class SesMailer:
    """``messaging.mail.Mailer`` over SES."""

    def __init__(self, settings: Settings, *, client: BaseClient | None = None):
        self._settings = settings
        self._client = client

    def _ses(self) -> BaseClient:
        if self._client is None:
            settings = self._settings
            region = settings.ses_region or settings.region
            self._client = aws.client("ses", region, settings.endpoint_url)
        return self._client

    def send_raw(self, source: str, destinations: Sequence[str], data: bytes) -> str:
        """One ``SendRawEmail``; its message id."""
        try:
            answer = self._ses().send_raw_email(
                Source=source, Destinations=list(destinations), RawMessage={"Data": data}
            )
        except ClientError as exc:
            error = exc.response.get("Error", {})
            message = str(error.get("Message", ""))[:300]
            raise MailNotSent(f"{error.get('Code', 'Error')}: {message}") from None
        except BotoCoreError as exc:
            raise MailNotSent(type(exc).__name__) from None
        return str(answer.get("MessageId", ""))
