"""The mail task over Amazon SES (moto): the task parks on a ``mail-task`` job, the jobs worker
sends one raw message with SES and leaves the task (``service/actions/mail_task.py``).

Flowable's own processes (``EmailServiceTaskTest``, ``EmailSendTaskTest``) run from the shared
corpus with what their Java tests assert: sender, recipients, subject, body. Their SMTP server
(Wiser) records one message per envelope recipient; SES takes one message to all of them, so
"three messages" there is "one message, three destinations" here. Files that attach files,
beans or content items are refused at deploy, naming the field.
"""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage

import pytest

from chalicelib.service.definitions import deploy as deployments
from chalicelib.service.definitions.errors import InvalidDeployment
from chalicelib.service.repositories.jobs import job_key
from chalicelib.storage.ports import Table
from tests.support.env import TEST_ENV
from tests.support.executions import drain, job_items, start, tasks, variables
from tests.support.jobs import dead_letters

DEFAULT_FROM = "flowable@localhost"
REGION = TEST_ENV["AWS_DEFAULT_REGION"]
HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:flowable="http://flowable.org/bpmn" targetNamespace="Tests">
  <process id="mailing" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="mail"/>
    <{tag} id="mail" flowable:type="mail"><extensionElements>{fields}</extensionElements></{tag}>
    <sequenceFlow id="f2" sourceRef="mail" targetRef="after"/>
    <userTask id="after" name="After"/>
  </process>
</definitions>"""


def field(name: str, value: str, *, expression: bool = False) -> str:
    kind = "expression" if expression else "string"
    return (
        f'<flowable:field name="{name}"><flowable:{kind}><![CDATA[{value}]]></flowable:{kind}>'
        "</flowable:field>"
    )


def process(*fields: str, tag: str = "serviceTask") -> str:
    return HEAD.format(tag=tag, fields="".join(fields))


@pytest.fixture
def settings():
    """The test settings with Flowable's test sender as ``WORKFLOW_MAIL_FROM``."""
    from chalicelib.settings import Settings

    return Settings.from_env(dict(TEST_ENV, WORKFLOW_MAIL_FROM=DEFAULT_FROM))


@pytest.fixture
def ses(container):
    """moto's SES with the senders of these tests verified; ``ses()``: the messages sent."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    from chalicelib import aws

    client = aws.client("ses", REGION)
    for identity in (DEFAULT_FROM, "mispiggy@activiti.org", "ops@example.com"):
        client.verify_email_identity(EmailAddress=identity)
    backend = ses_backends[DEFAULT_ACCOUNT_ID][REGION]
    return lambda: list(backend.sent_messages)


def deploy(container, xml: str, name: str = "mailing") -> str:
    return deployments.deploy(
        container, source=f"file:{name}", name=name, bpmn={f"{name}.bpmn20.xml": xml}
    ).definition_ids[0]


def run(container, xml: str, variables_: dict | None = None) -> str:
    instance = start(container, deploy(container, xml), variables_ or {})
    drain(container)
    return instance


def parsed(sent) -> EmailMessage:
    message = email.message_from_string(sent.raw_data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def body(message: EmailMessage, subtype: str = "plain") -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None, f"no text/{subtype} part"
    return part.get_content().replace("\r\n", "\n")  # the wire's CRLF


def destinations(sent) -> set[str]:
    """The envelope recipients (moto appends the To/Cc header addresses to them again)."""
    return {email.utils.parseaddr(d)[1] for d in sent.destinations}


def the_job(container, instance: str):
    [job] = [j for j in job_items(container, instance) if j.data["jobHandlerType"] == "mail-task"]
    return job


def fail_to_the_dead_letters(container, instance: str) -> list:
    """The failing mail job's tries (the first ran in ``drain``), 10 s apart, until it is
    dead-lettered: each try's exceptionMessage."""
    import json

    from chalicelib.messaging.job_message import encode
    from chalicelib.workers import entry

    job_id = the_job(container, instance).data["_id"]
    messages = []
    for _ in range(5):
        stored = container.store.get(Table.RUNTIME, *job_key(job_id))
        if stored is None:
            break
        messages.append(stored.data["exceptionMessage"])
        container.clock.advance(seconds=10)
        record = {"messageId": "m", "body": json.dumps(encode(job_id))}
        assert entry.on_job_message({"Records": [record]}) == {"batchItemFailures": []}
    [dead] = [d for d in dead_letters(container) if d.data["_id"] == job_id]
    messages.append(dead.data["exceptionMessage"])
    return messages


