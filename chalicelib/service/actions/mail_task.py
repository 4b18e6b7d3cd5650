"""The mail task's runner: Flowable's ``MailActivityBehavior`` over Amazon SES.

A ``<serviceTask flowable:type="mail">`` (or ``<sendTask>``) parks on a ``mail-task`` job whose
``fields`` were evaluated when the task was entered (``textVar``/``htmlVar`` already resolved
to ``text``/``html``: ``engine/runtime/behaviours/action_tasks.py``). This runner builds one
MIME message from them and sends it with the container's mailer (SES ``SendRawEmail``,
``messaging/ses.py``), then commits ``FinishAction``
with the job's deletion (``finish.finish_job``).

Flowable's fields and semantics:

* ``to``, ``cc``, ``bcc``: comma-separated addresses (``Name <a@b.org>`` too), or a list of
  them from an expression. At least one recipient among the three, else "No recipient could
  be found for sending email". ``cc`` is in the headers; ``bcc`` only in the envelope.
* ``from``: else ``WORKFLOW_MAIL_FROM`` (deploy refuses a mail task with neither). SES sends
  only from an identity verified in ``WORKFLOW_SES_REGION`` (default: the stage's region).
* ``subject`` (empty when absent), ``text`` and/or ``html`` (both: ``multipart/alternative``;
  neither: "'html' or 'text' is required ..."), ``charset`` (of the body parts; default UTF-8).
* ``headers``: extra header lines ``Name: value`` (one per line) or a map from an expression;
  the headers the task sets itself (From, To, Subject, ...) cannot be replaced.
* ``ignoreException`` (``true``): a failure (a refused address, no recipient, an SES error) is
  not one: the task is left, and ``exceptionVariableName``, when given, receives the message.
  Otherwise the job fails (:class:`ActionFailed`): retried, then dead-lettered.

Delivery is at least once: a crash between the send and the commit sends again when the job
is retried. The body and the addresses stay out of the logs; a failure's message (the job's
``exceptionMessage``) names the address at fault, never the body.
"""

from __future__ import annotations

import codecs
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any

from ...messaging.mail import MailNotSent
from ...storage.ports import Item
from ..container import Services
from .finish import finish_job
from .outcome import ActionFailed, ActionOutcome

__all__ = [
    "HANDLER",
    "MAX_MESSAGE_BYTES",
    "MAX_RECIPIENTS",
    "NO_RECIPIENT",
    "Mail",
    "build_mail",
    "mime_message",
    "run_mail_task",
]

log = logging.getLogger("workflow.service.actions")

HANDLER = "mail-task"
#: SES ``SendRawEmail`` takes a message of at most 10 MB, to at most 50 destinations
MAX_MESSAGE_BYTES = 10 * 1024 * 1024
MAX_RECIPIENTS = 50
#: extra ``headers`` one task may set
MAX_HEADERS = 50
NO_RECIPIENT = "No recipient could be found for sending email"
NO_CONTENT = "'html' or 'text' is required to be defined when using the mail activity"
#: headers the task writes itself (a ``headers`` field naming one is refused)
MANAGED_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
    }
)
_HEADER_NAME = re.compile(r"^[!-9;-~]{1,76}$")  # printable ASCII but ':' (RFC 5322 ftext)
_LOCAL_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
#: CRLF lines, and a 7-bit body: a part that is not ASCII is quoted-printable or base64
_POLICY = policy.SMTP.clone(cte_type="7bit")


@dataclass(frozen=True)
class Mail:
    """One message: its envelope (``sender``, every recipient) and what its MIME text says."""

    sender: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    bcc: tuple[str, ...]
    subject: str
    text: str | None
    html: str | None
    charset: str | None
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def destinations(self) -> list[str]:
        """Every recipient's address once (to, cc, then bcc), as SES's envelope takes them."""
        seen: dict[str, None] = {}
        for address in (*self.to, *self.cc, *self.bcc):
            seen.setdefault(parseaddr(address)[1], None)
        return list(seen)


def _text(value: Any) -> str | None:
    """A field's value as Flowable's ``getStringFromField``: None stays None."""
    return None if value is None else str(value)


def _address(raw: str, role: str) -> str:
    """``raw`` checked and normalised (``Name <local@domain>`` or ``local@domain``)."""
    if "\r" in raw or "\n" in raw:
        raise ActionFailed(f"Could not add {raw.strip()!r} as {role}: line break in the address")
    name, address = parseaddr(raw)
    local, at, domain = address.rpartition("@")
    try:
        ascii_domain = domain.encode("idna").decode("ascii") if domain else ""
    except UnicodeError:
        ascii_domain = ""
    if (
        not at
        or not _LOCAL_PART.match(local)
        or len(address) > 254
        or not ascii_domain
        or not all(_LABEL.match(label) for label in ascii_domain.split("."))
    ):
        raise ActionFailed(f"Could not add {raw.strip()} as {role}")
    return formataddr((name, f"{local}@{ascii_domain}")) if name else f"{local}@{ascii_domain}"


def _split(value: Any) -> list[str]:
    """Flowable's ``splitAndTrim``: a comma-separated string, or a list of them (empty
    entries dropped)."""
    if value is None:
        return []
    items: Iterable[Any] = value if isinstance(value, list | tuple | set) else [value]
    found: list[str] = []
    for item in items:
        if item is None:
            continue
        found.extend(part.strip() for part in str(item).split(",") if part.strip())
    return found


def _recipients(value: Any, role: str) -> tuple[str, ...]:
    return tuple(_address(raw, role) for raw in _split(value))


