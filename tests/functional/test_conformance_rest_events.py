"""Conformance of the Flowable corpus's event files THROUGH THE REST API (MANIFEST.md).

The timer, message, signal, event sub-process and async files of ``flowable/`` that need no
Java class or Groovy (the engine-level runs are ``tests/unit/engine/runtime/test_events_*``),
driven as a client drives them: deployed as a model (``model`` + ``?_action=deploy``), started
with ``POST processinstance``, timers and async continuations found with ``job`` queries and
run with ``job/{id}?_action=execute`` (the test clock is moved first where MANIFEST moves
Flowable's), messages, signals and receive tasks delivered with
``execution?_action=message|signal|trigger`` (queued deliveries run as jobs through the same
``job`` routes), user tasks completed with ``taskinstance/{id}?_action=complete``. Outcomes are
read back from ``processinstance``, ``processinstance/history``, ``taskinstance/history``,
``execution`` and ``job`` queries.

No file of ``flowable/`` has an event-based gateway. The event and async files that need a
Java class or Groovy are asserted refused at deploy as they are
(``test_event_file_needing_java_or_groovy_is_refused``), and run through the API with the
delegate swapped for an expression (the Groovy line for JavaScript), since what MANIFEST says
of them is job and timer behaviour, not the delegate's.

Where this service knowingly differs from Flowable the tests follow the service and say so: a
signal thrown inside a process reaches other instances through a ``signal-broadcast`` job
(Flowable broadcasts in the same transaction), and a failed job keeps its type and waits for
its retry in ``job`` (Flowable moves it to the timer jobs).
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.conformance import (
    _call,
    act,
    active_activity_ids,
    assert_ended,
    complete,
    corpus_text,
    deploy,
    deploy_text,
    due,
    execute,
    executions,
    history,
    instance,
    instance_jobs,
    is_running,
    iso,
    job_list,
    names,
    open_tasks,
    run_all_jobs,
    running_of,
    start,
    subscribed,
    task_history,
    timer_start_jobs,
)
from tests.support.rest import expect

#: the ``flowable/`` corpus files this module's tests run through the REST API (as they
#: are or with a swap), by exact name: ``test_conformance_rest_coverage`` checks them
#: against the corpus and against the names the tests use
DRIVEN_FILES = (
    "AsyncNonExclusiveJobsTest.testFiveNonExclusiveParallelJobs.bpmn20.xml",
    "AsyncTaskTest.testAsyncServiceNoListeners.bpmn20.xml",
    "AsyncTaskTest.testFailingAsyncServiceTimer.bpmn20.xml",
    "BoundaryTimerEventRepeatWithDurationTest.testRepeatWithDuration.bpmn20.xml",
    "BoundaryTimerEventTest.testRepeatTimerDuration.bpmn20.xml",
    "ExclusiveTaskTest.testExclusiveService.bpmn20.xml",
    "FailedJobRetryCmdTest.testFailedServiceTask.bpmn20.xml",
    "JobExecutorFailRetryTest.testFailedServiceTask.bpmn20.xml",
    "MessageIntermediateEventTest.testSingleIntermediateMessageEvent.bpmn20.xml",
    "MessageStartEventTest.testSingleMessageStartEvent.bpmn20.xml",
    "SignalEventSubprocessTest.testInterruptingUnderProcessDefinition.bpmn20.xml",
    "SignalEventTest.testNonInterruptingSignal.bpmn20.xml",
    "SignalEventTest.testSignalStartEvent.bpmn20.xml",
    "SignalEventTests.catchAlertSignal.bpmn20.xml",
    "SignalEventTests.throwAlertSignal.bpmn20.xml",
    "StartTimerEventTest.testCycleDateStartTimerEvent.bpmn20.xml",
    "StartTimerEventTest.testCycleWithLimitStartTimerEvent.bpmn20.xml",
    "StartTimerEventTest.testCycleWithRepeatStartTimePeriodAndEnd.bpmn20.xml",
    "StartTimerEventTest.testDurationStartTimerEvent.bpmn20.xml",
    "StartTimerEventTest.testFixedDateStartTimerEvent.bpmn20.xml",
    "SubProcessTest.testSimpleSubProcessWithTimer.bpmn20.xml",
)

# --- async ------------------------------------------------------------------------------------


def test_exclusive_async_service(client, corpus):
    """ExclusiveTaskTest: the async service task parks the token in one exclusive job; the
    instance waits until the job runs, then ends; no job is left."""
    [definition] = deploy(client, corpus, "ExclusiveTaskTest.testExclusiveService.bpmn20.xml")
    started = start(client, "exclusive")
    iid = started["_id"]
    assert started["status"] == "suspended" and is_running(client, iid)
    [job] = instance_jobs(client, iid)
    assert job["exclusive"] is True and job["jobType"] == "message"
    assert job["jobHandlerType"] == "async-continuation" and job["elementId"] == "service"
    assert job["processDefinitionId"] == definition and job["retries"] == 3
    assert job_list(client, timersOnly="true") == []
    assert active_activity_ids(client, iid) == ["service"]
    execute(client, job["_id"])
    assert instance_jobs(client, iid) == []
    assert_ended(client, iid, "theEnd")


# --- messages ---------------------------------------------------------------------------------


@pytest.mark.parametrize("delivery", ["now", "queued"])
def test_single_intermediate_message_event(client, corpus, delivery):
    """MessageIntermediateEventTest: the instance waits at messageCatch, its execution
    subscribed to newInvoiceMessage; the message (to that execution) -> one user task "Task";
    completing it ends the process. ``queued``: the message is a job run by ``execute``."""
    deploy(
        client, corpus, "MessageIntermediateEventTest.testSingleIntermediateMessageEvent.bpmn20.xml"
    )
    iid = start(client, "process")["_id"]
    assert active_activity_ids(client, iid) == ["messageCatch"]
    assert open_tasks(client, iid) == []
    [waiting] = subscribed(client, "message", "newInvoiceMessage")
    assert waiting["processInstanceId"] == iid and waiting["activityId"] == "messageCatch"
    assert subscribed(client, "message", "otherMessage") == []
    payload = {"messageName": "newInvoiceMessage", "executionId": waiting["_id"]}
    if delivery == "now":
        answer = act(client, "message", dict(payload, processVariables={"invoice": 7}))
        assert answer == {
            "status": "delivered",
            "executionId": waiting["_id"],
            "processInstanceId": iid,
        }
    else:
        answer = act(client, "message", payload)
        assert answer["status"] == "queued"
        [job] = instance_jobs(client, iid)
        assert job["_id"] == answer["jobId"] and job["jobHandlerType"] == "deliver-message"
        assert open_tasks(client, iid) == []  # nothing moves until the job runs
        execute(client, job["_id"])
    [task] = open_tasks(client, iid)
    assert task["name"] == "Task" and task["taskDefinitionKey"] == "task"
    assert subscribed(client, "message", "newInvoiceMessage") == []
    expected = {"invoice": 7} if delivery == "now" else {}
    assert instance(client, iid)["processVariables"] == expected
    # a second message finds no subscriber any more
    act(client, "message", {"messageName": "newInvoiceMessage", "processVariables": {}}, 404)
    complete(client, task["_id"])
    assert_ended(client, iid, "theEnd")


def test_single_message_start_event(client, corpus):
    """MessageStartEventTest: deploying creates the definition-level start (no instance);
    the message starts an instance at "Task"; a redeploy moves the start to the new version;
    another process key with the same start message name is refused."""
    name = "MessageStartEventTest.testSingleMessageStartEvent.bpmn20.xml"
    [v1] = deploy(client, corpus, name)
    assert running_of(client, processDefinitionKey="singleMessageStartEvent") == []
    assert subscribed(client, "message", "newInvoiceMessage") == []  # no instance subscribes
    answer = act(
        client,
        "message",
        {
            "messageName": "newInvoiceMessage",
            "businessKey": "inv-1",
            "processVariables": {"amount": 3},
        },
    )
    assert answer["status"] == "delivered"
    first = answer["processInstanceId"]
    read = instance(client, first)
    assert (read["processDefinitionId"], read["businessKey"]) == (v1, "inv-1")
    assert read["startActivityId"] == "theStart" and read["processVariables"] == {"amount": 3}
    assert names(client, first) == ["Task"]

    [v2] = deploy_text(
        client,
        "singleMessageStartEvent-v2",
        corpus_text(corpus, name, ('name="Task"', 'name="Task v2"')),
    )
    assert v1.startswith("singleMessageStartEvent:1:")
    assert v2.startswith("singleMessageStartEvent:2:")
    queued = act(client, "message", {"messageName": "newInvoiceMessage"})
    assert queued["status"] == "queued"
    [job] = [j for j in job_list(client) if j["_id"] == queued["jobId"]]
    assert job["processDefinitionId"] == v2 and job["processInstanceId"] is None
    execute(client, job["_id"])
    [second] = running_of(client, processDefinitionId=v2)
    assert names(client, second) == ["Task v2"]
    assert running_of(client, processDefinitionId=v1) == [first]

    other = corpus_text(corpus, name, ('id="singleMessageStartEvent"', 'id="otherProcess"'))
    model = expect(_call(client, "POST", "model", {"name": "other", "bpmnXML": other}), 201)
    expect(_call(client, "POST", f"model/{model['_id']}?_action=deploy"), 400, "newInvoiceMessage")
    assert running_of(client, processDefinitionKey="otherProcess") == []
    [task] = open_tasks(client, first)
    complete(client, task["_id"])
    assert_ended(client, first, "theEnd")


# --- signals ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["task-completed", "signal"])
def test_signal_event_sub_process_interrupting(client, corpus, path):
    """SignalEventSubprocessTest: 1 subscription to newSignal, 3 executions; completing "task"
    ends the process; the signal instead cancels "task", runs eventSubProcessTask, then ends."""
    deploy(
        client,
        corpus,
        "SignalEventSubprocessTest.testInterruptingUnderProcessDefinition.bpmn20.xml",
    )
    iid = start(client, "process")["_id"]
    [task] = open_tasks(client, iid)
    assert task["taskDefinitionKey"] == "task"
    assert len(executions(client, iid)) == 3  # root + task + the event sub-process listener
    [listener] = subscribed(client, "signal", "newSignal")
    assert listener["processInstanceId"] == iid
    if path == "task-completed":
        complete(client, task["_id"])
        assert_ended(client, iid, "theEnd")
        assert subscribed(client, "signal", "newSignal") == []
        return
    answer = act(client, "signal", {"signalName": "newSignal", "processVariables": {}})
    assert answer == {"status": "delivered", "deliveredTo": 1}
    [handler] = open_tasks(client, iid)
    assert handler["taskDefinitionKey"] == "eventSubProcessTask"
    assert subscribed(client, "signal", "newSignal") == []  # interrupting: no second time
    # root -> the event sub-process scope (its id is generated: the file gives none) -> task
    children = {e["_id"]: e for e in executions(client, iid) if e["_id"] != iid}
    [in_scope] = [e for e in children.values() if e["activityId"] == "eventSubProcessTask"]
    scope = children[in_scope["parentId"]]
    assert len(children) == 2 and scope["parentId"] == iid and scope["isScope"] is True
    assert scope["activityId"] not in (None, "task", "eventSubProcessTask")
    [cancelled] = [t for t in task_history(client, iid) if t["_id"] == task["_id"]]
    assert cancelled["endTime"] is not None and scope["activityId"] in cancelled["deleteReason"]
    complete(client, handler["_id"])
    # as Flowable: the sub-process ends, its scope leaves by its (absent) outgoing flows and
    # the instance ends there, never at the main flow's theEnd
    assert_ended(client, iid, scope["activityId"])


def test_non_interrupting_signal_boundary(client, corpus):
    """SignalEventTest.testNonInterruptingSignal: "My User Task"; the alert signal adds
    "My Second User Task" and keeps the first; completing the first leaves only the second."""
    deploy(client, corpus, "SignalEventTest.testNonInterruptingSignal.bpmn20.xml")
    iid = start(client, "nonInterruptingSignalEvent")["_id"]
    [first] = open_tasks(client, iid)
    assert first["name"] == "My User Task"
    [boundary] = subscribed(client, "signal", "alert")
    answer = act(
        client,
        "signal",
        {
            "signalName": "alert",
            "executionId": boundary["_id"],
            "processVariables": {"alerted": True},
        },
    )
    assert answer == {"status": "delivered", "deliveredTo": 1}
    assert names(client, iid) == ["My Second User Task", "My User Task"]
    assert [e["_id"] for e in subscribed(client, "signal", "alert")] == [boundary["_id"]]
    complete(client, first["_id"])
    [second] = open_tasks(client, iid)
    assert second["name"] == "My Second User Task"
    assert subscribed(client, "signal", "alert") == []  # the boundary left with its task
    assert is_running(client, iid)
    complete(client, second["_id"])
    record = assert_ended(client, iid, "theEnd2")
    assert record["processVariables"] == {"alerted": True}


START_KEYS = ["processWithSignalStart1", "processWithSignalStart2", "processWithSignalStart3"]
START_IDS = ["theStart", "theStart2", "theStart3"]


@pytest.mark.parametrize("thrower", ["api", "process"])
def test_signal_start_events(client, corpus, thrower):
    """SignalEventTest.testSignalStartEvent: each broadcast of "The Signal" starts one new
    instance of each of the 3 signal-start processes and fires the boundary of
    processWithSignalCatch ("Task after signal"); from the API or from processWithSignalThrow."""
    ids = deploy(client, corpus, "SignalEventTest.testSignalStartEvent.bpmn20.xml")
    assert len(ids) == 5
    catcher = start(client, "processWithSignalCatch")["_id"]
    assert names(client, catcher) == ["Task in process D"]
    for key in START_KEYS:
        assert running_of(client, processDefinitionKey=key) == []
    for round_ in (1, 2):
        catcher = start(client, "processWithSignalCatch")["_id"] if round_ == 2 else catcher
        if thrower == "api":
            answer = act(client, "signal", {"signalName": "The Signal", "processVariables": {}})
            assert answer == {"status": "delivered", "deliveredTo": 4}
        else:
            started = start(client, "processWithSignalThrow")
            assert started["status"] == "ended"
            assert_ended(client, started["_id"], "theEnd4")
            assert run_all_jobs(client) == 5  # the broadcast, 3 starts, 1 boundary
        for key, start_id, task in zip(START_KEYS, START_IDS, "ABC"):
            started_ids = running_of(client, processDefinitionKey=key)
            assert len(started_ids) == round_, key
            for started_id in started_ids:
                assert names(client, started_id) == [f"Task in process {task}"]
                assert instance(client, started_id)["startActivityId"] == start_id
        assert names(client, catcher) == ["Task after signal"]
    assert subscribed(client, "signal", "The Signal") == []


@pytest.mark.parametrize("delivery", ["thrown", "api-queued"])
def test_catch_and_throw_alert_signal(client, corpus, delivery):
    """SignalEventTests.catchAlertSignal waits with 1 subscription to alert; throwAlertSignal
    (or a queued broadcast from the API) ends it; no subscription is left."""
    deploy(client, corpus, "SignalEventTests.catchAlertSignal.bpmn20.xml")
    deploy(client, corpus, "SignalEventTests.throwAlertSignal.bpmn20.xml")
    catchers = [start(client, "catchSignal")["_id"] for _ in range(2)]
    assert sorted(e["processInstanceId"] for e in subscribed(client, "signal", "alert")) == sorted(
        catchers
    )
    assert all(active_activity_ids(client, c) == ["signalEvent"] for c in catchers)
    if delivery == "thrown":
        thrown = start(client, "throwSignal")
        assert thrown["status"] == "ended"
        assert_ended(client, thrown["_id"], "end")
        [broadcast] = job_list(client)
        assert broadcast["jobHandlerType"] == "signal-broadcast"
        assert broadcast["elementId"] == "signalEvent"
    else:
        answer = act(client, "signal", {"signalName": "alert"})
        assert answer["status"] == "queued"
    assert all(is_running(client, c) for c in catchers)  # nothing until the jobs run
    assert run_all_jobs(client) == 3  # the broadcast, then one delivery per catcher
    for catcher in catchers:
        assert_ended(client, catcher, "end")
    assert subscribed(client, "signal", "alert") == []


# --- timers: boundary -------------------------------------------------------------------------


def test_sub_process_with_timer_fires(client, container, corpus):
    """SubProcessTest.testSimpleSubProcessWithTimer: a 2h boundary timer on the sub-process;
    clock +2h1s and the timer job runs: the sub-process is left, "Fix escalated problem" is
    open, the killed task is in the task history."""
    deploy(client, corpus, "SubProcessTest.testSimpleSubProcessWithTimer.bpmn20.xml")
    iid = start(client, "simpleSubProcess")["_id"]
    [task] = open_tasks(client, iid)
    assert task["name"] == "Task in subprocess"
    [job] = instance_jobs(client, iid, timersOnly="true")
    assert job["jobType"] == "timer" and job["elementId"] == "escalationTimer"
    assert due(job) == container.clock.now() + timedelta(hours=2)
    assert job_list(client, dueBefore=iso(container.clock.now() + timedelta(hours=1))) == []
    container.clock.advance(hours=2, seconds=1)
    assert [j["_id"] for j in job_list(client, dueBefore=iso(container.clock.now()))] == [
        job["_id"]
    ]
    execute(client, job["_id"])
    [escalation] = open_tasks(client, iid)
    assert escalation["name"] == "Fix escalated problem"
    assert active_activity_ids(client, iid) == ["escalationTask"]
    [killed] = [t for t in task_history(client, iid) if t["_id"] == task["_id"]]
    assert killed["endTime"] is not None and killed["deleteReason"]
    assert instance_jobs(client, iid) == []
    complete(client, escalation["_id"])
    # escalationTask has no outgoing flow: the instance ends there
    assert_ended(client, iid, "escalationTask")


@pytest.mark.parametrize("how", ["completed", "deleted"])
def test_sub_process_with_timer_cancelled(client, corpus, how):
    """The same file: completing the task first leaves the sub-process normally (the process
    ends at theEnd), and deleting the instance ends it too; either way the timer job goes."""
    deploy(client, corpus, "SubProcessTest.testSimpleSubProcessWithTimer.bpmn20.xml")
    iid = start(client, "simpleSubProcess")["_id"]
    [job] = instance_jobs(client, iid)
    [task] = open_tasks(client, iid)
    if how == "completed":
        complete(client, task["_id"])
        assert_ended(client, iid, "theEnd")
        [done] = task_history(client, iid)
        assert done["deleteReason"] is None
    else:
        expect(_call(client, "DELETE", f"processinstance/{iid}"), 200)
        assert not is_running(client, iid)
        assert history(client, iid)["deleteReason"]
    expect(_call(client, "GET", f"job/{job['_id']}"), 404)
    assert instance_jobs(client, iid) == [] and job_list(client) == []


def test_boundary_repeat_timer_duration(client, container, corpus):
    """BoundaryTimerEventTest.testRepeatTimerDuration: the non-interrupting R3/PT24H timer on
    the inner sub-process fires 3 times ("A task" each time), each next due >= previous + 24h;
    then no timer is left and the inner task is still open."""
    deploy(client, corpus, "BoundaryTimerEventTest.testRepeatTimerDuration.bpmn20.xml")
    started_at = container.clock.now()
    iid = start(client, "repeattimertest")["_id"]
    [inner] = open_tasks(client, iid)
    assert inner["taskDefinitionKey"] == "innerUserTask"
    previous = started_at
    for fired in range(1, 4):
        [job] = instance_jobs(client, iid, timersOnly="true")
        assert job["elementId"] == "boundaryEvent1"
        assert due(job) >= previous + timedelta(hours=24)
        previous = due(job)
        container.clock.set(due(job))
        execute(client, job["_id"])
        assert names(client, iid).count("A task") == fired
    assert instance_jobs(client, iid) == []
    tasks = open_tasks(client, iid)
    assert sorted(t["taskDefinitionKey"] for t in tasks) == [
        "atask",
        "atask",
        "atask",
        "innerUserTask",
    ]
    for task in tasks:
        complete(client, task["_id"])
    assert_ended(client, iid, "outerEndEvent")


# --- timers: start events ---------------------------------------------------------------------


def receive_and_end(client, instance_id: str) -> None:
    """The started instance waits at its receive task; a trigger ends it."""
    [execution] = [e for e in executions(client, instance_id) if e["activityId"] == "receive"]
    act(client, "trigger", {"executionId": execution["_id"], "transientVariables": {}})
    assert_ended(client, instance_id, "theEnd")


def test_fixed_date_start_timer(client, container, corpus):
    """StartTimerEventTest.testFixedDateStartTimerEvent: one timer job after deploy, due at the
    file's timeDate (2036-11-14T11:12:22; MANIFEST quotes an older copy); the clock moved
    there, it starts 1 instance and no timer is left."""
    [definition] = deploy(
        client, corpus, "StartTimerEventTest.testFixedDateStartTimerEvent.bpmn20.xml"
    )
    [job] = timer_start_jobs(client, definition)
    assert job["dueDate"] == "2036-11-14T11:12:22.000Z" and job["processInstanceId"] is None
    assert job["elementId"] == "theStart"
    assert running_of(client, processDefinitionId=definition) == []
    container.clock.set(due(job))
    execute(client, job["_id"])
    [started] = running_of(client, processDefinitionId=definition)
    assert timer_start_jobs(client, definition) == []
    read = instance(client, started)
    assert read["startActivityId"] == "theStart" and read["startUserId"] is None
    assert active_activity_ids(client, started) == ["receive"]
    receive_and_end(client, started)


def test_duration_start_timer(client, container, corpus):
    """StartTimerEventTest.testDurationStartTimerEvent: one timer job after deploy, due after
    the file's timeDuration (PT5M; MANIFEST quotes PT1H); clock +2h -> 1 instance, no timer."""
    [definition] = deploy(
        client, corpus, "StartTimerEventTest.testDurationStartTimerEvent.bpmn20.xml"
    )
    [job] = timer_start_jobs(client, definition)
    assert due(job) == container.clock.now() + timedelta(minutes=5)
    container.clock.advance(hours=2)
    execute(client, job["_id"])
    [started] = running_of(client, processDefinitionId=definition)
    assert timer_start_jobs(client, definition) == []
    receive_and_end(client, started)