# --- the task's own behaviour ------------------------------------------------------------------


def test_a_text_mail_is_one_message_and_the_task_is_left(container, ses):
    xml = process(
        field("from", "ops@example.com"),
        field("to", "kermit@activiti.org"),
        field("subject", "Hello Kermit!"),
        field("text", "This a text only e-mail."),
    )
    instance = start(container, deploy(container, xml), {})
    assert ses() == [] and tasks(container, instance) == []  # waits for its job
    drain(container)
    [sent] = ses()
    message = parsed(sent)
    assert sent.source == "ops@example.com" and destinations(sent) == {"kermit@activiti.org"}
    assert message["From"] == "ops@example.com" and message["To"] == "kermit@activiti.org"
    assert message["Subject"] == "Hello Kermit!"
    assert message.get_content_type() == "text/plain"
    assert body(message).strip() == "This a text only e-mail."
    assert tasks(container, instance) == ["after"] and job_items(container, instance) == []
    drain(container)
    assert len(ses()) == 1  # sent once


def test_html_and_text_are_alternatives(container, ses):
    run(
        container,
        process(
            field("to", "kermit@activiti.org"),
            field("subject", "Both"),
            field("text", "plain words"),
            field("html", "<p>Hello <b>${name}</b></p>", expression=True),
        ),
        {"name": "Kermit"},
    )
    [sent] = ses()
    message = parsed(sent)
    assert message.get_content_type() == "multipart/alternative"
    assert body(message, "plain").strip() == "plain words"
    assert body(message, "html").strip() == "<p>Hello <b>Kermit</b></p>"


def test_cc_is_a_header_and_bcc_only_a_destination(container, ses):
    run(
        container,
        process(
            field("to", "kermit@activiti.org"),
            field("cc", "fozzie@activiti.org"),
            field("bcc", "mispiggy@activiti.org, gonzo@activiti.org"),
            field("text", "x"),
        ),
    )
    [sent] = ses()
    message = parsed(sent)
    assert message["Cc"] == "fozzie@activiti.org"
    assert "Bcc" not in message and "mispiggy" not in sent.raw_data
    assert destinations(sent) == {
        "kermit@activiti.org",
        "fozzie@activiti.org",
        "mispiggy@activiti.org",
        "gonzo@activiti.org",
    }


def test_recipients_from_expressions_a_list_or_a_comma_separated_string(container, ses):
    instance = run(
        container,
        process(
            field("from", "${sender}", expression=True),
            field("to", "${people}", expression=True),
            field("cc", "${others}", expression=True),
            field("subject", "For ${what}", expression=True),
            field("text", "Dear ${name},\nsee you.", expression=True),
        ),
        {
            "sender": "Ops Team <ops@example.com>",
            "people": ["kermit@activiti.org", "Fozzie Bear <fozzie@activiti.org>"],
            "others": "a@example.org ,b@example.org",
            "what": "you",
            "name": "all",
        },
    )
    [sent] = ses()
    message = parsed(sent)
    assert message["From"].addresses[0].addr_spec == "ops@example.com"
    assert message["From"].addresses[0].display_name == "Ops Team"
    assert [a.addr_spec for a in message["To"].addresses] == [
        "kermit@activiti.org",
        "fozzie@activiti.org",
    ]
    assert [a.addr_spec for a in message["Cc"].addresses] == ["a@example.org", "b@example.org"]
    assert message["Subject"] == "For you"
    assert body(message).strip() == "Dear all,\nsee you."
    assert len(destinations(sent)) == 4 and tasks(container, instance) == ["after"]


