"""Conformance of the executable Flowable corpus files THROUGH THE REST API (MANIFEST.md).

The same files as ``tests/unit/engine/runtime/test_corpus.py`` (those that need no Java
class, Groovy, timers or messages), but driven the way a client does: each file is stored as a
model and deployed (``model`` + ``?_action=deploy``), started with ``POST processinstance``
(``_key``), its user tasks found with ``taskinstance?_queryId=filtered-query`` and claimed /
completed with the task actions, and the outcome read back from ``processinstance/{id}``,
``processinstance/history/{id}`` and ``taskinstance/history``.
"""

from __future__ import annotations

import json
import threading

import pytest

from chalicelib.service.repositories import history as activity_history
from tests.support.conformance import (
    _call,
    act,
    active_activity_ids,
    assert_ended,
    complete,
    corpus_text,
    deploy,
    deploy_text,
    executions,
    history,
    instance,
    is_running,
    names,
    open_tasks,
    start,
    task_history,
)
from tests.support.rest import expect

#: the ``flowable/`` corpus files this module's tests run through the REST API (as they
#: are or with a swap), by exact name: ``test_conformance_rest_coverage`` checks them
#: against the corpus and against the names the tests use
DRIVEN_FILES = (
    "BoundaryErrorEventTest.subprocess.bpmn20.xml",
    "BoundaryErrorEventTest.testUncaughtErrorOnCallActivity-parent.bpmn20.xml",
    "BoundaryErrorEventTest.testUncaughtErrorOnScriptTask.bpmn20.xml",
    "BpmnDeploymentTest.testStartFormKey.bpmn20.xml",
    "ConditionalSequenceFlowTest.testUelExpression.bpmn20.xml",
    "ErrorEventSubProcessTest.testCatchErrorInEmbeddedSubProcess.bpmn20.xml",
    "EscalationEventSubProcessTest.testCatchChildProcessThrowEventInEventSubProcess.bpmn20.xml",
    "EscalationEventSubProcessTest.testCatchEscalationInEmbeddedSubProcess.bpmn20.xml",
    "ExclusiveGatewayTest.testDivergingExclusiveGateway.bpmn20.xml",
    "FormServiceTest.testFormPropertyDetails.bpmn20.xml",
    "InclusiveGatewayTest.testDivergingInclusiveGateway.bpmn20.xml",
    "JavaServiceTaskTest.testJavaServiceDelegation.bpmn20.xml",
    "MultiInstanceTest.testParallelUserTasks.bpmn20.xml",
    "MultiInstanceTest.testParallelUserTasksCompletionCondition.bpmn20.xml",
    "MultiInstanceTest.testSequentialSubProcess.bpmn20.xml",
    "ParallelGatewayTest.testForkJoin.bpmn20.xml",
    "ParallelGatewayTest.testUnstructuredConcurrencyTwoForks.bpmn20.xml",
    "ScriptTaskTest.testSetScriptResultToProcessVariable.bpmn20.xml",
    "StartToEndTest.testStartToEnd.bpmn20.xml",
    "SubProcessTest.testSimpleSubProcess.bpmn20.xml",
    "TaskAssigneeTest.testTaskAssignee.bpmn20.xml",
    "TaskCandidateTest.testMixedCandidateUserAndGroup.bpmn20.xml",
    "TaskDueDateExtensionsTest.testDueDateExtension.bpmn20.xml",
    "TaskPriorityExtensionsTest.testPriorityExtension.bpmn20.xml",
    "TerminateEndEventTest.testTerminateInSubProcess.bpmn",
    "one-task-simple-process.bpmn20.xml",
    "throwEscalationEventSubProcess.bpmn20.xml",
    "two-tasks-simple-process.bpmn20.xml",
)

# --- helpers: the REST calls a client makes ---------------------------------------------------


def claim(client, task_id: str, user: str) -> dict:
    return expect(
        _call(client, "POST", f"taskinstance/{task_id}?_action=claim", {"userId": user}), 200
    )


def children(client, parent_id: str) -> list[str]:
    data = expect(
        _call(
            client,
            "GET",
            f"processinstance?_queryId=filtered-query&superProcessInstanceId={parent_id}",
        ),
        200,
    )
    return [i["_id"] for i in data["result"]]


# --- plain flows ------------------------------------------------------------------------------


