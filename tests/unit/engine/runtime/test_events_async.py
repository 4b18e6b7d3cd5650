"""Async continuations: ``flowable:async`` parks the token before the activity, ``asyncLeave``
after it; each is a job run by ``RunAsyncJob``. State round-trips through JSON each step."""

from __future__ import annotations

import pytest

from chalicelib.engine.runtime import HistoryKind, JobCancelled, JobKind, RunAsyncJob, UnknownTarget
from tests.support.engine import bpmn, seq, task_names, variables


def test_async_before_parks_then_runs(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "svc")
            + '<serviceTask id="svc" flowable:async="true" flowable:expression="${42}" '
            'flowable:resultVariable="answer"/>' + seq("svc", "t") + '<userTask id="t" name="T"/>'
        )
    )
    iid = world.start("p")
    [job] = world.jobs_of(iid)
    assert job.kind == JobKind.ASYNC_CONTINUATION.value and job.activity_id == "svc"
    assert job.payload == {"handler": "async-continuation", "exclusive": True}
    assert "answer" not in variables(world, iid) and world.tasks(iid) == []
    world.run_job(job.job_id)
    assert variables(world, iid)["answer"] == 42 and task_names(world, iid) == ["T"]
    with pytest.raises(UnknownTarget):  # a duplicate job message does nothing
        world.run(RunAsyncJob(job.job_id, iid, job.execution_id, "svc", job.kind))


def test_async_after_parks_before_outgoing_flows(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "svc")
            + '<serviceTask id="svc" flowable:asyncLeave="true" flowable:exclusive="false" '
            'flowable:expression="${1}" flowable:resultVariable="r"/>'
            + seq("svc", "e")
            + '<endEvent id="e"/>'
        )
    )
    iid = world.start("p")
    [job] = world.jobs_of(iid)
    assert job.kind == JobKind.ASYNC_AFTER.value and job.payload["exclusive"] is False
    assert variables(world, iid)["r"] == 1 and not world.is_ended(iid)
    world.run_job(job.job_id)
    assert world.is_ended(iid)


def _listeners(*events: str) -> str:
    return (
        "<extensionElements>"
        + "".join(
            f'<flowable:executionListener event="{event}" '
            f"expression=\"${{execution.setVariable('{event}', true)}}\"/>"
            for event in events
        )
        + "</extensionElements>"
    )


def _activity(world, iid, activity_id):
    [act] = [
        a
        for a in world.history_of(HistoryKind.ACTIVITY_INSTANCE, iid)
        if a["activityId"] == activity_id
    ]
    return act


def test_async_leave_runs_end_listeners_in_the_leave_job(world):
    """Flowable's AsyncLeaveTest.testExecutionListenersAsyncLeave: the end listener (and the
    activity's history end) wait for the leave job."""
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "u")
            + '<userTask id="u" name="U" flowable:async="true" flowable:asyncLeave="true">'
            + _listeners("start", "end")
            + "</userTask>"
            + seq("u", "t")
            + '<userTask id="t" name="T"/>'
        )
    )
    iid = world.start("p")
    world.run_job(world.jobs_of(iid)[0].job_id)
    world.complete(world.tasks(iid)[0].id)
    assert variables(world, iid) == {"start": True}
    assert _activity(world, iid, "u")["endTime"] is None
    [job] = world.jobs_of(iid)
    assert job.kind == JobKind.ASYNC_AFTER.value and job.activity_id == "u"
    world.run_job(job.job_id)
    assert variables(world, iid) == {"start": True, "end": True}
    assert _activity(world, iid, "u")["endTime"] and task_names(world, iid) == ["T"]