def test_the_charset_field_encodes_the_body(container, ses):
    run(
        container,
        process(
            field("to", "kermit@activiti.org"),
            field("subject", "Grüße"),
            field("text", "Grüße aus Köln"),
            field("charset", "iso-8859-1"),
        ),
    )
    [sent] = ses()
    message = parsed(sent)
    assert message.get_content_charset() == "iso-8859-1"
    assert message.get_payload(decode=True).strip() == "Grüße aus Köln".encode("iso-8859-1")
    assert message["Subject"] == "Grüße"


def test_extra_headers_are_added_but_cannot_replace_the_tasks_own(container, ses):
    run(
        container,
        process(
            field("to", "kermit@activiti.org"),
            field("text", "x"),
            field("headers", "X-Ticket: 42\nReply-To: help@example.com"),
        ),
    )
    [sent] = ses()
    message = parsed(sent)
    assert message["X-Ticket"] == "42" and message["Reply-To"] == "help@example.com"

    instance = run(
        container,
        process(
            field("to", "kermit@activiti.org"),
            field("text", "x"),
            field("headers", "Bcc: spy@example.com"),
        ),
    )
    [message_text] = fail_to_the_dead_letters(container, instance)[-1:]
    assert "Bcc" in message_text and len(ses()) == 1


def test_the_default_sender_is_workflow_mail_from(container, ses):
    run(container, process(field("to", "kermit@activiti.org"), field("text", "x")))
    [sent] = ses()
    assert sent.source == DEFAULT_FROM and parsed(sent)["From"] == DEFAULT_FROM


def test_a_send_task_is_a_mail_task_too(container, ses):
    run(container, process(field("to", "kermit@activiti.org"), field("text", "x"), tag="sendTask"))
    assert len(ses()) == 1


def test_no_recipient_fails_the_job_then_dead_letters_it(container, ses):
    instance = run(
        container,
        process(field("to", "${nobody}", expression=True), field("text", "x")),
        {"nobody": ""},
    )
    assert (
        fail_to_the_dead_letters(container, instance)
        == ["No recipient could be found for sending email"] * 3
    )
    assert ses() == [] and tasks(container, instance) == []


def test_an_unverified_sender_is_an_ses_error_that_fails_the_job(container, ses):
    instance = run(
        container,
        process(
            field("from", "stranger@example.net"), field("to", "k@example.org"), field("text", "x")
        ),
    )
    messages = fail_to_the_dead_letters(container, instance)
    assert all("MessageRejected" in m and "Could not send e-mail" in m for m in messages)
    assert ses() == []


def test_ignore_exception_stores_the_message_and_leaves_the_task(container, ses):
    instance = run(
        container,
        process(
            field("ignoreException", "true"),
            field("exceptionVariableName", "mailError"),
            field("to", "not an address"),
            field("text", "x"),
        ),
    )
    assert tasks(container, instance) == ["after"] and ses() == []
    assert (
        variables(container, instance)["mailError"] == "Could not add not an address as recipient"
    )
    assert dead_letters(container) == []


def test_deploy_refuses_a_mail_task_without_any_sender(container, ses):
    from dataclasses import replace

    from chalicelib import bootstrap
    from chalicelib.clock import FixedClock

    no_sender = bootstrap.build_container(
        replace(container.settings, mail_from=None), clock=FixedClock()
    )
    with pytest.raises(InvalidDeployment) as exc:
        deploy(no_sender, process(field("to", "kermit@activiti.org"), field("text", "x")))
    [problem] = exc.value.detail["errors"]
    assert problem["problem"] == "mail-task-no-sender" and problem["activityId"] == "mail"
    # with a from field the stage needs no default sender
    deploy(
        no_sender,
        process(field("from", "ops@example.com"), field("to", "k@x.org"), field("text", "x")),
    )