def test_start_to_end(client, corpus):
    """StartToEndTest: the instance ends during the start request; nothing stays running."""
    [definition] = deploy(client, corpus, "StartToEndTest.testStartToEnd.bpmn20.xml")
    assert definition.startswith("startToEnd:1:")
    started = start(client, "startToEnd")
    assert started["status"] == "ended" and started["processDefinitionId"] == definition
    assert_ended(client, started["_id"], "theEnd")
    assert instance(client, started["_id"])["tasks"] == []
    assert task_history(client, started["_id"]) == []


def test_one_and_two_task_simple_processes(client, corpus):
    """one-task (MP v1: userTask1Id) and two-tasks (MP v2: userTask1Id -> userTask2Id)."""
    [v1] = deploy(client, corpus, "one-task-simple-process.bpmn20.xml")
    first = start(client, "MP")
    assert first["status"] == "suspended" and first["processDefinitionId"] == v1
    [task] = open_tasks(client, first["_id"])
    assert task["taskDefinitionKey"] == "userTask1Id" and task["name"] == "My User Task"
    assert len(executions(client, first["_id"])) == 2  # root + task, as Flowable counts

    [v2] = deploy(client, corpus, "two-tasks-simple-process.bpmn20.xml")
    assert v1.startswith("MP:1:") and v2.startswith("MP:2:")
    second = start(client, "MP")
    assert second["processDefinitionId"] == v2
    [task1] = open_tasks(client, second["_id"])
    assert task1["taskDefinitionKey"] == "userTask1Id"
    complete(client, task1["_id"], {"step": 1})
    [task2] = open_tasks(client, second["_id"])
    assert task2["taskDefinitionKey"] == "userTask2Id" and task2["name"] == "Last User Task"
    read = instance(client, second["_id"])
    assert read["processVariables"] == {"step": 1}
    assert {t["taskDefinitionKey"]: t["endTime"] is not None for t in read["tasks"]} == {
        "userTask1Id": True,
        "userTask2Id": False,
    }
    complete(client, task2["_id"])
    assert_ended(client, second["_id"], "endEvent1")
    finished = task_history(client, second["_id"])
    assert sorted(t["taskDefinitionKey"] for t in finished) == ["userTask1Id", "userTask2Id"]
    assert all(t["endTime"] is not None and t["deleteReason"] is None for t in finished)
    # v1's instance is untouched by the new version
    assert is_running(client, first["_id"])
    assert [t["_id"] for t in open_tasks(client, first["_id"])] == [task["_id"]]


# --- gateways ---------------------------------------------------------------------------------


def test_parallel_fork_join(client, corpus):
    """fork -> Receive Payment + Ship Order; both done -> join -> single Archive Order."""
    deploy(client, corpus, "ParallelGatewayTest.testForkJoin.bpmn20.xml")
    iid = start(client, "forkJoin")["_id"]
    payment, ship = open_tasks(client, iid)
    assert (payment["name"], ship["name"]) == ("Receive Payment", "Ship Order")
    complete(client, payment["_id"])
    assert names(client, iid) == ["Ship Order"]  # the join waits for the other branch
    complete(client, ship["_id"])
    [archive] = open_tasks(client, iid)
    assert archive["name"] == "Archive Order" and archive["taskDefinitionKey"] == "archiveOrder"
    complete(client, archive["_id"])
    assert_ended(client, iid, "theEnd")
    assert sorted(t["name"] for t in task_history(client, iid)) == [
        "Archive Order",
        "Receive Payment",
        "Ship Order",
    ]


def test_parallel_unstructured_concurrency_two_forks(client, corpus):
    """Two forks, manual tasks, one join, no wait state: ended right after start."""
    deploy(client, corpus, "ParallelGatewayTest.testUnstructuredConcurrencyTwoForks.bpmn20.xml")
    started = start(client, "unstructuredConcurrencyTwoForks")
    assert started["status"] == "ended"
    assert_ended(client, started["_id"], "theEnd")


def test_inclusive_gateway_diverging(client, corpus):
    """${input <= 1/2/3}: input=1 -> 3 tasks, 2 -> Task 2 + Task 3, 3 -> Task 3."""
    deploy(client, corpus, "InclusiveGatewayTest.testDivergingInclusiveGateway.bpmn20.xml")
    for value, expected in [
        (1, ["Task 1", "Task 2", "Task 3"]),
        (2, ["Task 2", "Task 3"]),
        (3, ["Task 3"]),
    ]:
        iid = start(client, "inclusiveGwDiverging", input=value)["_id"]
        assert names(client, iid) == expected, value
        assert instance(client, iid)["processVariables"] == {"input": value}
    # the last one (Task 3 only) runs to its end
    [task] = open_tasks(client, iid)
    complete(client, task["_id"])
    assert_ended(client, iid, "theEnd")


