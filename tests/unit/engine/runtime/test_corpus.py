"""Conformance runs of the executable Flowable corpus files (expected behaviour: MANIFEST.md).

Every command starts from JSON-decoded records (``InMemoryWorld``). Files needing Java beans,
Groovy, timers, messages or signals are not run here.
"""

from __future__ import annotations

import pytest

from chalicelib.engine.runtime import HistoryKind
from chalicelib.errors import ProcessFailure
from tests.support.engine import task_named, task_names


@pytest.fixture
def deploy(world, flowable_corpus):
    def _deploy(*names: str) -> None:
        for name in names:
            world.deploy((flowable_corpus / name).read_bytes())

    return _deploy


def test_start_to_end(world, deploy):
    deploy("StartToEndTest.testStartToEnd.bpmn20.xml")
    iid = world.start("startToEnd")
    assert world.is_ended(iid) and list(world.items[iid]) == [f"instance#{iid}"]


def test_parallel_fork_join(world, deploy):
    deploy("ParallelGatewayTest.testForkJoin.bpmn20.xml")
    iid = world.start("forkJoin")
    assert task_names(world, iid) == ["Receive Payment", "Ship Order"]
    for task in world.tasks(iid):
        world.complete(task.id)
    assert task_names(world, iid) == ["Archive Order"]


def test_parallel_unstructured_two_forks(world, deploy):
    deploy("ParallelGatewayTest.testUnstructuredConcurrencyTwoForks.bpmn20.xml")
    assert world.is_ended(world.start("unstructuredConcurrencyTwoForks"))


@pytest.mark.parametrize(
    "value,expected",
    [(1, ["Task 1", "Task 2", "Task 3"]), (2, ["Task 2", "Task 3"]), (3, ["Task 3"])],
)
def test_inclusive_diverging(world, deploy, value, expected):
    deploy("InclusiveGatewayTest.testDivergingInclusiveGateway.bpmn20.xml")
    assert task_names(world, world.start("inclusiveGwDiverging", {"input": value})) == expected


@pytest.mark.parametrize("value", [1, 2, 3])
def test_exclusive_diverging(world, deploy, value):
    deploy("ExclusiveGatewayTest.testDivergingExclusiveGateway.bpmn20.xml")
    assert task_names(world, world.start("exclusiveGwDiverging", {"input": value})) == [
        f"Task {value}"
    ]


def test_conditional_sequence_flow(world, deploy):
    deploy("ConditionalSequenceFlowTest.testUelExpression.bpmn20.xml")
    assert task_names(world, world.start("condSeqFlowUelExpr", {"input": "right"})) == [
        "task right"
    ]


def test_simple_sub_process(world, deploy):
    deploy("SubProcessTest.testSimpleSubProcess.bpmn20.xml")
    iid = world.start("simpleSubProcess")
    assert task_names(world, iid) == ["Task in subprocess"]
    acts = [a["activityId"] for a in world.history_of(HistoryKind.ACTIVITY_INSTANCE, iid)]
    assert acts == ["theStart", "flow1", "subProcess", "subProcessStart", "flow2", "subProcessTask"]
    world.complete(world.tasks(iid)[0].id)
    assert world.is_ended(iid)


def test_mi_parallel_user_tasks(world, deploy):
    deploy("MultiInstanceTest.testParallelUserTasks.bpmn20.xml")
    iid = world.start("miParallelUserTasks")
    tasks = world.tasks(iid)
    assert sorted((t.name, t.assignee) for t in tasks) == [
        ("My Task 0", "kermit_0"),
        ("My Task 1", "kermit_1"),
        ("My Task 2", "kermit_2"),
    ]
    for task in tasks:
        world.complete(task.id)
    assert world.is_ended(iid)


def test_mi_parallel_completion_condition(world, deploy):
    deploy("MultiInstanceTest.testParallelUserTasksCompletionCondition.bpmn20.xml")
    iid = world.start("miParallelUserTasksCompletionCondition")
    assert len(world.tasks(iid)) == 5
    for _ in range(2):
        world.complete(world.tasks(iid)[0].id)
    assert len(world.tasks(iid)) == 3
    world.complete(world.tasks(iid)[0].id)
    assert world.is_ended(iid) and world.tasks(iid) == []


def test_mi_sequential_sub_process(world, deploy):
    deploy("MultiInstanceTest.testSequentialSubProcess.bpmn20.xml")
    iid = world.start("miSequentialSubprocess")
    for _ in range(4):
        assert task_names(world, iid) == ["task one", "task two"]
        assert sorted(world.state(iid).active_activity_ids()) == [  # MANIFEST: 3 ids
            "miSubProcess",
            "subProcessTask1",
            "subProcessTask2",
        ]
        for task in world.tasks(iid):
            world.complete(task.id)
    assert world.is_ended(iid)


def test_terminate_in_sub_process(world, deploy):
    deploy("TerminateEndEventTest.testTerminateInSubProcess.bpmn")
    iid = world.start("terminateEndEventExample")
    assert task_names(world, iid) == ["check before normal end"]
    world.complete(world.tasks(iid)[0].id)
    assert world.is_ended(iid)


def test_error_event_sub_process(world, deploy):
    deploy("ErrorEventSubProcessTest.testCatchErrorInEmbeddedSubProcess.bpmn20.xml")
    iid = world.start("CatchErrorInEmbeddedSubProcess")
    assert task_names(world, iid) == ["Escalated Task"]
    world.complete(world.tasks(iid)[0].id)
    assert world.is_ended(iid)