# --- Flowable's processes ----------------------------------------------------------------------

MAIL = "flowable-integration/mail"
KERMIT = "kermit@activiti.org"
#: file -> (start variables, html?, subject, body, from, To header, Cc header, envelope)
SENT = {
    "EmailServiceTaskTest.testSimpleTextMail": (
        {}, False, "Hello Kermit!", "This a text only e-mail.", DEFAULT_FROM, [KERMIT], [], {KERMIT}
    ),
    "EmailSendTaskTest.testSimpleTextMail": (
        {}, False, "Hello Kermit!", "This a text only e-mail.", DEFAULT_FROM, [KERMIT], [], {KERMIT}
    ),
    "EmailServiceTaskTest.testSimpleTextMailMultipleRecipients": (
        {}, False, "Hello Kermit!", "This a text only e-mail.", DEFAULT_FROM,
        [KERMIT, "fozzie@activiti.org", "mispiggy@activiti.org"], [],
        {KERMIT, "fozzie@activiti.org", "mispiggy@activiti.org"},
    ),
    "EmailSendTaskTest.testSimpleTextMailMultipleRecipients": (
        {}, False, "Hello Kermit!", "This a text only e-mail.", DEFAULT_FROM,
        [KERMIT, "fozzie@activiti.org", "mispiggy@activiti.org"], [],
        {KERMIT, "fozzie@activiti.org", "mispiggy@activiti.org"},
    ),
}  # fmt: skip
_EXPRESSIONS = {
    "sender": "mispiggy@activiti.org",
    "recipient": "fozziebear@activiti.org",
    "recipientName": "Mr. Fozzie",
    "subject": "Fozzie, you should see this!",
}
_CC_BCC = (
    {}, False, "Hello world", "This is the content", DEFAULT_FROM, [KERMIT],
    ["fozzie@activiti.org"], {KERMIT, "fozzie@activiti.org", "mispiggy@activiti.org"},
)  # fmt: skip
_ONLY = "mispiggy@activiti.org"
for _test in ("EmailServiceTaskTest", "EmailSendTaskTest"):
    SENT[f"{_test}.testTextMailExpressions"] = (
        _EXPRESSIONS, False, _EXPRESSIONS["subject"], "Hello Mr. Fozzie, this is an e-mail",
        _EXPRESSIONS["sender"], [_EXPRESSIONS["recipient"]], [], {_EXPRESSIONS["recipient"]},
    )  # fmt: skip
    SENT[f"{_test}.testCcAndBcc"] = _CC_BCC
    SENT[f"{_test}.testHtmlMail"] = (
        {"gender": "male"}, True, "Test", "Mr. <b>Kermit</b>", DEFAULT_FROM, [KERMIT], [], {KERMIT}
    )  # fmt: skip
    SENT[f"{_test}.testOnlyBccAddress"] = (
        {}, False, "Hello world", "This is the content", DEFAULT_FROM, [], [], {_ONLY}
    )  # fmt: skip
    SENT[f"{_test}.testOnlyCcAddress"] = (
        {}, False, "Hello world", "This is the content", DEFAULT_FROM, [], [_ONLY], {_ONLY}
    )  # fmt: skip
    SENT[f"{_test}.testOnlyToAddress"] = (
        {}, False, "Hello world", "This is the content", DEFAULT_FROM, [_ONLY], [], {_ONLY}
    )  # fmt: skip