def test_exclusive_gateway_diverging(client, corpus):
    """${input == i}: input=i -> the single task "Task i"; completing it ends the process."""
    deploy(client, corpus, "ExclusiveGatewayTest.testDivergingExclusiveGateway.bpmn20.xml")
    for value in (1, 2, 3):
        iid = start(client, "exclusiveGwDiverging", input=value)["_id"]
        [task] = open_tasks(client, iid)
        assert task["name"] == f"Task {value}" and task["taskDefinitionKey"] == f"theTask{value}"
        complete(client, task["_id"])
        assert_ended(client, iid, "theEnd")


def test_conditional_sequence_flow_uel_expression(client, corpus):
    """${input == 'left'} / ${input == 'right'} on the start event's flows: right -> task right."""
    deploy(client, corpus, "ConditionalSequenceFlowTest.testUelExpression.bpmn20.xml")
    right = start(client, "condSeqFlowUelExpr", input="right")["_id"]
    assert names(client, right) == ["task right"]
    left = start(client, "condSeqFlowUelExpr", input="left")["_id"]
    assert names(client, left) == ["task left"]
    [task] = open_tasks(client, right)
    complete(client, task["_id"])
    # task2 has no outgoing flow: the instance ends there (implicit end)
    assert_ended(client, right, "task2")
    assert history(client, right)["processVariables"] == {"input": "right"}


# --- sub-processes, multi-instance ------------------------------------------------------------


def test_simple_sub_process(client, corpus):
    """ "Task in subprocess" active; completing it ends the whole process."""
    deploy(client, corpus, "SubProcessTest.testSimpleSubProcess.bpmn20.xml")
    iid = start(client, "simpleSubProcess")["_id"]
    [task] = open_tasks(client, iid)
    assert task["name"] == "Task in subprocess" and task["taskDefinitionKey"] == "subProcessTask"
    assert task["executionId"] != iid  # the task runs in the sub-process scope
    assert active_activity_ids(client, iid) == ["subProcess", "subProcessTask"]
    read = instance(client, iid)
    assert read["endTime"] is None and [t["_id"] for t in read["tasks"]] == [task["_id"]]
    complete(client, task["_id"])
    assert_ended(client, iid, "theEnd")


def test_multi_instance_parallel_user_tasks(client, corpus):
    """Cardinality ${5-2}: "My Task 0..2" assigned kermit_0..2 at once; all done -> end."""
    deploy(client, corpus, "MultiInstanceTest.testParallelUserTasks.bpmn20.xml")
    iid = start(client, "miParallelUserTasks")["_id"]
    tasks = open_tasks(client, iid)
    assert [(t["name"], t["assignee"]) for t in tasks] == [
        ("My Task 0", "kermit_0"),
        ("My Task 1", "kermit_1"),
        ("My Task 2", "kermit_2"),
    ]
    for task in tasks[:2]:
        complete(client, task["_id"])
        assert is_running(client, iid)
    complete(client, tasks[2]["_id"])
    assert_ended(client, iid, "theEnd")
    assert len(task_history(client, iid)) == 3


def test_multi_instance_parallel_completion_condition(client, corpus):
    """5 parallel tasks, completion >= 0.5: the 3rd completion cancels the other 2 and ends."""
    deploy(client, corpus, "MultiInstanceTest.testParallelUserTasksCompletionCondition.bpmn20.xml")
    iid = start(client, "miParallelUserTasksCompletionCondition")["_id"]
    tasks = open_tasks(client, iid)
    assert [t["name"] for t in tasks] == [f"My Task {i}" for i in range(5)]
    complete(client, tasks[0]["_id"])
    complete(client, tasks[1]["_id"])
    assert len(open_tasks(client, iid)) == 3
    complete(client, tasks[2]["_id"])
    assert_ended(client, iid, "theEnd")
    done = {t["_id"]: t for t in task_history(client, iid)}
    assert len(done) == 5 and all(t["endTime"] is not None for t in done.values())
    assert [done[t["_id"]]["deleteReason"] for t in tasks[:3]] == [None, None, None]
    assert [done[t["_id"]]["deleteReason"] for t in tasks[3:]] == ["MI_END", "MI_END"]