def test_cycle_date_start_timer(client, container, corpus):
    """StartTimerEventTest.testCycleDateStartTimerEvent (cron 0 0/5 * * * ?): always exactly 1
    timer job; each +6 min firing starts one more instance (1, then 2), 5 minutes apart."""
    [definition] = deploy(
        client, corpus, "StartTimerEventTest.testCycleDateStartTimerEvent.bpmn20.xml"
    )
    previous = None
    for count in (1, 2):
        [job] = timer_start_jobs(client, definition)
        if previous is not None:
            assert due(job) - previous == timedelta(minutes=5)
        previous = due(job)
        container.clock.advance(minutes=6)
        execute(client, job["_id"])
        assert len(running_of(client, processDefinitionId=definition)) == count
    [job] = timer_start_jobs(client, definition)
    assert due(job) > previous


def test_cycle_with_limit_start_timer(client, container, corpus):
    """StartTimerEventTest.testCycleWithLimitStartTimerEvent (R2/PT5M): 1 timer job on deploy;
    +6 min fire -> the next timer; +6 min fire -> no timer left; 2 instances in all."""
    [definition] = deploy(
        client, corpus, "StartTimerEventTest.testCycleWithLimitStartTimerEvent.bpmn20.xml"
    )
    [first] = timer_start_jobs(client, definition)
    container.clock.advance(minutes=6)
    execute(client, first["_id"])
    [second] = timer_start_jobs(client, definition)
    assert second["_id"] != first["_id"] and due(second) == due(first) + timedelta(minutes=5)
    container.clock.advance(minutes=6)
    execute(client, second["_id"])
    assert timer_start_jobs(client, definition) == []
    started = running_of(client, processDefinitionId=definition)
    assert len(started) == 2
    for instance_id in started:
        receive_and_end(client, instance_id)


