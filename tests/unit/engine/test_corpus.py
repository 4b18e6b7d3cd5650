"""Every corpus file parses and validates quickly, and MANIFEST.md expectations hold."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from chalicelib.engine import elements as el
from chalicelib.engine.parser import parse_bpmn
from chalicelib.engine.problems import ProblemCode as P
from chalicelib.engine.validate import validate_bpmn
from tests.support.env import CORPUS

FILES = (
    sorted(p for p in CORPUS.rglob("*") if p.suffix in (".bpmn", ".xml")) if CORPUS.is_dir() else []
)


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_corpus_file_parses_and_validates_quickly(corpus, path):
    started = time.perf_counter()
    report = validate_bpmn(path.read_bytes(), resource_name=path.name)
    assert time.perf_counter() - started < 2.0
    assert report.definitions is not None, report.errors  # the corpus is all well-formed XML
    for problem in report.errors + report.warnings:
        assert problem.description
        assert problem.line > 0 or problem.code in (P.NO_EXECUTABLE_PROCESS,)


def manifest_totals(corpus: Path) -> dict[str, int]:
    """The per-folder BPMN counts of MANIFEST.md's "Totals:" line (``miwg: 29, ...``)."""
    line = next(
        x for x in (corpus / "MANIFEST.md").read_text().splitlines() if x.startswith("Totals:")
    )
    counts = re.search(r"\(([^)]*)\)", line).group(1)
    return {name.strip(): int(n) for name, n in (part.split(":") for part in counts.split(","))}


def test_corpus_is_present_and_complete(corpus):
    totals = manifest_totals(corpus)
    assert sum(totals.values()) == 128  # the four folders the manifest describes
    for folder, expected in totals.items():
        found = [p for p in FILES if p.relative_to(CORPUS).parts[0] == folder]
        assert len(found) == expected, folder


def report_for(corpus: Path, relative: str):
    return validate_bpmn((corpus / relative).read_bytes(), resource_name=relative)


VALID = [
    "flowable/TaskAssigneeTest.testTaskAssignee.bpmn20.xml",
    "flowable/one-task-simple-process.bpmn20.xml",
    "flowable/two-tasks-simple-process.bpmn20.xml",
    "flowable/StartToEndTest.testStartToEnd.bpmn20.xml",
    "flowable/ExclusiveGatewayTest.testDivergingExclusiveGateway.bpmn20.xml",
    "flowable/InclusiveGatewayTest.testDivergingInclusiveGateway.bpmn20.xml",
    "flowable/ParallelGatewayTest.testForkJoin.bpmn20.xml",
    "flowable/MultiInstanceTest.testParallelUserTasksCompletionCondition.bpmn20.xml",
    "flowable/StartTimerEventTest.testCycleDateStartTimerEvent.bpmn20.xml",
    "flowable/StartTimerEventTest.testCycleWithLimitStartTimerEvent.bpmn20.xml",
    "flowable/SignalEventSubprocessTest.testInterruptingUnderProcessDefinition.bpmn20.xml",
    "flowable/ScriptTaskTest.testSetScriptResultToProcessVariable.bpmn20.xml",
    "flowable/ServiceTaskDelegateExpressionTest.testDelegateExpression.bpmn20.xml",
    "flowable/TaskDueDateExtensionsTest.testDueDateExtension.bpmn20.xml",
    "flowable/FormServiceTest.testFormPropertyDetails.bpmn20.xml",
    "flowable/ErrorEventSubProcessTest.testCatchErrorInEmbeddedSubProcess.bpmn20.xml",
    "flowable/BoundaryErrorEventTest.testUncaughtErrorOnCallActivity-parent.bpmn20.xml",
]


@pytest.mark.parametrize("relative", VALID)
def test_files_we_can_run_are_valid(corpus, relative):
    report = report_for(corpus, relative)
    assert report.valid, [(p.code, p.activity_id, p.description) for p in report.errors]


def test_groovy_script_task_is_invalid_with_its_id_and_line(corpus):
    report = report_for(
        corpus, "flowable/BoundaryErrorEventTest.testUncaughtErrorOnScriptTask.bpmn20.xml"
    )
    [error] = report.errors
    assert (error.code, error.activity_id, error.line, error.column) == (
        P.UNSUPPORTED_SCRIPT_LANGUAGE,
        "theScript",
        14,
        9,
    )


def test_openidm_groovy_samples_name_every_script_task(corpus):
    report = report_for(corpus, "openidm/usecase__workflow__accessRequest.bpmn20.xml")
    assert [(e.activity_id, e.line) for e in report.errors] == [
        ("readUserData", 6),
        ("patchManagedUser", 98),
        ("sendAcceptNotification", 113),
        ("sendDenyNotification", 150),
    ]
    assert {e.code for e in report.errors} == {P.UNSUPPORTED_SCRIPT_LANGUAGE}