SENT["EmailServiceTaskTest.testHtmlMailWithGetOrDefaultVariableFunctions"] = (
    {"gender": "male"}, True, "Test",
    "<li><b>Currency:</b>unknown</li>\n                  <li><b>Gender:</b>male</li>",
    DEFAULT_FROM, ["kermit@flowable.org"], [], {"kermit@flowable.org"},
)  # fmt: skip
SENT["EmailServiceTaskTest.testVariableTemplatedMail"] = (
    {
        "gender": "male",
        "html": "<![CDATA[<html><body>Hello ${gender == 'male' ? 'Mr' : 'Ms' }. "
        "<b>Kermit</b><body></html>]]",
    },
    True, "Test", "Mr. <b>Kermit</b>", DEFAULT_FROM, [KERMIT], [], {KERMIT},
)  # fmt: skip
SENT["EmailServiceTaskTest.testDynamicRecipients"] = (
    {"recipients": ["kermit@activiti.org", "fozzie@activiti.org"]}, False, "Hello world",
    "This is the content", DEFAULT_FROM, [KERMIT, "fozzie@activiti.org"],
    [KERMIT, "fozzie@activiti.org"], {KERMIT, "fozzie@activiti.org"},
)  # fmt: skip

#: the files whose mail fails (Flowable: the start throws; here: the job fails, then is
#: dead-lettered) -> the job's exceptionMessage
FAILED = {
    "EmailServiceTaskTest.testInvalidAddress": "Could not add kermit@activiti.org@org as recipient",
    "EmailSendTaskTest.testInvalidAddress": "Could not add kermit@activiti.org@org as recipient",
    "EmailServiceTaskTest.testMissingAnyRecipientAddress": "No recipient could be found for sending email",
    "EmailSendTaskTest.testMissingAnyRecipientAddress": "No recipient could be found for sending email",
}  # fmt: skip


def corpus_xml(corpus, name: str) -> str:
    path = corpus / MAIL / f"{name}.bpmn20.xml"
    if name == "EmailSendTaskTest.testSimpleTextMail":
        path = corpus / "flowable" / f"{name}.bpmn20.xml"  # the copy the engine corpus holds
    return path.read_text()


def addresses(message: EmailMessage, header: str) -> list[str]:
    return [a.addr_spec for a in message[header].addresses] if message[header] else []


@pytest.mark.parametrize("name", sorted(SENT))
def test_flowable_mail_processes_send_what_their_tests_assert(container, ses, corpus, name):
    start_variables, html, subject, text, sender, to, cc, envelope = SENT[name]
    instance = run(container, corpus_xml(corpus, name), start_variables)
    [sent] = ses()
    message = parsed(sent)
    assert message["Subject"] == subject and message["From"] == sender
    assert sent.source == sender
    assert body(message, "html" if html else "plain").replace("\r\n", "\n").find(text) >= 0
    assert addresses(message, "To") == to and addresses(message, "Cc") == cc
    assert "Bcc" not in message and destinations(sent) == envelope
    assert job_items(container, instance) == [] and dead_letters(container) == []


@pytest.mark.parametrize("name", sorted(FAILED))
def test_flowable_mail_processes_that_fail_dead_letter_their_job(container, ses, corpus, name):
    instance = run(container, corpus_xml(corpus, name))
    assert fail_to_the_dead_letters(container, instance) == [FAILED[name]] * 3
    assert ses() == []


def test_flowable_cc_and_bcc_without_to_two_tasks_two_mails(container, ses, corpus):
    """Flowable's Wiser sees two envelopes: the cc task's and the bcc task's."""
    instance = run(container, corpus_xml(corpus, "EmailSendTaskTest.testCcAndBccWithoutTo"))
    cc, bcc = ses()
    assert addresses(parsed(cc), "Cc") == ["fozzie@activiti.org"] and not parsed(cc)["To"]
    assert destinations(cc) == {"fozzie@activiti.org"}
    assert destinations(bcc) == {"mispiggy@activiti.org"} and "mispiggy" not in bcc.raw_data
    for sent in (cc, bcc):
        message = parsed(sent)
        assert message["Subject"] == "Hello world" and message["From"] == DEFAULT_FROM
        assert body(message).strip() == "This is the content"
    assert job_items(container, instance) == [] and dead_letters(container) == []