# --- files whose Java delegate or Groovy script is swapped out ---------------------------------
# The unchanged files are refused at deploy (below). With the delegate replaced by an expression
# (or the one-line Groovy script by JavaScript) their async and timer behaviour, which is what
# MANIFEST describes, runs through the API like any other file.

FAILING = "${missingBean.run()}"


def test_async_service_runs_only_in_its_job(client, corpus):
    """AsyncTaskTest.testAsyncServiceNoListeners (AsyncService -> an expression that sets
    ``invoked``): the start creates 1 job and does not invoke the service; running the job
    invokes it and the process ends; 0 jobs."""
    deploy_text(
        client,
        "asyncService",
        corpus_text(
            corpus,
            "AsyncTaskTest.testAsyncServiceNoListeners.bpmn20.xml",
            (
                'activiti:class="org.flowable.engine.test.bpmn.async.AsyncService"',
                '''activiti:expression="${execution.setVariable('invoked', true)}"''',
            ),
        ),
    )
    iid = start(client, "asyncService")["_id"]
    [job] = instance_jobs(client, iid)
    assert job["elementId"] == "service" and job["jobHandlerType"] == "async-continuation"
    assert instance(client, iid)["processVariables"] == {}  # not invoked yet
    execute(client, job["_id"])
    assert instance_jobs(client, iid) == []
    assert assert_ended(client, iid, "theEnd")["processVariables"] == {"invoked": True}