def test_multi_instance_sequential_sub_process(client, corpus):
    """Sequential MI sub-process x4, each "task one" + "task two" in parallel; ends after 4th."""
    deploy(client, corpus, "MultiInstanceTest.testSequentialSubProcess.bpmn20.xml")
    iid = start(client, "miSequentialSubprocess")["_id"]
    for _ in range(4):
        tasks = open_tasks(client, iid)
        assert [t["name"] for t in tasks] == ["task one", "task two"]
        assert active_activity_ids(client, iid) == [
            "miSubProcess",
            "subProcessTask1",
            "subProcessTask2",
        ]
        for task in tasks:
            complete(client, task["_id"])
    assert_ended(client, iid, "theEnd")
    assert len(task_history(client, iid)) == 8


# --- end events, event sub-processes ----------------------------------------------------------


def test_terminate_end_event_in_sub_process(client, corpus):
    """Terminate inside the embedded sub-process ends only that scope; the parent continues."""
    deploy(client, corpus, "TerminateEndEventTest.testTerminateInSubProcess.bpmn")
    started = start(client, "terminateEndEventExample")
    assert started["status"] == "suspended"
    [task] = open_tasks(client, started["_id"])
    assert task["name"] == "check before normal end"
    complete(client, task["_id"])
    assert_ended(client, started["_id"], "EndEvent_4")


def test_error_event_sub_process_in_embedded_sub_process(client, corpus):
    """Error end in the sub-process, caught by its error event sub-process -> Escalated Task."""
    deploy(client, corpus, "ErrorEventSubProcessTest.testCatchErrorInEmbeddedSubProcess.bpmn20.xml")
    iid = start(client, "CatchErrorInEmbeddedSubProcess")["_id"]
    [task] = open_tasks(client, iid)
    assert task["name"] == "Escalated Task"
    assert task["taskDefinitionKey"] == "taskAfterErrorCatch"
    complete(client, task["_id"], {"handled": True})
    # the event sub-process ends its sub-process scope, which leaves by flow3 to theEnd
    record = assert_ended(client, iid, "theEnd")
    assert record["processVariables"] == {"handled": True}
    [done] = instance(client, iid)["tasks"]
    assert done["_id"] == task["_id"] and done["taskLocalVariables"] == {"handled": True}


def test_escalation_event_sub_process_in_embedded_sub_process(client, corpus):
    """Escalation end caught by an escalation event sub-process -> Escalated Task; -> end."""
    deploy(
        client,
        corpus,
        "EscalationEventSubProcessTest.testCatchEscalationInEmbeddedSubProcess.bpmn20.xml",
    )
    iid = start(client, "catchEscalationInEmbeddedSubProcess")["_id"]
    [task] = open_tasks(client, iid)
    assert task["name"] == "Escalated Task"
    assert task["taskDefinitionKey"] == "taskAfterEscalationCatch"
    complete(client, task["_id"])
    assert_ended(client, iid, "theEnd")


def test_escalation_from_called_process_caught_in_parent_event_sub_process(client, corpus):
    """Child throws after taskBefore: child goes on to taskAfter, parent gets Escalated Task
    (non-interrupting); the parent ends only when both are done."""
    deploy(client, corpus, "throwEscalationEventSubProcess.bpmn20.xml")
    deploy(
        client,
        corpus,
        "EscalationEventSubProcessTest.testCatchChildProcessThrowEventInEventSubProcess.bpmn20.xml",
    )
    parent = start(client, "catchEscalationInEventSubProcess")
    assert parent["status"] == "suspended"
    pid = parent["_id"]
    [child] = children(client, pid)
    assert open_tasks(client, pid) == []
    [before] = open_tasks(client, child)
    assert before["taskDefinitionKey"] == "taskBefore"
    complete(client, before["_id"])
    [after] = open_tasks(client, child)
    assert after["taskDefinitionKey"] == "taskAfter"
    [escalated] = open_tasks(client, pid)
    assert escalated["name"] == "Escalated Task"
    complete(client, escalated["_id"])
    assert is_running(client, pid)  # the call activity still waits for the child
    complete(client, after["_id"])
    assert_ended(client, child, "theEnd")
    assert_ended(client, pid, "theEnd")
    assert history(client, child)["superProcessInstanceId"] == pid