def test_async_leave_service_task_ends_in_the_job(world):
    """AsyncLeaveTest.testServiceTaskAsyncLeave: the result is set, the activity still open."""
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "svc")
            + '<serviceTask id="svc" flowable:asyncLeave="true" flowable:expression="${1}" '
            'flowable:resultVariable="r"/>' + seq("svc", "t") + '<userTask id="t" name="T"/>'
        )
    )
    iid = world.start("p")
    assert variables(world, iid) == {"r": 1} and world.tasks(iid) == []
    assert _activity(world, iid, "svc")["endTime"] is None
    world.run_job(world.jobs_of(iid)[0].job_id)
    assert _activity(world, iid, "svc")["endTime"] and task_names(world, iid) == ["T"]


def test_async_leave_drops_boundary_events_when_the_activity_completes(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "u")
            + '<userTask id="u" name="U" flowable:asyncLeave="true"/>'
            + seq("u", "t")
            + '<userTask id="t" name="T"/>'
            '<boundaryEvent id="b" attachedToRef="u"><timerEventDefinition><timeDuration>PT1H'
            "</timeDuration></timerEventDefinition></boundaryEvent>"
            + seq("b", "late")
            + '<userTask id="late" name="Late"/>'
        )
    )
    iid = world.start("p")
    assert [j.kind for j in world.jobs_of(iid)] == [JobKind.TIMER.value]
    world.complete(world.tasks(iid)[0].id)
    assert [j.kind for j in world.jobs_of(iid)] == [JobKind.ASYNC_AFTER.value]
    assert world.state(iid).subscriptions == {}
    world.run_job(world.jobs_of(iid)[0].job_id)
    assert task_names(world, iid) == ["T"]


def test_end_event_with_async_leave_ends_in_its_job(world):
    """AsyncLeaveTest.testEndWithAsyncLeave: the end event's end listener runs, and the
    instance ends, when the leave job runs."""
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "e")
            + '<endEvent id="e" flowable:asyncLeave="true">'
            + _listeners("start", "end")
            + "</endEvent>"
        )
    )
    iid = world.start("p")
    assert variables(world, iid) == {"start": True} and not world.is_ended(iid)
    [job] = world.jobs_of(iid)
    world.run_job(job.job_id)
    assert world.is_ended(iid) and world.state(iid).header.end_activity_id == "e"
    ended = {h["name"]: h["value"] for h in world.history_of(HistoryKind.VARIABLE_INSTANCE, iid)}
    assert ended == {"start": True, "end": True}


def test_none_end_event_runs_its_end_listener(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "e")
            + '<endEvent id="e">'
            + _listeners("end")
            + "</endEvent>"
        )
    )
    iid = world.start("p")
    assert world.is_ended(iid)
    [ended] = world.history_of(HistoryKind.VARIABLE_INSTANCE, iid)
    assert (ended["name"], ended["value"]) == ("end", True)


def test_async_leave_of_a_multi_instance_is_one_job_for_the_activity(world):
    """AsyncLeaveTest.testParallelMultiInstanceWithAsyncLeave: the leave is for the whole
    activity, once its instances are done."""
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "u")
            + '<userTask id="u" name="U" flowable:asyncLeave="true">'
            '<multiInstanceLoopCharacteristics isSequential="false"><loopCardinality>3'
            "</loopCardinality></multiInstanceLoopCharacteristics></userTask>"
            + seq("u", "t")
            + '<userTask id="t" name="T"/>'
        )
    )
    iid = world.start("p")
    for task in world.tasks(iid):
        assert world.jobs_of(iid) == []
        world.complete(task.id)
    [job] = world.jobs_of(iid)
    assert job.kind == JobKind.ASYNC_AFTER.value and world.tasks(iid) == []
    world.run_job(job.job_id)
    assert task_names(world, iid) == ["T"]