def test_failing_async_service_with_boundary_timer(client, corpus):
    """AsyncTaskTest.testFailingAsyncServiceTimer (FailingAsyncService -> a failing
    expression): the job fails, the execution stays at the service task, and the boundary
    timer its run created is rolled back with it: the instance keeps exactly one job, the
    failed one, with no timer, however often it fails."""
    deploy_text(
        client,
        "asyncServiceTimer",
        corpus_text(
            corpus,
            "AsyncTaskTest.testFailingAsyncServiceTimer.bpmn20.xml",
            (
                'activiti:class="org.flowable.engine.test.bpmn.async.FailingAsyncService"',
                f'activiti:expression="{FAILING}"',
            ),
        ),
    )
    iid = start(client, "asyncService")["_id"]
    [job] = instance_jobs(client, iid)
    for left in (2, 1):
        outcome = expect(_call(client, "POST", f"job/{job['_id']}?_action=execute"), 200)
        assert outcome["status"] == "failed" and outcome["retries"] == left
        assert "missingBean" in outcome["exceptionMessage"]
        [still] = instance_jobs(client, iid)
        assert still["_id"] == job["_id"] and still["retries"] == left
        assert instance_jobs(client, iid, timersOnly="true") == []
        assert active_activity_ids(client, iid) == ["service"]
    outcome = expect(_call(client, "POST", f"job/{job['_id']}?_action=execute"), 200)
    assert outcome["status"] == "deadletter"
    assert instance_jobs(client, iid) == [] and is_running(client, iid)
    dead = expect(_call(client, "GET", "job/deadletter?_queryFilter=true"), 200)["result"]
    assert [j["_id"] for j in dead] == [job["_id"]]