def test_uncaught_error_from_called_process_fails_the_complete(client, corpus):
    """NEGATIVE: the child's task leads to error end myError, caught neither in the child nor
    the parent: the complete is a 400 with Flowable's message, and nothing is written."""
    deploy(client, corpus, "BoundaryErrorEventTest.subprocess.bpmn20.xml")
    deploy(
        client, corpus, "BoundaryErrorEventTest.testUncaughtErrorOnCallActivity-parent.bpmn20.xml"
    )
    pid = start(client, "uncaughtErrorOnCallActivity")["_id"]
    [child] = children(client, pid)
    [task] = open_tasks(client, child)
    assert task["name"] == "Task in subprocess"
    data = expect(
        _call(client, "POST", f"taskinstance/{task['_id']}?_action=complete", {"tried": True}),
        400,
        "No catching boundary event found for error with errorCode 'myError', "
        "neither in same process nor in parent process",
    )
    assert data["detail"]["type"] == "bpmn-error" and data["detail"]["errorCode"] == "myError"
    assert [t["_id"] for t in open_tasks(client, child)] == [task["_id"]]
    assert is_running(client, child) and is_running(client, pid)
    assert "tried" not in instance(client, child)["processVariables"]


def test_juel_script_result_variable_parent_navigation_is_refused(client, corpus):
    """MANIFEST: existingProcessVariableName becomes "hello"; the second script reads
    ``execution.parent.id``, which the expression whitelist does not offer (the same
    decision as test_rt_corpus), so the start is a 400 naming that task; nothing is kept."""
    deploy(client, corpus, "ScriptTaskTest.testSetScriptResultToProcessVariable.bpmn20.xml")
    data = expect(
        _call(
            client,
            "POST",
            "processinstance",
            {
                "_key": "setScriptResultToProcessVariable",
                "echo": "hello",
                "existingProcessVariableName": "one",
            },
        ),
        400,
        "execution.parent.id",
    )
    assert data["detail"] == {
        "type": "expression",
        "activityId": "theScriptTaskWithNewProcessVariableName",
    }
    listed = expect(_call(client, "GET", "processinstance?_queryFilter=true"), 200)
    assert listed["result"] == []


# --- user task attributes ---------------------------------------------------------------------


def test_task_assignee(client, corpus):
    """humanPerformer kermit: "Schedule meeting" assigned to kermit, with its description."""
    deploy(client, corpus, "TaskAssigneeTest.testTaskAssignee.bpmn20.xml")
    iid = start(client, "taskAssigneeExampleProcess")["_id"]
    [task] = open_tasks(client, iid)
    assert task["name"] == "Schedule meeting" and task["assignee"] == "kermit"
    assert "Schedule an engineering meeting" in task["description"]
    found = expect(
        _call(client, "GET", "taskinstance?_queryId=filtered-query&assignee=kermit"), 200
    )
    assert [t["_id"] for t in found["result"]] == [task["_id"]]
    complete(client, task["_id"])
    record = assert_ended(client, iid, "theEnd")
    assert record["processDefinitionResourceName"] == "Schedule meeting reminder"  # the name
    [done] = task_history(client, iid)
    assert done["assignee"] == "kermit" and done["endTime"] is not None


@pytest.mark.parametrize("priority", [25, 75])
def test_task_priority_extension(client, corpus, priority):
    """activiti:priority="${taskPriority}": the task's priority is the variable."""
    deploy(client, corpus, "TaskPriorityExtensionsTest.testPriorityExtension.bpmn20.xml")
    iid = start(client, "taskPriorityExtension", taskPriority=priority)["_id"]
    [task] = open_tasks(client, iid)
    assert task["priority"] == priority
    found = expect(
        _call(client, "GET", f"taskinstance?_queryId=filtered-query&priority={priority}"), 200
    )
    assert [t["_id"] for t in found["result"]] == [task["_id"]]


def test_task_due_date_extension(client, corpus):
    """flowable:dueDate="${var}": each task's dueDate is its variable (a date: start of day)."""
    deploy(client, corpus, "TaskDueDateExtensionsTest.testDueDateExtension.bpmn20.xml")
    iid = start(
        client,
        "dueDateExtension",
        dateVariable="2026-03-01T10:00:00.000Z",
        localDateVariable="2026-03-02",
        instantVariable="2026-03-03T11:12:13.456Z",
        localDateTimeVariable="2026-03-04T08:00:00",
    )["_id"]
    due = {t["taskDefinitionKey"]: t["dueDate"] for t in open_tasks(client, iid)}
    assert due == {
        "dateTask": "2026-03-01T10:00:00.000Z",
        "localDateTask": "2026-03-02T00:00:00.000Z",
        "instantTask": "2026-03-03T11:12:13.456Z",
        "localDateTimeTask": "2026-03-04T08:00:00.000Z",
    }
    found = expect(
        _call(client, "GET", "taskinstance?_queryId=filtered-query&dueBefore=2026-03-02T12:00:00Z"),
        200,
    )
    assert sorted(t["taskDefinitionKey"] for t in found["result"]) == ["dateTask", "localDateTask"]


