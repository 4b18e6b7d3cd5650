"""Timers: intermediate catch, boundary (interrupting / cycles), event sub-process, start
events; due-date math; corpus conformance. Every command round-trips the state through JSON
(``InMemoryWorld``); timers fire by running the ``FireTimer`` command of the requested job."""

from __future__ import annotations

import datetime as dt

import pytest

from chalicelib.engine.elements import TimerDefinition
from chalicelib.engine.parser import parse_bpmn
from chalicelib.engine.runtime import (
    FireTimer,
    JobKind,
    StartByEvent,
    SubscriptionType,
    UnknownTarget,
    start_event_subscriptions,
)
from chalicelib.engine.runtime.timers_rt import (
    first_configuration,
    next_configuration,
    next_cron,
    quartz_to_croniter,
)
from tests.support.engine import bpmn, seq, task_names

UTC = dt.UTC
T0 = dt.datetime(2026, 1, 1, tzinfo=UTC)


def timers(world, iid):
    return world.jobs_of(iid, JobKind.TIMER.value)


def timer_subscriptions(world, iid):
    return [s for s in world.state(iid).subscriptions.values() if s.type is SubscriptionType.TIMER]


# --- due-date math ---------------------------------------------------------------------------


def test_quartz_cron_conversion():
    assert quartz_to_croniter("0 0/5 * * * ?") == "0/5 * * * * 0"
    assert quartz_to_croniter("0 0 12 ? * 2-6") == "0 12 * * 1-5 0"
    assert quartz_to_croniter("30 0 8 ? * 1,7 2027") == "0 8 * * 0,6 30 2027"
    assert next_cron("0 0 12 ? * 2", T0) == dt.datetime(2026, 1, 5, 12, tzinfo=UTC)  # a Monday
    assert next_cron("0/20 * * * * ?", T0) == T0 + dt.timedelta(seconds=20)


def test_cycle_with_repetitions_runs_out():
    config = first_configuration(TimerDefinition(time_cycle="R3/PT10M"), T0)
    dues = []
    while config is not None:
        dues.append(config["due"])
        config = next_configuration(config)
    assert dues == [
        "2026-01-01T00:10:00.000Z",
        "2026-01-01T00:20:00.000Z",
        "2026-01-01T00:30:00.000Z",
    ]


def test_cycle_with_start_and_end_date():
    definition = TimerDefinition(
        time_cycle="R2/2021-07-01T19:22:00Z/P1D", end_date="2021-07-02T19:22:00Z"
    )
    config = first_configuration(definition, dt.datetime(2021, 7, 1, 19, 50, tzinfo=UTC))
    assert config["due"] == "2021-07-02T19:22:00.000Z"
    assert next_configuration(config) is None


def test_cycle_with_end_in_value_and_unbounded():
    config = first_configuration(TimerDefinition(time_cycle="R/PT1H/2026-01-01T02:30:00Z"), T0)
    assert config["remaining"] is None and config["end"] == "2026-01-01T02:30:00.000Z"
    config = next_configuration(config)
    assert config["due"] == "2026-01-01T02:00:00.000Z"
    assert next_configuration(config) is None


def test_expression_needs_a_resolver():
    with pytest.raises(ValueError):
        first_configuration(TimerDefinition(time_duration="${d}"), T0)
    config = first_configuration(TimerDefinition(time_duration="${d}"), T0, lambda _: "PT5M")
    assert config["due"] == "2026-01-01T00:05:00.000Z"


# --- intermediate catch ------------------------------------------------------------------------

CATCH = bpmn(
    '<startEvent id="s"/>'
    + seq("s", "wait")
    + '<intermediateCatchEvent id="wait"><timerEventDefinition>'
    "<timeDuration>${delay}</timeDuration></timerEventDefinition>"
    "</intermediateCatchEvent>" + seq("wait", "after") + '<userTask id="after" name="After"/>'
)


def test_intermediate_timer_waits_then_fires(world, clock):
    world.deploy(CATCH)
    iid = world.start("p", {"delay": "PT5M"})
    [job] = timers(world, iid)
    assert job.due == "2026-01-01T00:05:00.000Z" and job.activity_id == "wait"
    assert job.job_id.startswith(iid + ".") and job.payload["subscription_id"] == job.job_id
    [sub] = timer_subscriptions(world, iid)
    assert sub.id == job.job_id and sub.configuration["due"] == job.due
    assert world.state(iid).active_activity_ids() == ["wait"]
    clock.advance(minutes=5)
    world.run_job(job.job_id)
    assert (
        task_names(world, iid) == ["After"]
        and not world.jobs
        and not timer_subscriptions(world, iid)
    )
    with pytest.raises(UnknownTarget):  # a duplicate delivery of the job finds nothing
        world.run(FireTimer(job.job_id, iid))