def historic_variables(container, instance: str) -> dict:
    from chalicelib.service.repositories.history import historic_variables as items

    found = {}
    for item in items(container.store, instance).items:
        found[item.data["name"]] = item.data.get("value")
    return found


@pytest.mark.parametrize("test", ["EmailServiceTaskTest", "EmailSendTaskTest"])
def test_flowable_invalid_address_ignored_with_and_without_a_variable(container, ses, corpus, test):
    with_variable = run(container, corpus_xml(corpus, f"{test}.testInvalidAddressWithoutException"))
    assert historic_variables(container, with_variable)["emailError"] == (
        "Could not add kermit@activiti.org@org as recipient"
    )
    without = run(
        container, corpus_xml(corpus, f"{test}.testInvalidAddressWithoutExceptionVariableName")
    )
    assert "emailError" not in historic_variables(container, without)
    assert ses() == [] and dead_letters(container) == []
    assert job_items(container, with_variable) == job_items(container, without) == []


@pytest.mark.parametrize(
    ("skip", "enabled", "sent"), [(True, True, 0), (True, False, 1), (False, True, 1)]
)
def test_flowable_skip_expression(container, ses, corpus, skip, enabled, sent):
    xml = corpus_xml(corpus, "EmailServiceTaskTest.testSkipExpression")
    run(container, xml, {"skip": skip, "_FLOWABLE_SKIP_EXPRESSION_ENABLED": enabled})
    assert len(ses()) == sent


ATTACHMENTS = sorted(
    {
        "EmailServiceTaskTest.testHtmlMailWithFileAttachment",
        "EmailServiceTaskTest.testTextMailWithDataSourceAttachment",
        "EmailServiceTaskTest.testTextMailWithFileAttachment",
        "EmailServiceTaskTest.testTextMailWithFileAttachments",
        "EmailServiceTaskTest.testTextMailWithFileAttachmentsByPath",
        "EmailServiceTaskTest.testTextMailWithNotExistingFileAttachment",
        "EmailSendTaskTest.testHtmlMailWithFileAttachment",
        "EmailSendTaskTest.testTextMailWithDataSourceAttachment",
        "EmailSendTaskTest.testTextMailWithFileAttachment",
        "EmailSendTaskTest.testTextMailWithFileAttachments",
        "EmailSendTaskTest.testTextMailWithFileAttachmentsByPath",
        "EmailSendTaskTest.testTextMailWithNotExistingFileAttachment",
        "EmailSendTaskWithContentItemsTest.sendMailWithContentItem",
    }
)


@pytest.mark.parametrize("name", ATTACHMENTS)
def test_flowable_mail_with_attachments_is_refused_at_deploy(container, corpus, name):
    """Attachments are files, Java beans or content items: nothing this service holds."""
    with pytest.raises(InvalidDeployment) as exc:
        deploy(container, corpus_xml(corpus, name))
    texts = [problem["defaultDescription"] for problem in exc.value.detail["errors"]]
    assert any("field 'attachments' is not supported on a mail task" in t for t in texts), texts


def test_every_corpus_mail_file_is_covered(corpus):
    names = {p.name.removesuffix(".bpmn20.xml") for p in (corpus / MAIL).glob("*.bpmn20.xml")}
    covered = (
        set(SENT)
        | set(FAILED)
        | set(ATTACHMENTS)
        | {
            "EmailServiceTaskTest.testSkipExpression",
            "EmailSendTaskTest.testCcAndBccWithoutTo",
            *(
                f"{t}.testInvalidAddressWithoutException"
                for t in ("EmailServiceTaskTest", "EmailSendTaskTest")
            ),
            *(
                f"{t}.testInvalidAddressWithoutExceptionVariableName"
                for t in ("EmailServiceTaskTest", "EmailSendTaskTest")
            ),
        }
    )
    assert names - covered == set()