def _headers(value: Any) -> tuple[tuple[str, str], ...]:
    """The ``headers`` field: ``Name: value`` lines, or a map."""
    if value is None or value == "":
        return ()
    if isinstance(value, Mapping):
        pairs = [(str(k).strip(), _text(v) or "") for k, v in value.items()]
    else:
        pairs = []
        for line in str(value).splitlines():
            if not line.strip():
                continue
            name, colon, text = line.partition(":")
            if not colon or not name.strip():
                raise ActionFailed(
                    "When using email headers name and value must be defined colon "
                    "separated (e.g. X-Attribute: value)"
                )
            pairs.append((name.strip(), text))
    if len(pairs) > MAX_HEADERS:
        raise ActionFailed(f"A mail task sets at most {MAX_HEADERS} headers, got {len(pairs)}")
    checked = []
    for name, text in pairs:
        if not _HEADER_NAME.match(name):
            raise ActionFailed(f"'{name[:80]}' is no header name")
        if name.lower() in MANAGED_HEADERS:
            raise ActionFailed(f"Header '{name}' is set by the mail task and cannot be replaced")
        if "\r" in text or "\n" in text:
            raise ActionFailed(f"Header '{name}' has a line break in its value")
        checked.append((name, text.strip()))
    return tuple(checked)


def build_mail(fields: Mapping[str, Any], default_from: str | None) -> Mail:
    """The message the job's ``fields`` describe; :class:`ActionFailed` with Flowable's
    message when they describe none (no body, no recipient, a refused address)."""
    text, html = _text(fields.get("text")), _text(fields.get("html"))
    if text is None and html is None:
        raise ActionFailed(NO_CONTENT)
    to = _recipients(fields.get("to"), "recipient")
    cc = _recipients(fields.get("cc"), "cc recipient")
    bcc = _recipients(fields.get("bcc"), "bcc recipient")
    if not (to or cc or bcc):
        raise ActionFailed(NO_RECIPIENT)
    sender = _text(fields.get("from")) or default_from
    if not sender or not sender.strip():
        raise ActionFailed("A mail task needs the field from, or the setting WORKFLOW_MAIL_FROM")
    charset = (_text(fields.get("charset")) or "").strip() or None
    if charset is not None:
        try:
            codecs.lookup(charset)
        except LookupError:
            raise ActionFailed(f"Unknown charset '{charset[:80]}'") from None
    subject = " ".join((_text(fields.get("subject")) or "").splitlines())
    mail = Mail(
        sender=_address(sender.strip(), "from address"),
        to=to,
        cc=cc,
        bcc=bcc,
        subject=subject,
        text=text,
        html=html,
        charset=charset,
        headers=_headers(fields.get("headers")),
    )
    if len(mail.destinations) > MAX_RECIPIENTS:
        raise ActionFailed(
            f"A mail goes to at most {MAX_RECIPIENTS} recipients (SES), "
            f"got {len(mail.destinations)}"
        )
    return mail


def mime_message(mail: Mail, date: Any = None) -> bytes:
    """``mail`` as the MIME text SES sends: ``Bcc`` is in no header."""
    message = EmailMessage(policy=_POLICY)
    message["From"] = mail.sender
    if mail.to:
        message["To"] = ", ".join(mail.to)
    if mail.cc:
        message["Cc"] = ", ".join(mail.cc)
    message["Subject"] = mail.subject
    if date is not None:
        message["Date"] = format_datetime(date)
    for name, value in mail.headers:
        message[name] = value
    charset = mail.charset or "utf-8"
    try:
        if mail.text is not None:
            message.set_content(mail.text, subtype="plain", charset=charset)
            if mail.html is not None:
                message.add_alternative(mail.html, subtype="html", charset=charset)
        else:
            message.set_content(mail.html or "", subtype="html", charset=charset)
        data = message.as_bytes()
    except (UnicodeError, LookupError, ValueError) as exc:
        raise ActionFailed(f"Could not encode the e-mail ({type(exc).__name__})") from None
    if len(data) > MAX_MESSAGE_BYTES:
        raise ActionFailed(
            f"The e-mail is {len(data)} bytes, more than SES sends ({MAX_MESSAGE_BYTES})"
        )
    return data


def _send(container: Services, mail: Mail, data: bytes, execution_id: str) -> str:
    try:
        return container.mailer.send_raw(mail.sender, mail.destinations, data)
    except MailNotSent as exc:
        raise ActionFailed(f"Could not send e-mail in execution {execution_id} ({exc})") from None


def run_mail_task(container: Services, job: Item) -> str:
    """Send the job's mail, then leave its task (see the module doc)."""
    data = job.data
    fields = (data.get("jobHandlerConfiguration") or {}).get("fields") or {}
    ignore = (_text(fields.get("ignoreException")) or "").strip().lower() == "true"
    variable = (_text(fields.get("exceptionVariableName")) or "").strip()
    try:
        mail = build_mail(fields, container.settings.mail_from)
        message_id = _send(
            container, mail, mime_message(mail, container.clock.now()), data["executionId"]
        )
    except ActionFailed as exc:
        if not ignore:
            raise
        log.info("mail task job %s: not sent, ignored (ignoreException)", data["_id"])
        outcome = ActionOutcome({variable: str(exc)} if variable else {})
        return f"mail not sent (ignored): {finish_job(container, job, outcome)}"
    log.info(
        "mail task job %s: sent to %d recipients (SES message %s)",
        data["_id"],
        len(mail.destinations),
        message_id,
    )
    return f"mail sent: {finish_job(container, job, ActionOutcome())}"