def test_java_class_service_task_is_invalid_naming_the_element(corpus):
    report = report_for(corpus, "flowable/JavaServiceTaskTest.testJavaServiceDelegation.bpmn20.xml")
    [error] = report.errors
    assert (error.code, error.activity_id, error.line) == (
        P.UNSUPPORTED_JAVA_CLASS,
        "javaService",
        13,
    )
    assert "ToUppercase" in error.description


def test_mail_send_task_is_valid(corpus):
    """Flowable's mail send task runs (issue 15): a job sends it through SES."""
    report = report_for(corpus, "flowable/EmailSendTaskTest.testSimpleTextMail.bpmn20.xml")
    assert not report.errors


def test_business_rule_task_is_invalid(corpus):
    [error] = report_for(corpus, "flowable/RuleTaskTest.testJavaDelegate.bpmn20.xml").errors
    assert (error.code, error.activity_id) == (P.UNSUPPORTED_ELEMENT, "theTask")


def test_conditional_catch_event_is_invalid(corpus):
    [error] = report_for(
        corpus,
        "flowable/ConditionalIntermediateCatchEventTest."
        "testConditionalIntermediateCatchEvent.bpmn20.xml",
    ).errors
    assert (error.code, error.activity_id) == (P.UNSUPPORTED_EVENT, "catchConditional")


def test_transaction_file_reports_every_unsupported_part(corpus):
    report = report_for(corpus, "flowable/TransactionSubProcessTest.testSimpleCase.bpmn20.xml")
    codes = {(e.code, e.activity_id) for e in report.errors}
    assert (P.UNSUPPORTED_ELEMENT, "tx") in codes
    assert (P.UNSUPPORTED_EVENT, "catchCancelTx") in codes
    assert (P.UNSUPPORTED_JAVA_CLASS, "undoBookHotel") in codes


def test_miwg_interchange_only_files_have_nothing_to_deploy(corpus):
    report = report_for(corpus, "miwg/A.1.0.bpmn")
    assert [e.code for e in report.errors] == [P.NO_EXECUTABLE_PROCESS]
    assert P.PROCESS_NOT_EXECUTABLE in {w.code for w in report.warnings}


def test_miwg_b20_parses_everything_and_only_warns_inside_its_processes(corpus):
    report = report_for(corpus, "miwg/B.2.0.bpmn")
    assert [e.code for e in report.errors] == [P.NO_EXECUTABLE_PROCESS]
    kinds = {
        type(node)
        for process in report.definitions.processes.values()
        for node in process.elements.values()
    }
    assert {
        el.EventBasedGateway,
        el.InclusiveGateway,
        el.CallActivity,
        el.SendTask,
        el.BoundaryEvent,
        el.SubProcess,
    } <= kinds
    assert {P.UNSUPPORTED_EVENT, P.UNREACHABLE} & {w.code for w in report.warnings}


def test_spiff_python_conditions_and_quoted_timers_are_invalid(corpus):
    report = report_for(corpus, "spiffworkflow/timer.bpmn")
    [error] = report.errors
    assert error.code is P.TIMER_INVALID and "PT0.25S" in error.description
    report = report_for(corpus, "spiffworkflow/exclusive_gateway_no_default.bpmn")
    assert {e.code for e in report.errors} == {P.CONDITION_NOT_EXPRESSION}


def test_start_timer_values_are_read(corpus):
    definitions = parse_bpmn(
        (
            corpus / "flowable" / "StartTimerEventTest.testCycleWithRepeat"
            "StartTimePeriodAndEnd.bpmn20.xml"
        ).read_bytes()
    )
    start = next(
        node
        for process in definitions.processes.values()
        for node in process.elements.values()
        if isinstance(node, el.StartEvent)
    )
    timer = start.event_definitions[0]
    assert (timer.time_cycle, timer.end_date) == (
        "R2/2021-07-01T19:22:00Z/P1D",
        "2021-07-02T19:22:00Z",
    )


def test_openidm_forms_and_initiator(corpus):
    definitions = parse_bpmn(
        (corpus / "openidm" / "workflow__workflow__contractorOnboarding.bpmn20.xml").read_bytes()
    )
    process = definitions.processes["contractorOnboarding"]
    assert process.start_form_key == "contractorForm.xhtml"
    assert len(process.start_form_properties) == 11
    assert process.initial_start_event.initiator == "startUserId"
    assert "contractorForm.xhtml" in definitions.form_keys()


def test_multi_instance_assignee_template(corpus):
    definitions = parse_bpmn(
        (corpus / "flowable" / "MultiInstanceTest.testParallelUserTasks.bpmn20.xml").read_bytes()
    )
    task = next(iter(definitions.processes.values())).user_tasks[0]
    assert task.assignee == "kermit_${loopCounter}"
    assert task.loop.loop_cardinality == "${5-2}"