# --- candidates (users file: kermit; gonzo in group sales; fozzie unrelated) ------------------

USERS = {"kermit": "kermit-pw", "gonzo": "gonzo-pw", "fozzie": "fozzie-pw"}
AUTHORIZED = "internal/role/openidm-authorized"


def as_user(name: str) -> dict:
    return {
        "X-OpenIDM-Username": name,
        "X-OpenIDM-Password": USERS[name],
        "Content-Type": "application/json",
    }


@pytest.fixture
def muppets_client(moto_backend, tmp_path):
    from chalice.test import Client

    import app as application
    from chalicelib import bootstrap
    from chalicelib.auth.passwords import hash_password
    from chalicelib.clock import FixedClock
    from chalicelib.settings import Settings
    from tests.support.env import TEST_ENV

    def user(name, password, roles, groups=()):
        return {
            "username": name,
            "password": hash_password(password, iterations=1000),
            "roles": list(roles),
            "groups": list(groups),
        }

    users = {
        "users": [
            user("openidm-admin", "openidm-admin", ["internal/role/openidm-admin", AUTHORIZED]),
            user("kermit", USERS["kermit"], [AUTHORIZED]),
            user("gonzo", USERS["gonzo"], [AUTHORIZED], ["sales"]),
            user("fozzie", USERS["fozzie"], [AUTHORIZED], ["management"]),
        ]
    }
    (tmp_path / "users.json").write_text(json.dumps(users))
    settings = Settings.from_env(dict(TEST_ENV, WORKFLOW_USERS_FILE=str(tmp_path / "users.json")))
    container = bootstrap.build_container(settings, clock=FixedClock())
    bootstrap.set_container(container)
    try:
        with Client(application.app, stage_name="local") as test_client:
            yield test_client
    finally:
        bootstrap.reset_container()


def test_task_candidates_mixed_user_and_group(muppets_client, corpus):
    """potentialOwner "user(kermit), group(sales)": a candidate task for kermit and for gonzo
    (member of sales), not for fozzie; once claimed it leaves the unassigned queries."""
    client = muppets_client
    deploy(client, corpus, "TaskCandidateTest.testMixedCandidateUserAndGroup.bpmn20.xml")
    iid = start(client, "mixedCandidateUserAndGroupExample")["_id"]
    [task] = open_tasks(client, iid)
    assert task["name"] == "Write financial report" and task["assignee"] is None
    read = expect(_call(client, "GET", f"taskinstance/{task['_id']}"), 200)
    assert "bi-monthly financial report" in read["description"]

    def candidate_query(param: str) -> list[str]:
        data = expect(_call(client, "GET", f"taskinstance?_queryId=filtered-query&{param}"), 200)
        return [t["_id"] for t in data["result"]]

    assert candidate_query("taskCandidateUser=kermit") == [task["_id"]]
    assert candidate_query("taskCandidateUser=gonzo") == [task["_id"]]
    assert candidate_query("taskCandidateUser=fozzie") == []
    assert candidate_query("taskCandidateGroup=sales") == [task["_id"]]
    assert candidate_query("taskCandidateGroup=management") == []

    def unassigned(name: str) -> list[str]:
        data = expect(
            _call(
                client, "GET", "taskinstance?_queryId=unassignedTaskQuery", headers=as_user(name)
            ),
            200,
        )
        return [t["_id"] for t in data["result"]]

    assert unassigned("kermit") == [task["_id"]]
    assert unassigned("gonzo") == [task["_id"]]
    assert unassigned("fozzie") == []

    claim(client, task["_id"], "gonzo")
    assert unassigned("kermit") == [] and unassigned("gonzo") == []
    assert candidate_query("taskCandidateUser=kermit") == []  # candidates: unassigned only
    expect(
        _call(
            client,
            "POST",
            f"taskinstance/{task['_id']}?_action=complete",
            {"report": "written"},
            headers=as_user("gonzo"),
        ),
        200,
    )
    assert_ended(client, iid, "theEnd")
    [done] = task_history(client, iid)
    assert done["assignee"] == "gonzo" and done["taskLocalVariables"] == {"report": "written"}
    record = history(client, iid)
    assert record["processVariables"] == {"report": "written"}
    assert record["processDefinitionResourceName"] == "Write bi-monthly financial report"