def test_escalation_event_sub_process_in_embedded_sub_process(world, deploy):
    deploy("EscalationEventSubProcessTest.testCatchEscalationInEmbeddedSubProcess.bpmn20.xml")
    iid = world.start("catchEscalationInEmbeddedSubProcess")
    assert task_names(world, iid) == ["Escalated Task"]
    world.complete(world.tasks(iid)[0].id)
    assert world.is_ended(iid)


def test_escalation_from_called_process_caught_by_parent_event_sub_process(world, deploy):
    deploy(
        "EscalationEventSubProcessTest.testCatchChildProcessThrowEventInEventSubProcess.bpmn20.xml",
        "throwEscalationEventSubProcess.bpmn20.xml",
    )
    pid = world.start("catchEscalationInEventSubProcess")
    child = next(i for i in world.items if i != pid)
    assert task_names(world, child) == ["taskBefore"] or len(world.tasks(child)) == 1
    world.complete(world.tasks(child)[0].id)
    assert len(world.tasks(child)) == 1  # the child went on to taskAfter
    assert task_names(world, pid) == ["Escalated Task"]
    world.complete(task_named(world, pid, "Escalated Task").id)
    assert not world.is_ended(pid)
    world.complete(world.tasks(child)[0].id)
    assert world.is_ended(child) and world.is_ended(pid)


def test_uncaught_error_on_call_activity(world, deploy):
    deploy(
        "BoundaryErrorEventTest.subprocess.bpmn20.xml",
        "BoundaryErrorEventTest.testUncaughtErrorOnCallActivity-parent.bpmn20.xml",
    )
    pid = world.start("uncaughtErrorOnCallActivity")
    child = next(i for i in world.items if i != pid)
    assert task_names(world, child) == ["Task in subprocess"]
    with pytest.raises(ProcessFailure) as failure:
        world.complete(world.tasks(child)[0].id)
    assert failure.value.kind == "bpmn-error" and failure.value.error_code == "myError"
    assert (
        "No catching boundary event found for error with errorCode 'myError', neither in "
        "same process nor in parent process"
    ) in str(failure.value)
    assert task_names(world, child) == ["Task in subprocess"]


def test_task_assignee(world, deploy):
    deploy("TaskAssigneeTest.testTaskAssignee.bpmn20.xml")
    iid = world.start("taskAssigneeExampleProcess")
    [task] = world.tasks(iid)
    assert task.name == "Schedule meeting" and task.assignee == "kermit" and task.description
    world.complete(task.id)
    assert world.is_ended(iid)


def test_task_candidates(world, deploy):
    deploy("TaskCandidateTest.testMixedCandidateUserAndGroup.bpmn20.xml")
    [task] = world.tasks(world.start("mixedCandidateUserAndGroupExample"))
    assert task.candidate_users == ("kermit",) and task.candidate_groups == ("sales",)


@pytest.mark.parametrize("priority", [25, 75])
def test_task_priority_extension(world, deploy, priority):
    deploy("TaskPriorityExtensionsTest.testPriorityExtension.bpmn20.xml")
    [task] = world.tasks(world.start("taskPriorityExtension", {"taskPriority": priority}))
    assert task.priority == priority


def test_task_due_date_extension(world, deploy):
    deploy("TaskDueDateExtensionsTest.testDueDateExtension.bpmn20.xml")
    iid = world.start(
        "dueDateExtension",
        {
            "dateVariable": "2026-03-01T10:00:00Z",
            "localDateVariable": "2026-03-02",
            "instantVariable": "2026-03-03T11:12:13.456Z",
            "localDateTimeVariable": "2026-03-04T08:00:00",
        },
    )
    due = {t.task_definition_key: t.due_date for t in world.tasks(iid)}
    assert due == {
        "dateTask": "2026-03-01T10:00:00.000Z",
        "localDateTask": "2026-03-02T00:00:00.000Z",
        "instantTask": "2026-03-03T11:12:13.456Z",
        "localDateTimeTask": "2026-03-04T08:00:00.000Z",
    }


def test_one_and_two_task_processes(world, deploy):
    deploy("one-task-simple-process.bpmn20.xml")
    iid = world.start("MP")
    assert len(world.state(iid).executions) == 2  # root + task, as Flowable counts
    deploy("two-tasks-simple-process.bpmn20.xml")
    iid = world.start("MP")
    world.complete(world.tasks(iid)[0].id)
    assert [t.task_definition_key for t in world.tasks(iid)] == ["userTask2Id"]
    world.complete(world.tasks(iid)[0].id)
    assert world.is_ended(iid)


def test_juel_script_result_variable(world, deploy):
    """MANIFEST: existingProcessVariableName becomes "hello"; the second script reads
    ``execution.parent.id``, which the expression whitelist does not offer (no parent
    navigation), so that start fails with an expression failure naming the task."""
    deploy("ScriptTaskTest.testSetScriptResultToProcessVariable.bpmn20.xml")
    with pytest.raises(ProcessFailure) as failure:
        world.start(
            "setScriptResultToProcessVariable",
            {"echo": "hello", "existingProcessVariableName": "one"},
        )
    assert failure.value.kind == "expression"
    assert failure.value.activity_id == "theScriptTaskWithNewProcessVariableName"


NOT_RUN = {
    "ExpressionServiceTaskTest / UelExpressionTest / ExclusiveGatewayTest.testDecideBasedOn"
    "BeanMethod / ServiceTaskDelegateExpressionTest": "need Java beans (bean methods)",
    "BoundaryErrorEventTest.testUncaughtErrorOnScriptTask": "Groovy script",
}