def test_five_non_exclusive_parallel_jobs(client, corpus):
    """AsyncNonExclusiveJobsTest (SleepServiceTask -> ${true}): 5 non-exclusive jobs, run at
    the same time by 5 requests; then the exclusive async join; the process ends and no
    timer or dead-letter job remains."""
    deploy_text(
        client,
        "testNonExclusiveJobs",
        corpus_text(
            corpus,
            "AsyncNonExclusiveJobsTest.testFiveNonExclusiveParallelJobs.bpmn20.xml",
            (
                'flowable:class="org.flowable.engine.test.bpmn.async.SleepServiceTask"',
                'flowable:expression="${true}"',
            ),
        ),
    )
    iid = start(client, "testNonExclusiveJobs")["_id"]
    parallel = instance_jobs(client, iid)
    assert sorted(j["elementId"] for j in parallel) == [f"serviceTaskSleep{i}" for i in range(1, 6)]
    assert all(j["exclusive"] is False for j in parallel)
    barrier = threading.Barrier(len(parallel))
    outcomes: dict[str, dict] = {}

    def run(job_id: str) -> None:
        barrier.wait()
        response = _call(client, "POST", f"job/{job_id}?_action=execute")
        outcomes[job_id] = json.loads(response.body)

    threads = [threading.Thread(target=run, args=(j["_id"],)) for j in parallel]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(o["status"] for o in outcomes.values()) == ["executed"] * 5, outcomes
    joins = instance_jobs(client, iid)
    assert joins and all(
        j["elementId"] == "parallelGateway2" and j["exclusive"] is True for j in joins
    )
    for job in joins:
        execute(client, job["_id"])
    assert_ended(client, iid, "endevent1")
    assert job_list(client) == [] and job_list(client, timersOnly="true") == []
    assert expect(_call(client, "GET", "job/deadletter?_queryFilter=true"), 200)["result"] == []


