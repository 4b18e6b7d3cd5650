"""Every file of the Flowable corpus THROUGH THE REST API (MANIFEST.md), the last ones.

``test_conformance_rest.py`` and ``test_conformance_rest_events.py`` drive most files; this
module drives the rest and checks that none is left out.

Files whose MANIFEST behaviour rests on a Java bean passed as a variable run with a JSON object
in its place (a JUEL property reads a key of it, as Flowable's map resolver does; a method call
on it is refused, and the test says so). A Java delegate that only sets a variable or throws a
BPMN error is swapped for an expression or an error end event, as the event module swaps its
delegates. Files with constructs the service does not execute (compensation, transactions,
conditional events, business rule tasks) are asserted refused at deploy, naming each such
element, with nothing deployed.

Each module declares the files it drives (``DRIVEN_FILES``) and the files it asserts refused
as they are (``REFUSED_AS_IS``) by exact name; the first test below compares them with the
corpus and with the names the tests really use.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
from pathlib import Path

from tests.support.conformance import (
    _call,
    assert_ended,
    complete,
    corpus_text,
    deploy,
    deploy_text,
    instance,
    is_running,
    names,
    open_tasks,
    run_all_jobs,
    start,
)
from tests.support.rest import expect

#: the ``flowable/`` corpus files this module's tests run through the REST API (as they
#: are or with a swap), by exact name: ``test_conformance_rest_coverage`` checks them
#: against the corpus and against the names the tests use
DRIVEN_FILES = (
    "BoundaryErrorEventTest.testCatchErrorThrownByJavaDelegateOnServiceTask.bpmn20.xml",
    "EmailSendTaskTest.testSimpleTextMail.bpmn20.xml",
    "ExclusiveGatewayTest.testDecideBasedOnBeanMethod.bpmn20.xml",
    "ExpressionServiceTaskTest.testSetServiceResultToProcessVariables.bpmn20.xml",
    "ServiceTaskDelegateExpressionTest.testDelegateExpression.bpmn20.xml",
    "UelExpressionTest.testValueAndMethodExpression.bpmn20.xml",
)

#: the REST conformance modules: each declares ``DRIVEN_FILES`` and ``REFUSED_AS_IS``
MODULES = (
    "tests.functional.test_conformance_rest",
    "tests.functional.test_conformance_rest_events",
    "tests.functional.test_conformance_rest_coverage",
)
#: a literal naming a corpus file, as the tests pass it to ``deploy`` / ``corpus_text``
FILE_NAME = re.compile(r"[\w.-]+\.bpmn(20\.xml)?")


def _flowable_files(corpus: Path) -> set[str]:
    """The BPMN files of ``flowable/``; MANIFEST.md's ``## flowable`` table lists the same."""
    folder = {p.name for p in (corpus / "flowable").iterdir() if FILE_NAME.fullmatch(p.name)}
    manifest = (corpus / "MANIFEST.md").read_text(encoding="utf-8").split("\n## ")
    [section] = [part for part in manifest if part.startswith("flowable\n")]
    rows = [line.split("|")[1].strip() for line in section.splitlines() if line.startswith("| ")]
    assert set(rows) - {"file"} == folder, "MANIFEST.md and the flowable/ folder differ"
    return folder


def _names_used_by_tests(tree: ast.Module) -> tuple[set[str], set[str]]:
    """The corpus file names written as whole string literals inside the ``test_*``
    functions (bodies and decorators) of a module, and the module-level names those
    functions read: a docstring or comment that merely mentions a file is not a use."""
    literals: set[str] = set()
    read: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Constant) and isinstance(inner.value, str):
                    if FILE_NAME.fullmatch(inner.value):
                        literals.add(inner.value)
                elif isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Load):
                    read.add(inner.id)
    return literals, read