def test_time_date_timer(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "w")
            + '<intermediateCatchEvent id="w"><timerEventDefinition><timeDate>'
            "2026-03-01T10:00:00Z</timeDate></timerEventDefinition>"
            "</intermediateCatchEvent>" + seq("w", "e") + '<endEvent id="e"/>'
        )
    )
    iid = world.start("p")
    [job] = timers(world, iid)
    assert job.due == "2026-03-01T10:00:00.000Z"
    world.run_job(job.job_id)
    assert world.is_ended(iid)


def test_bad_timer_value_fails_the_command(world):
    world.deploy(CATCH)
    from chalicelib.errors import ProcessFailure

    with pytest.raises(ProcessFailure):
        world.start("p", {"delay": "soon"})


# --- boundary timers ---------------------------------------------------------------------------


def boundary_process(cancel: bool, timer: str) -> str:
    return bpmn(
        '<startEvent id="s"/>'
        + seq("s", "work")
        + '<userTask id="work" name="Work"/>'
        + seq("work", "end")
        + '<endEvent id="end"/>'
        + f'<boundaryEvent id="b" attachedToRef="work" cancelActivity="{str(cancel).lower()}">'
        f"<timerEventDefinition>{timer}</timerEventDefinition></boundaryEvent>"
        + seq("b", "late")
        + '<userTask id="late" name="Late"/>'
    )


def test_interrupting_boundary_timer_cancels_the_task(world, clock):
    world.deploy(boundary_process(True, "<timeDuration>PT1H</timeDuration>"))
    iid = world.start("p")
    assert len(world.state(iid).executions) == 3  # root + task + boundary listener
    [job] = timers(world, iid)
    clock.advance(hours=1)
    world.run_job(job.job_id)
    assert task_names(world, iid) == ["Late"] and not world.jobs


def test_boundary_timer_job_cancelled_when_the_task_completes(world):
    world.deploy(boundary_process(True, "<timeDuration>PT1H</timeDuration>"))
    iid = world.start("p")
    [job] = timers(world, iid)
    result = world.complete(world.tasks(iid)[0].id)
    assert any(
        getattr(e, "job_id", None) == job.job_id and type(e).__name__ == "JobCancelled"
        for e in result.effects
    )
    assert world.is_ended(iid) and not world.jobs


def test_non_interrupting_cycle_keeps_exactly_one_job(world, clock):
    world.deploy(boundary_process(False, "<timeCycle>R3/PT10S</timeCycle>"))
    iid = world.start("p")
    dues = []
    for _ in range(3):
        [job] = timers(world, iid)
        dues.append(job.due)
        clock.set(dt.datetime.fromisoformat(job.due.replace("Z", "+00:00")))
        world.run_job(job.job_id)
    assert dues == [
        "2026-01-01T00:00:10.000Z",
        "2026-01-01T00:00:20.000Z",
        "2026-01-01T00:00:30.000Z",
    ]
    assert timers(world, iid) == []
    assert task_names(world, iid) == ["Late", "Late", "Late", "Work"]
    [sub_job_repeat] = {
        e.payload["repeat"]
        for e in world.effects
        if hasattr(e, "payload") and e.payload.get("repeat")
    }
    assert sub_job_repeat == "R3/2026-01-01T00:00:00.000Z/PT10S"  # Flowable's stored form


def test_unbounded_cycle_job_deleted_when_task_completes(world, clock):
    world.deploy(boundary_process(False, "<timeCycle>R/PT1H</timeCycle>"))
    iid = world.start("p")
    for _ in range(2):
        [job] = timers(world, iid)
        clock.advance(hours=1)
        world.run_job(job.job_id)
    assert len(timers(world, iid)) == 1
    world.complete(next(t for t in world.tasks(iid) if t.name == "Work").id)
    assert timers(world, iid) == [] and task_names(world, iid) == ["Late", "Late"]


# --- timer event sub-process -------------------------------------------------------------------