def test_failed_job_retry_time_cycle(client, container, corpus):
    """FailedJobRetryCmdTest (FailingDelegate -> a failing expression), R5/PT5M: each failure
    leaves 4, 3, 2, 1 retries on the same job, due 5 minutes later, the execution still on
    failingServiceTask; the fifth moves it to the dead-letter jobs."""
    deploy_text(
        client,
        "failedServiceTask",
        corpus_text(
            corpus,
            "FailedJobRetryCmdTest.testFailedServiceTask.bpmn20.xml",
            (
                'activiti:class="org.flowable.engine.test.cmd.FailingDelegate"',
                f'activiti:expression="{FAILING}"',
            ),
        ),
    )
    iid = start(client, "failedServiceTask")["_id"]
    [job] = instance_jobs(client, iid)
    assert job["jobHandlerConfiguration"]["failedJobRetryTimeCycle"] == "R5/PT5M"
    for left in (4, 3, 2, 1):
        outcome = expect(_call(client, "POST", f"job/{job['_id']}?_action=execute"), 200)
        assert (outcome["status"], outcome["retries"]) == ("failed", left)
        [failed] = instance_jobs(client, iid)
        assert failed["_id"] == job["_id"] and failed["retries"] == left
        assert due(failed) == container.clock.now() + timedelta(minutes=5)
        assert active_activity_ids(client, iid) == ["failingServiceTask"]
        container.clock.set(due(failed))
    outcome = expect(_call(client, "POST", f"job/{job['_id']}?_action=execute"), 200)
    assert outcome["status"] == "deadletter" and outcome["retries"] == 0
    assert instance_jobs(client, iid) == []
    dead = expect(_call(client, "GET", f"job/deadletter/{job['_id']}"), 200)
    assert dead["retries"] == 0 and "missingBean" in dead["exceptionMessage"]
    assert active_activity_ids(client, iid) == ["failingServiceTask"]