# --- definitions: start form key, form properties, invalid files ------------------------------


def test_start_form_key(client, corpus):
    """startEvent activiti:formKey="test": hasStartFormKey; the instance runs to its end."""
    [definition] = deploy(
        client,
        corpus,
        "BpmnDeploymentTest.testStartFormKey.bpmn20.xml",
        {"test": "<form>start</form>"},
    )
    read = expect(_call(client, "GET", f"processdefinition/{definition}"), 200)
    assert read["hasStartFormKey"] is True and read["formResourceKey"] == "test"
    assert read["formGenerationTemplate"] == "<form>start</form>"
    started = start(client, "emptyProcess")
    assert started["status"] == "ended"
    assert_ended(client, started["_id"], "end")


def test_form_property_details(client, corpus):
    """Start form: speaker (string, variable SpeakerName), start (date dd-MMM-yyyy),
    direction (enum left/right/up/down); all readable and writable, none required."""
    [definition] = deploy(client, corpus, "FormServiceTest.testFormPropertyDetails.bpmn20.xml")
    read = expect(_call(client, "GET", f"processdefinition/{definition}"), 200)
    speaker, begin, direction = read["formProperties"]
    assert (speaker["_id"], speaker["name"], speaker["variableName"]) == (
        "speaker",
        "Speaker",
        "SpeakerName",
    )
    assert speaker["type"] == {"name": "string", "values": None, "datePattern": None}
    assert begin["_id"] == "start"
    assert begin["type"] == {"name": "date", "values": None, "datePattern": "dd-MMM-yyyy"}
    assert direction["_id"] == "direction" and direction["type"]["name"] == "enum"
    assert direction["type"]["values"] == {
        "left": "Go Left",
        "right": "Go Right",
        "up": "Go Up",
        "down": "Go Down",
    }
    for prop in (speaker, begin, direction):
        assert prop["readable"] is True and prop["writable"] is True
        assert prop["required"] is False
    assert read["hasStartFormKey"] is False


#: the files this module deploys as they are, whose deploy is refused, and the element each
#: refusal names: a Groovy script task, a Java class service task (both also run below with
#: that element swapped)
REFUSED_AS_IS = {
    "BoundaryErrorEventTest.testUncaughtErrorOnScriptTask.bpmn20.xml": "theScript",
    "JavaServiceTaskTest.testJavaServiceDelegation.bpmn20.xml": "javaService",
}


@pytest.mark.parametrize("name, element", sorted(REFUSED_AS_IS.items()))
def test_unsupported_file_is_refused_naming_the_element(client, corpus, name, element):
    """A Groovy script task / a Java class service task: the deploy is a 400 whose
    ``detail.errors`` name the element (with its line); nothing is deployed."""
    text = (corpus / "flowable" / name).read_text(encoding="utf-8")
    model = expect(_call(client, "POST", "model", {"name": "Refused", "bpmnXML": text}), 201)
    data = expect(_call(client, "POST", f"model/{model['_id']}?_action=deploy"), 400)
    errors = data["detail"]["errors"]
    assert any(element in json.dumps(e) for e in errors), errors
    assert all(e["xmlLineNumber"] > 0 for e in errors)
    listed = expect(_call(client, "POST", f"model/{model['_id']}?_action=list_deployments"), 200)
    assert listed["processDefinitionIds"] == []