def test_every_flowable_corpus_file_is_driven_over_rest(corpus):
    """Each file of ``flowable/`` is driven over REST (``DRIVEN_FILES``) or asserted refused
    as it is (``REFUSED_AS_IS``) by a conformance module, by exact name; no module declares a
    name the corpus lacks. The declarations are honest: a module's ``DRIVEN_FILES`` are exactly
    the file names its tests pass as literals, and its ``REFUSED_AS_IS`` is read by a test (the
    refusal tests iterate over it). A new corpus file fails this until a test runs it."""
    declared: set[str] = set()
    for name in MODULES:
        module = importlib.import_module(name)
        driven, refused = set(module.DRIVEN_FILES), set(module.REFUSED_AS_IS)
        assert len(driven) == len(module.DRIVEN_FILES), f"{name}: DRIVEN_FILES repeats a name"
        tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
        literals, read = _names_used_by_tests(tree)
        assert sorted(literals - driven) == [], f"{name}: tests use files not in DRIVEN_FILES"
        assert sorted(driven - literals) == [], f"{name}: DRIVEN_FILES no test uses"
        assert "REFUSED_AS_IS" in read, f"{name}: no test reads REFUSED_AS_IS"
        declared |= driven | refused
    files = _flowable_files(corpus)
    assert sorted(files - declared) == [], "corpus files no REST conformance module declares"
    assert sorted(declared - files) == [], "declared files the corpus does not have"


# --- Java beans as JSON objects ----------------------------------------------------------------


def test_exclusive_gateway_decides_on_bean_properties(client, corpus):
    """ExclusiveGatewayTest.testDecideBasedOnBeanMethod: ``${order.gold}`` and its siblings
    read the order's properties; an order of 300 is gold -> "Gold Member service"."""
    deploy(client, corpus, "ExclusiveGatewayTest.testDecideBasedOnBeanMethod.bpmn20.xml")
    order = {"price": 300, "basic": False, "standard": False, "gold": True}
    iid = start(client, "decisionBasedOnBeanMethod", order=order)["_id"]
    assert names(client, iid) == ["Gold Member service"]


def test_expression_service_task_result_variable(client, corpus):
    """ExpressionServiceTaskTest.testSetServiceResultToProcessVariables: ``#{bean.value}``
    with resultVariable -> ``result == "ok"``; the expression without one sets nothing."""
    deploy(
        client,
        corpus,
        "ExpressionServiceTaskTest.testSetServiceResultToProcessVariables.bpmn20.xml",
    )
    iid = start(client, "setServiceResultToProcessVariables", bean={"value": "ok"})["_id"]
    assert instance(client, iid)["processVariables"] == {"bean": {"value": "ok"}, "result": "ok"}
    [task] = open_tasks(client, iid)
    assert task["taskDefinitionKey"] == "waitState"
    complete(client, task["_id"])
    assert_ended(client, iid, "theEnd")


def test_uel_value_and_method_expressions(client, corpus):
    """UelExpressionTest.testValueAndMethodExpression: order 150 -> "Standard service" (a
    value expression). Order 300 reaches ``${order.isPremiumOrder()}``, a method of Flowable's
    Java bean: on a JSON object the call is refused, the start fails naming the expression and
    nothing runs (Flowable: "Premium service")."""
    deploy(client, corpus, "UelExpressionTest.testValueAndMethodExpression.bpmn20.xml")
    iid = start(client, "uelExpressions", order={"price": 150})["_id"]
    assert names(client, iid) == ["Standard service"]
    complete(client, open_tasks(client, iid)[0]["_id"])
    assert_ended(client, iid, "end1")
    response = _call(
        client, "POST", "processinstance", {"_key": "uelExpressions", "order": {"price": 300}}
    )
    assert response.status_code == 400, response.body
    assert "isPremiumOrder" in json.loads(response.body)["message"]
    listed = expect(
        _call(
            client,
            "GET",
            "processinstance?_queryId=filtered-query&processDefinitionKey=uelExpressions",
        ),
        200,
    )
    assert listed["result"] == []


def test_service_task_delegate_expression(client, corpus):
    """ServiceTaskDelegateExpressionTest.testDelegateExpression (the delegate bean, which sets
    ``executed``, swapped for an expression that does): one task "Task A", variables
    ``{executed: true}``."""
    deploy_text(
        client,
        "delegateExpression",
        corpus_text(
            corpus,
            "ServiceTaskDelegateExpressionTest.testDelegateExpression.bpmn20.xml",
            (
                'flowable:delegateExpression="${delegateBean}"',
                "flowable:expression=\"${execution.setVariable('executed', true)}\"",
            ),
        ),
    )
    iid = start(client, "process")["_id"]
    assert names(client, iid) == ["Task A"]
    assert instance(client, iid)["processVariables"] == {"executed": True}