@pytest.mark.parametrize("fail", [True, False])
def test_job_executor_fail_retry(client, container, corpus, fail):
    """JobExecutorFailRetryTest (RetryFailingDelegate -> an expression failing when ``fail``),
    R2/PT6S: after a failure the second attempt is due 6 s later (MANIFEST: 6-12 s); the
    success path runs the job once and ends."""
    deploy_text(
        client,
        "failedJobRetry",
        corpus_text(
            corpus,
            "JobExecutorFailRetryTest.testFailedServiceTask.bpmn20.xml",
            (
                'activiti:class="org.flowable.engine.test.jobexecutor.RetryFailingDelegate"',
                'activiti:expression="${fail ? missingBean.run() : true}"',
            ),
        ),
    )
    iid = start(client, "failedJobRetry", fail=fail)["_id"]
    [job] = instance_jobs(client, iid)
    assert job["elementId"] == "failingServiceTask"
    if not fail:
        execute(client, job["_id"])
        assert_ended(client, iid, "theEnd")
        return
    first_attempt = container.clock.now()
    outcome = expect(_call(client, "POST", f"job/{job['_id']}?_action=execute"), 200)
    assert (outcome["status"], outcome["retries"]) == ("failed", 1)
    [again] = instance_jobs(client, iid)
    assert timedelta(seconds=6) <= due(again) - first_attempt <= timedelta(seconds=12)
    container.clock.set(due(again))
    outcome = expect(_call(client, "POST", f"job/{job['_id']}?_action=execute"), 200)
    assert outcome["status"] == "deadletter"
    assert is_running(client, iid) and instance_jobs(client, iid) == []


def test_boundary_timer_repeat_with_duration(client, container, corpus):
    """BoundaryTimerEventRepeatWithDurationTest (the Groovy printlns -> JavaScript that counts):
    no timer until "Task A" is completed; then the non-interrupting R3/PT10S timer on "Task B"
    fires 3 times, 10 s apart, and no timer is left; completing Task B ends the process."""
    deploy_text(
        client,
        "repeatWithDuration",
        corpus_text(
            corpus,
            "BoundaryTimerEventRepeatWithDurationTest.testRepeatWithDuration.bpmn20.xml",
            ('scriptFormat="groovy"', 'scriptFormat="javascript"'),
            ('System.out.println("Process started");', 'execution.setVariable("started", true);'),
            (
                'System.out.println("Boundary Event");',
                'execution.setVariable("fired", (execution.getVariable("fired") || 0) + 1);',
            ),
            ('System.out.println("Process ended");', 'execution.setVariable("ended", true);'),
        ),
    )
    iid = start(client, "repeatWithDuration")["_id"]
    [task_a] = open_tasks(client, iid)
    assert task_a["name"] == "Task A" and instance_jobs(client, iid) == []
    complete(client, task_a["_id"])
    [task_b] = open_tasks(client, iid)
    assert task_b["name"] == "Task B"
    completed_a = container.clock.now()
    for fired in (1, 2, 3):
        [job] = instance_jobs(client, iid, timersOnly="true")
        assert job["elementId"] == "timer"
        # Flowable's stored form of the cycle: the start is the time the timer was created
        repeat = f"R3/{completed_a.strftime('%Y-%m-%dT%H:%M:%S.000Z')}/PT10S"
        assert job["jobHandlerConfiguration"]["repeat"] == repeat
        assert due(job) == completed_a + timedelta(seconds=10 * fired)
        container.clock.set(due(job))
        execute(client, job["_id"])
        assert instance(client, iid)["processVariables"]["fired"] == fired
        assert [t["_id"] for t in open_tasks(client, iid)] == [task_b["_id"]]
    assert instance_jobs(client, iid) == []
    complete(client, task_b["_id"])
    record = assert_ended(client, iid, "end")
    assert record["processVariables"] == {"started": True, "fired": 3, "ended": True}


def test_cycle_with_repeat_start_time_period_and_end(client, container, corpus):
    """StartTimerEventTest.testCycleWithRepeatStartTimePeriodAndEnd (its Groovy line ->
    JavaScript): R2/2021-07-01T19:22:00Z/P1D ending 2021-07-02T19:22:00Z, deployed at 19:50 on
    the start day: the first due date is the start + 1 day; after it fires no timer remains."""
    container.clock.set(datetime(2021, 7, 1, 19, 50, tzinfo=UTC))
    [definition] = deploy_text(
        client,
        "cycleWithEnd",
        corpus_text(
            corpus,
            "StartTimerEventTest.testCycleWithRepeatStartTimePeriodAndEnd.bpmn20.xml",
            ('scriptFormat="groovy"', 'scriptFormat="javascript"'),
        ),
    )
    [job] = timer_start_jobs(client, definition)
    assert job["dueDate"] == "2021-07-02T19:22:00.000Z"
    container.clock.set(due(job))
    execute(client, job["_id"])
    assert timer_start_jobs(client, definition) == []
    [started] = running_of(client, processDefinitionId=definition)
    assert names(client, started) == ["Task A"]
    assert instance(client, started)["processVariables"] == {"executed": True}