def test_uncaught_error_on_script_task_fails_the_start(client, corpus):
    """BoundaryErrorEventTest.testUncaughtErrorOnScriptTask, over REST. The Groovy script
    throws ``new BpmnError("errorUncaught")``; a script here cannot throw a BPMN error (any
    thrown value is a script failure), so ``theScript`` becomes a sub-process of the same id
    whose error end event throws that code. Its boundary event catches only ``errorOne``, so,
    as Flowable's ``startProcessInstanceByKey`` throws BpmnError "No catching boundary event
    found for error with errorCode 'errorUncaught', neither in same process nor in parent
    process", the start is a 400 with that message and no instance is kept."""
    thrower = (
        '<subProcess id="theScript"><startEvent id="scriptStart"/>'
        '<sequenceFlow id="scriptFlow" sourceRef="scriptStart" targetRef="scriptThrow"/>'
        '<endEvent id="scriptThrow"><errorEventDefinition errorRef="errorUncaught"/>'
        "</endEvent></subProcess>"
    )
    name = "BoundaryErrorEventTest.testUncaughtErrorOnScriptTask.bpmn20.xml"
    text = (corpus / "flowable" / name).read_text(encoding="utf-8")
    script = text[text.index('<scriptTask id="theScript"') : text.index("</scriptTask>") + 13]
    assert 'throw new BpmnError("errorUncaught")' in script
    deploy_text(client, "uncaughtErrorOnScriptTask", corpus_text(corpus, name, (script, thrower)))
    data = expect(
        _call(client, "POST", "processinstance", {"_key": "uncaughtErrorOnScriptTask"}),
        400,
        "No catching boundary event found for error with errorCode 'errorUncaught', "
        "neither in same process nor in parent process",
    )
    assert data["detail"]["type"] == "bpmn-error"
    assert data["detail"]["errorCode"] == "errorUncaught"
    listed = expect(
        _call(
            client,
            "GET",
            "processinstance/history?_queryId=filtered-query"
            "&processDefinitionKey=uncaughtErrorOnScriptTask",
        ),
        200,
    )
    assert listed["result"] == []


def test_java_service_delegation(client, corpus):
    """JavaServiceTaskTest.testJavaServiceDelegation, over REST (the ToUppercase delegate
    swapped for an expression that does what it does): started with ``input`` "Flowable BPM
    Engine", the instance waits at ``waitState`` with ``input`` "FLOWABLE BPM ENGINE"; a
    trigger ends it."""
    deploy_text(
        client,
        "javaServiceDelegation",
        corpus_text(
            corpus,
            "JavaServiceTaskTest.testJavaServiceDelegation.bpmn20.xml",
            (
                'activiti:class="org.flowable.examples.bpmn.servicetask.ToUppercase"',
                "activiti:expression=\"${execution.setVariable('input', input.toUpperCase())}\"",
            ),
        ),
    )
    iid = start(client, "javaServiceDelegation", input="Flowable BPM Engine")["_id"]
    [waiting] = [e for e in executions(client, iid) if e["activityId"] == "waitState"]
    assert instance(client, iid)["processVariables"] == {"input": "FLOWABLE BPM ENGINE"}
    act(client, "trigger", {"executionId": waiting["_id"], "transientVariables": {}})
    assert_ended(client, iid, "theEnd")


# --- concurrency: two branches completed at once join exactly once ----------------------------


def test_parallel_branches_completed_concurrently_join_once(client, container, corpus):
    """Both branch tasks of testForkJoin completed by two threads at the same moment: both
    completes succeed, the join fires once (one Archive Order), the process ends once."""
    deploy(client, corpus, "ParallelGatewayTest.testForkJoin.bpmn20.xml")
    for _ in range(3):
        iid = start(client, "forkJoin")["_id"]
        branches = open_tasks(client, iid)
        assert [t["name"] for t in branches] == ["Receive Payment", "Ship Order"]
        barrier = threading.Barrier(len(branches))
        statuses: dict[str, int] = {}

        def run(task_id: str) -> None:
            barrier.wait()
            response = _call(client, "POST", f"taskinstance/{task_id}?_action=complete", {})
            statuses[task_id] = response.status_code

        threads = [threading.Thread(target=run, args=(t["_id"],)) for t in branches]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses.values()) == [200, 200], statuses
        [archive] = open_tasks(client, iid)
        assert archive["name"] == "Archive Order"
        complete(client, archive["_id"])
        assert_ended(client, iid, "theEnd")
        tasks = task_history(client, iid)
        assert sorted(t["taskDefinitionKey"] for t in tasks) == [
            "archiveOrder",
            "receivePayment",
            "shipOrder",
        ]
        ended = expect(
            _call(
                client,
                "GET",
                f"processinstance/history?_queryId=filtered-query&processInstanceId={iid}",
            ),
            200,
        )["result"]
        assert len(ended) == 1 and ended[0]["endActivityId"] == "theEnd"
        # the historic activities (no REST route lists them): one Archive Order, one end
        recorded = [a["activityId"] for a in activity_history.read(container.store, iid)]
        assert recorded.count("archiveOrder") == 1 and recorded.count("theEnd") == 1, recorded