def test_async_leave_of_a_sub_process_closes_the_scope_first(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "sub")
            + '<subProcess id="sub" flowable:asyncLeave="true">'
            + _listeners("end")
            + '<startEvent id="ss"/>'
            + seq("ss", "loc")
            + '<serviceTask id="loc" flowable:expression="${execution.setVariableLocal(\'inner\', 1)}"/>'
            + seq("loc", "se")
            + '<endEvent id="se"/></subProcess>'
            + seq("sub", "t")
            + '<userTask id="t" name="T"/>'
        )
    )
    iid = world.start("p")
    [job] = world.jobs_of(iid)
    state = world.state(iid)
    assert not any(v.name == "inner" for v in state.variables.values())
    assert _activity(world, iid, "sub")["endTime"] and "end" not in variables(world, iid)
    world.run_job(job.job_id)
    assert variables(world, iid) == {"end": True} and task_names(world, iid) == ["T"]


def test_async_multi_instance_one_job_per_instance(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "u")
            + '<userTask id="u" name="U" flowable:async="true"><multiInstanceLoopCharacteristics '
            'isSequential="false"><loopCardinality>3</loopCardinality>'
            "</multiInstanceLoopCharacteristics></userTask>"
        )
    )
    iid = world.start("p")
    jobs = world.jobs_of(iid)
    assert len(jobs) == 3
    for job in jobs:
        world.run_job(job.job_id)
    assert task_names(world, iid) == ["U", "U", "U"]


def test_deleting_instance_cancels_parked_job(world):
    world.deploy(
        bpmn('<startEvent id="s"/>' + seq("s", "t") + '<task id="t" flowable:async="true"/>')
    )
    iid = world.start("p")
    [job] = world.jobs_of(iid)
    result = world.delete(iid)
    assert any(isinstance(e, JobCancelled) and e.job_id == job.job_id for e in result.effects)
    assert world.jobs == {}


def test_corpus_exclusive_service(world, flowable_corpus):
    world.deploy(
        (flowable_corpus / "ExclusiveTaskTest.testExclusiveService.bpmn20.xml").read_bytes()
    )
    iid = world.start("exclusive")
    [job] = world.jobs_of(iid)
    assert job.payload["exclusive"] is True
    world.run_job(job.job_id)
    assert world.jobs_of(iid) == [] and world.is_ended(iid)


def test_non_exclusive_parallel_jobs_shape(world):
    """AsyncNonExclusiveJobsTest's shape without its Java class: 5 non-exclusive jobs, then an
    exclusive async join."""
    tasks = "".join(
        f'<task id="t{i}" flowable:async="true" flowable:exclusive="false"/>'
        + seq("f", f"t{i}")
        + seq(f"t{i}", "j")
        for i in range(5)
    )
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "f")
            + '<parallelGateway id="f"/>'
            + tasks
            + '<parallelGateway id="j" flowable:async="true"/>'
            + seq("j", "e")
            + '<endEvent id="e"/>'
        )
    )
    iid = world.start("p")
    jobs = world.jobs_of(iid)
    assert len(jobs) == 5 and all(j.payload["exclusive"] is False for j in jobs)
    for job in jobs:
        world.run_job(job.job_id)
    joins = world.jobs_of(iid)
    assert len(joins) == 5 and all(j.activity_id == "j" and j.payload["exclusive"] for j in joins)
    for job in joins:
        world.run_job(job.job_id)
    assert world.is_ended(iid) and world.jobs == {}


@pytest.mark.parametrize(
    "name, elements",
    [
        ("AsyncTaskTest.testAsyncServiceNoListeners.bpmn20.xml", {"service"}),
        (
            "AsyncNonExclusiveJobsTest.testFiveNonExclusiveParallelJobs.bpmn20.xml",
            {f"serviceTaskSleep{i}" for i in range(1, 6)},
        ),
    ],
)
def test_corpus_async_java_files_are_refused(corpus, name, elements):
    """These files use flowable:class (Java): refused at validation with every such task named
    (their async shapes are covered by the inline tests above)."""
    from chalicelib.engine import validate_bpmn

    report = validate_bpmn((corpus / "flowable" / name).read_bytes()).to_json()
    assert report["valid"] is False
    assert {
        e["activityId"] for e in report["errors"] if e["problem"] == "bpmn-unsupported-java-class"
    } >= elements