# --- files that cannot run here ---------------------------------------------------------------


#: the event/async files this module deploys as they are, whose deploy is refused, and the
#: elements (a Java class or a Groovy script) each refusal names; all run above with a swap
REFUSED_AS_IS = {
    "AsyncNonExclusiveJobsTest.testFiveNonExclusiveParallelJobs.bpmn20.xml": [
        f"serviceTaskSleep{i}" for i in range(1, 6)
    ],
    "AsyncTaskTest.testAsyncServiceNoListeners.bpmn20.xml": ["service"],
    "AsyncTaskTest.testFailingAsyncServiceTimer.bpmn20.xml": ["service"],
    "BoundaryTimerEventRepeatWithDurationTest.testRepeatWithDuration.bpmn20.xml": [
        "processStartedScript",
        "task2Completed",
        "timerFiredTask",
    ],
    "FailedJobRetryCmdTest.testFailedServiceTask.bpmn20.xml": ["failingServiceTask"],
    "JobExecutorFailRetryTest.testFailedServiceTask.bpmn20.xml": ["failingServiceTask"],
    "StartTimerEventTest.testCycleWithRepeatStartTimePeriodAndEnd.bpmn20.xml": ["scriptExecutor"],
}


@pytest.mark.parametrize("name, elements", sorted(REFUSED_AS_IS.items()))
def test_event_file_needing_java_or_groovy_is_refused(client, corpus, name, elements):
    """The event/async files with a Java class or a Groovy script: the deploy is a 400 whose
    ``detail.errors`` name each such element; nothing is deployed, no job is written."""
    text = (corpus / "flowable" / name).read_text(encoding="utf-8")
    model = expect(_call(client, "POST", "model", {"name": "Refused", "bpmnXML": text}), 201)
    data = expect(_call(client, "POST", f"model/{model['_id']}?_action=deploy"), 400)
    errors = data["detail"]["errors"]
    named = {e.get("activityId") for e in errors}
    assert set(elements) <= named, json.dumps(errors)
    listed = expect(_call(client, "POST", f"model/{model['_id']}?_action=list_deployments"), 200)
    assert listed["processDefinitionIds"] == []
    assert job_list(client) == []


# --- event-based gateway (no Flowable corpus file has one: the shape of MIWG B.2.0) -----------

EVENT_GATEWAY = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:flowable="http://flowable.org/bpmn" targetNamespace="Tests">
  <message id="paid" name="invoicePaid"/>
  <process id="awaitPayment" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="gateway"/>
    <eventBasedGateway id="gateway"/>
    <sequenceFlow id="f2" sourceRef="gateway" targetRef="payment"/>
    <sequenceFlow id="f3" sourceRef="gateway" targetRef="deadline"/>
    <intermediateCatchEvent id="payment">
      <messageEventDefinition messageRef="paid"/>
    </intermediateCatchEvent>
    <intermediateCatchEvent id="deadline">
      <timerEventDefinition><timeDuration>P7D</timeDuration></timerEventDefinition>
    </intermediateCatchEvent>
    <sequenceFlow id="f4" sourceRef="payment" targetRef="ship"/>
    <sequenceFlow id="f5" sourceRef="deadline" targetRef="remind"/>
    <userTask id="ship" name="Ship"/>
    <userTask id="remind" name="Remind"/>
    <sequenceFlow id="f6" sourceRef="ship" targetRef="end"/>
    <sequenceFlow id="f7" sourceRef="remind" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>"""


@pytest.mark.parametrize("winner", ["message", "timer"])
def test_event_based_gateway_first_event_wins(client, container, winner):
    """The execution waits at the gateway (as in Flowable) with both events armed: one
    subscription, one timer job due in 7 days; the first to happen takes its path and the
    other is removed."""
    deploy_text(client, "awaitPayment", EVENT_GATEWAY)
    iid = start(client, "awaitPayment")["_id"]
    assert active_activity_ids(client, iid) == ["gateway"]
    [waiting] = subscribed(client, "message", "invoicePaid")
    assert waiting["processInstanceId"] == iid
    [timer] = instance_jobs(client, iid, timersOnly="true")
    assert due(timer) == container.clock.now() + timedelta(days=7)
    if winner == "message":
        act(
            client,
            "message",
            {"messageName": "invoicePaid", "executionId": waiting["_id"], "processVariables": {}},
        )
        expected = "Ship"
    else:
        container.clock.advance(days=7, seconds=1)
        execute(client, timer["_id"])
        expected = "Remind"
    assert names(client, iid) == [expected]
    assert subscribed(client, "message", "invoicePaid") == []
    assert instance_jobs(client, iid) == []
    [task] = open_tasks(client, iid)
    complete(client, task["_id"])
    assert_ended(client, iid, "end")