def test_mail_send_task_sends_through_ses_as_a_job(client, corpus):
    """EmailSendTaskTest.testSimpleTextMail: exactly one mail "Hello Kermit!" to
    kermit@activiti.org, sent by the job the send task parks on (moto's SES keeps it); then the
    process ends. The task names no sender: Flowable's default is its mail server setting
    (flowable@localhost), ours ``WORKFLOW_MAIL_FROM``."""
    import email
    from email import policy

    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    from chalicelib import aws

    aws.client("ses").verify_email_identity(EmailAddress="workflow@example.com")
    deploy(client, corpus, "EmailSendTaskTest.testSimpleTextMail.bpmn20.xml")
    iid = start(client, "simpleTextOnly")["_id"]
    assert is_running(client, iid)  # waiting for its mail job
    run_all_jobs(client)
    [sent] = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    message = email.message_from_string(sent.raw_data, policy=policy.default)
    assert message["From"] == "workflow@example.com" and message["To"] == "kermit@activiti.org"
    assert message["Subject"] == "Hello Kermit!"
    assert message.get_content().strip() == "This a text only e-mail."
    assert_ended(client, iid, "theEnd")


def test_boundary_error_caught_from_the_service_task(client, corpus):
    """BoundaryErrorEventTest.testCatchErrorThrownByJavaDelegateOnServiceTask (the delegate
    that throws a BpmnError swapped for a sub-process ending in an error end event): the
    catch-all boundary error event takes the flow to "Escalated Task"; completing it ends the
    process."""
    name = "BoundaryErrorEventTest.testCatchErrorThrownByJavaDelegateOnServiceTask.bpmn20.xml"
    thrower = (
        '<subProcess id="serviceTask"><startEvent id="inner"/>'
        '<sequenceFlow id="innerFlow" sourceRef="inner" targetRef="throw"/>'
        '<endEvent id="throw"><errorEventDefinition errorRef="delegateError"/></endEvent>'
        "</subProcess>"
    )
    text = corpus_text(
        corpus,
        name,
        (
            '<serviceTask id="serviceTask" activiti:class="org.flowable.engine.test.bpmn.event.'
            'error.ThrowBpmnErrorDelegate" />',
            thrower,
        ),
    )
    deploy_text(client, "catchDelegateError", text)
    iid = start(client, "catchErrorThrownByJavaDelegateOnServiceTask")["_id"]
    assert names(client, iid) == ["Escalated Task"]
    complete(client, open_tasks(client, iid)[0]["_id"])
    assert not is_running(client, iid)


# --- constructs the service does not execute ---------------------------------------------------


#: the files this module deploys as they are, whose deploy is refused, and the elements each
#: refusal names (the first one also runs above, its delegate swapped)
REFUSED_AS_IS = {
    "BoundaryErrorEventTest.testCatchErrorThrownByJavaDelegateOnServiceTask.bpmn20.xml": [
        "serviceTask"
    ],
    "CompensateEventTest.testCompensateServiceTask.bpmn20.xml": [
        "undoBookHotel",
        "compensateBookHotelEvt",
        "throwCompensate",
    ],
    "CompensateEventTest.testCompensateSubprocess.bpmn20.xml": [
        "undoBookHotel",
        "compensateBookHotelEvt",
        "throwCompensate",
    ],
    "ConditionalIntermediateCatchEventTest.testConditionalIntermediateCatchEvent.bpmn20.xml": [
        "catchConditional"
    ],
    "RuleTaskTest.testJavaDelegate.bpmn20.xml": ["theTask"],
    "TransactionSubProcessTest.testSimpleCase.bpmn20.xml": ["tx", "catchCancelTx", "undoBookHotel"],
}


def test_files_with_unexecuted_constructs_are_refused(client, corpus):
    """Each deploy is a 400 whose ``detail.errors`` name each such element (with its line);
    the model lists no deployment (one container for all of them: setup is the cost)."""
    for name, elements in REFUSED_AS_IS.items():
        text = (corpus / "flowable" / name).read_text(encoding="utf-8")
        model = expect(_call(client, "POST", "model", {"name": "Refused", "bpmnXML": text}), 201)
        data = expect(_call(client, "POST", f"model/{model['_id']}?_action=deploy"), 400)
        errors = data["detail"]["errors"]
        assert set(elements) <= {e.get("activityId") for e in errors}, (name, json.dumps(errors))
        assert all(e["xmlLineNumber"] > 0 for e in errors)
        listed = expect(
            _call(client, "POST", f"model/{model['_id']}?_action=list_deployments"), 200
        )
        assert listed["processDefinitionIds"] == []
