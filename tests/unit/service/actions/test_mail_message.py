"""The mail task's message, without SES: what Flowable's fields make, and what is refused
(``service/actions/mail_task.py``)."""

from __future__ import annotations

import email
from email import policy

import pytest

from chalicelib.messaging.mail import MailNotSent
from chalicelib.service.actions import mail_task
from chalicelib.service.actions.mail_task import build_mail, mime_message
from chalicelib.service.actions.outcome import ActionFailed

BASE = {"to": "kermit@example.org", "text": "Hello"}


def message(fields, default_from="ops@example.com"):
    data = mime_message(build_mail(fields, default_from))
    return email.message_from_bytes(data, policy=policy.default)


def refused(fields, default_from="ops@example.com") -> str:
    with pytest.raises(ActionFailed) as exc:
        mime_message(build_mail(fields, default_from))
    return str(exc.value)


def test_the_envelope_holds_every_recipient_once_and_bcc_no_header():
    mail = build_mail(
        dict(BASE, cc=["a@example.org", "kermit@example.org"], bcc="b@example.org"), "o@x.org"
    )
    assert mail.destinations == ["kermit@example.org", "a@example.org", "b@example.org"]
    assert b"b@example.org" not in mime_message(mail)


def test_line_breaks_cannot_inject_headers():
    assert message(dict(BASE, subject="Hi\r\nBcc: spy@evil.org"))["Subject"] == (
        "Hi Bcc: spy@evil.org"
    )
    assert "line break" in refused(dict(BASE, to="kermit@example.org\r\nBcc: spy@evil.org"))
    assert "line break" in refused(dict(BASE, headers={"X-A": "1\r\nBcc: spy@evil.org"}))
    assert "set by the mail task" in refused(dict(BASE, headers="Subject: other"))
    assert "colon separated" in refused(dict(BASE, headers="no colon here"))


@pytest.mark.parametrize(
    "address",
    ["kermit@activiti.org@org", "no-at-sign", "a b@example.org", "k@-bad-.org", "k@", "@x.org"],
)
def test_addresses_flowable_refuses(address):
    assert refused(dict(BASE, to=address)) == f"Could not add {address} as recipient"


def test_display_names_and_idn_domains_are_kept():
    parsed = message(dict(BASE, to="Kermit the Frog <kermit@bücher.example>"))
    [to] = parsed["To"].addresses
    assert to.display_name == "Kermit the Frog" and to.addr_spec == "kermit@xn--bcher-kva.example"


def test_what_flowable_refuses_before_sending():
    assert refused({"to": "k@example.org"}) == mail_task.NO_CONTENT
    assert refused({"text": "x", "to": " , ", "cc": [], "bcc": None}) == mail_task.NO_RECIPIENT
    assert "WORKFLOW_MAIL_FROM" in refused(BASE, default_from=None)
    assert refused(dict(BASE, charset="no-such-charset")) == "Unknown charset 'no-such-charset'"


def test_a_body_the_charset_cannot_encode_is_refused():
    assert "Could not encode" in refused(dict(BASE, text="price: 5 €", charset="iso-8859-1"))


def test_the_body_is_seven_bit_whatever_the_charset():
    data = mime_message(build_mail(dict(BASE, text="Grüße ✓"), "o@x.org"))
    assert all(byte < 128 for byte in data)
    parsed = email.message_from_bytes(data, policy=policy.default)
    assert parsed.get_content().strip() == "Grüße ✓"


def test_ses_limits_are_refused_not_sent():
    many = [f"u{i}@example.org" for i in range(mail_task.MAX_RECIPIENTS + 1)]
    assert "at most 50 recipients" in refused(dict(BASE, to=many))
    big = "x" * (mail_task.MAX_MESSAGE_BYTES + 1)
    assert "more than SES sends" in refused(dict(BASE, text=big))


def test_an_ses_refusal_names_the_execution_and_the_reason_not_the_body(memory_container):
    class Refusing:
        def send_raw(self, source, destinations, data):
            raise MailNotSent("MessageRejected: Email address is not verified.")

    memory_container.mailer = Refusing()
    mail = build_mail(dict(BASE, text="secret body"), "o@x.org")
    with pytest.raises(ActionFailed) as exc:
        mail_task._send(memory_container, mail, mime_message(mail), "e1")
    assert str(exc.value) == (
        "Could not send e-mail in execution e1 (MessageRejected: Email address is not verified.)"
    )