def test_timer_event_sub_process_interrupting(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "work")
            + '<userTask id="work" name="Work"/>'
            + seq("work", "e")
            + '<endEvent id="e"/>'
            '<subProcess id="esp" triggeredByEvent="true"><startEvent id="es">'
            "<timerEventDefinition><timeDuration>P1D</timeDuration></timerEventDefinition>"
            "</startEvent>"
            + seq("es", "fix")
            + '<userTask id="fix" name="Fix"/>'
            + seq("fix", "ee")
            + '<endEvent id="ee"/></subProcess>'
        )
    )
    iid = world.start("p")
    [job] = timers(world, iid)
    world.run_job(job.job_id)
    assert task_names(world, iid) == ["Fix"]
    world.complete(world.tasks(iid)[0].id)
    assert world.is_ended(iid)


def test_timer_event_sub_process_cycle_stops_when_the_main_flow_ends(world, clock):
    """The cycle's job goes with the main flow; the running event sub-process finishes."""
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "work")
            + '<userTask id="work" name="Work"/>'
            + seq("work", "e")
            + '<endEvent id="e"/>'
            '<subProcess id="esp" triggeredByEvent="true"><startEvent id="es" '
            'isInterrupting="false"><timerEventDefinition><timeCycle>R/PT1H</timeCycle>'
            "</timerEventDefinition></startEvent>"
            + seq("es", "remind")
            + '<userTask id="remind" name="Remind"/>'
            + seq("remind", "ee")
            + '<endEvent id="ee"/></subProcess>'
        )
    )
    iid = world.start("p")
    [job] = timers(world, iid)
    clock.advance(hours=1)
    world.run_job(job.job_id)
    assert task_names(world, iid) == ["Remind", "Work"] and len(timers(world, iid)) == 1
    world.complete(next(t.id for t in world.tasks(iid) if t.name == "Work"))
    assert timers(world, iid) == [] and timer_subscriptions(world, iid) == []
    assert task_names(world, iid) == ["Remind"] and not world.is_ended(iid)
    world.complete(world.tasks(iid)[0].id)
    assert world.is_ended(iid)


# --- timer start events ------------------------------------------------------------------------


def _model(flowable_corpus, name):
    return next(iter(parse_bpmn((flowable_corpus / name).read_bytes()).executable_processes))


def test_start_timer_descriptions(flowable_corpus):
    names = {
        "StartTimerEventTest.testFixedDateStartTimerEvent.bpmn20.xml": {
            "timeDate": "2036-11-14T11:12:22",
            "endDate": None,
        },  # MANIFEST says 15T11:12:30
        "StartTimerEventTest.testDurationStartTimerEvent.bpmn20.xml": {
            "timeDuration": "PT5M",
            "endDate": None,
        },  # MANIFEST says PT1H
        "StartTimerEventTest.testCycleDateStartTimerEvent.bpmn20.xml": {
            "timeCycle": "0 0/5 * * * ?",
            "endDate": None,
        },
        "StartTimerEventTest.testCycleWithLimitStartTimerEvent.bpmn20.xml": {
            "timeCycle": "R2/PT5M",
            "endDate": None,
        },
        "StartTimerEventTest.testCycleWithRepeatStartTimePeriodAndEnd.bpmn20.xml": {
            "timeCycle": "R2/2021-07-01T19:22:00Z/P1D",
            "endDate": "2021-07-02T19:22:00Z",
        },
    }
    for name, timer in names.items():
        [entry] = start_event_subscriptions(_model(flowable_corpus, name))
        assert entry["type"] == "timer" and entry["timer"] == timer, name


def _definition(timer: dict) -> TimerDefinition:
    return TimerDefinition(
        time_date=timer.get("timeDate"),
        time_duration=timer.get("timeDuration"),
        time_cycle=timer.get("timeCycle"),
        end_date=timer.get("endDate"),
    )


def test_start_timer_cycle_with_limit(world, clock, flowable_corpus):
    """R2/PT5M: one job after deploy; +6 min fires (instance + next job); +6 min fires, none left."""
    name = "StartTimerEventTest.testCycleWithLimitStartTimerEvent.bpmn20.xml"
    [definition_id] = world.deploy((flowable_corpus / name).read_bytes())
    [entry] = start_event_subscriptions(world.definitions[definition_id])
    config = first_configuration(_definition(entry["timer"]), clock.now())
    started = []
    while config is not None:
        clock.advance(minutes=6)
        assert config["due"] <= clock.now().isoformat()
        started.append(world.run(StartByEvent(definition_id, entry["activity_id"])).instance_id)
        config = next_configuration(config)
    assert len(started) == 2
    assert all(world.state(i).active_activity_ids() for i in started)


def test_start_timer_cron_always_one_job(clock, flowable_corpus):
    model = _model(flowable_corpus, "StartTimerEventTest.testCycleDateStartTimerEvent.bpmn20.xml")
    [entry] = start_event_subscriptions(model)
    config = first_configuration(_definition(entry["timer"]), clock.now())
    for _ in range(3):
        following = next_configuration(config)
        assert following is not None  # cron never runs out: always exactly one next job
        assert dt.datetime.fromisoformat(
            following["due"].replace("Z", "+00:00")
        ) - dt.datetime.fromisoformat(config["due"].replace("Z", "+00:00")) == dt.timedelta(
            minutes=5
        )
        config = following


def test_fixed_date_and_duration_start_timers_fire_once(world, clock, flowable_corpus):
    for name in (
        "StartTimerEventTest.testFixedDateStartTimerEvent.bpmn20.xml",
        "StartTimerEventTest.testDurationStartTimerEvent.bpmn20.xml",
    ):
        [definition_id] = world.deploy((flowable_corpus / name).read_bytes())
        [entry] = start_event_subscriptions(world.definitions[definition_id])
        config = first_configuration(_definition(entry["timer"]), clock.now())
        iid = world.run(StartByEvent(definition_id, entry["activity_id"])).instance_id
        assert world.state(iid).header.start_activity_id == entry["activity_id"]
        assert next_configuration(config) is None


# --- corpus: boundary timers -------------------------------------------------------------------


def test_corpus_sub_process_with_timer(world, clock, flowable_corpus):
    world.deploy(
        (flowable_corpus / "SubProcessTest.testSimpleSubProcessWithTimer.bpmn20.xml").read_bytes()
    )
    iid = world.start("simpleSubProcess")
    assert task_names(world, iid) == ["Task in subprocess"]
    [job] = timers(world, iid)
    assert job.due == "2026-01-01T02:00:00.000Z"
    clock.advance(hours=2, seconds=1)
    world.run_job(job.job_id)
    assert task_names(world, iid) == ["Fix escalated problem"]
    killed = [t for t in world.history.values() if t.get("name") == "Task in subprocess"]
    assert killed and killed[0]["deleteReason"]


def test_corpus_repeat_timer_duration(world, clock, flowable_corpus):
    world.deploy(
        (flowable_corpus / "BoundaryTimerEventTest.testRepeatTimerDuration.bpmn20.xml").read_bytes()
    )
    iid = world.start("repeattimertest")
    previous = None
    for _ in range(3):
        [job] = timers(world, iid)
        due = dt.datetime.fromisoformat(job.due.replace("Z", "+00:00"))
        if previous is not None:
            assert due >= previous + dt.timedelta(hours=24)
        previous = due
        clock.set(due)
        world.run_job(job.job_id)
    assert timers(world, iid) == []
    assert task_names(world, iid) == ["", "A task", "A task", "A task"]


@pytest.mark.parametrize(
    "name, elements, problem",
    [
        (
            "BoundaryTimerEventRepeatWithDurationTest.testRepeatWithDuration.bpmn20.xml",
            {"processStartedScript", "task2Completed", "timerFiredTask"},
            "bpmn-unsupported-script-language",
        ),
        (
            "AsyncTaskTest.testFailingAsyncServiceTimer.bpmn20.xml",
            {"service"},
            "bpmn-unsupported-java-class",
        ),
    ],
)
def test_corpus_timer_files_needing_groovy_or_java_are_refused(corpus, name, elements, problem):
    """These files cannot run here (Groovy, a Java class): they are refused at validation,
    naming each element, never accepted and left to fail later. Their timer shapes are covered
    by the inline tests above (e.g. test_non_interrupting_cycle_keeps_exactly_one_job)."""
    from chalicelib.engine import validate_bpmn

    report = validate_bpmn((corpus / "flowable" / name).read_bytes()).to_json()
    assert report["valid"] is False
    assert {e["activityId"] for e in report["errors"] if e["problem"] == problem} == elements
