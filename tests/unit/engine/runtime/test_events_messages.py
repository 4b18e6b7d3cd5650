"""Messages, signals and event-based gateways: subscriptions as records, delivery within an
instance, boundary and event sub-process catches, start-event descriptions, corpus runs.
Every command round-trips the state through JSON (``InMemoryWorld``)."""

from __future__ import annotations

import pytest

from chalicelib.engine.parser import parse_bpmn
from chalicelib.engine.runtime import (
    EventDelivered,
    JobKind,
    NotWaiting,
    SignalThrown,
    StartByEvent,
    SubscriptionType,
    UnknownTarget,
    start_event_subscriptions,
)
from chalicelib.errors import Conflict
from tests.support.engine import bpmn, seq, task_named, task_names, variables

MSG = '<message id="m1" name="go"/><message id="m2" name="stop"/><signal id="s1" name="alert"/>'


def subs(world, iid, kind=None):
    return [s for s in world.state(iid).subscriptions.values() if kind is None or s.type is kind]


def delivered(result, kind):
    return [e for e in result.effects if isinstance(e, EventDelivered) and e.kind == kind]


# --- intermediate catch and receive task -------------------------------------------------------


def test_message_catch_receives_variables(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>' + seq("s", "c") + '<intermediateCatchEvent id="c">'
            '<messageEventDefinition messageRef="m1"/></intermediateCatchEvent>'
            + seq("c", "t")
            + '<userTask id="t" name="T"/>',
            extra=MSG,
        )
    )
    iid = world.start("p")
    [sub] = subs(world, iid)
    assert (sub.type, sub.event_name, sub.activity_id) == (SubscriptionType.MESSAGE, "go", "c")
    with pytest.raises(UnknownTarget):
        world.deliver_message(iid, "stop")
    result = world.deliver_message(iid, "go", {"amount": 5})
    assert delivered(result, "message")[0].execution_ids == (sub.execution_id,)
    assert task_names(world, iid) == ["T"] and variables(world, iid)["amount"] == 5
    assert subs(world, iid) == []


def test_receive_task_with_message_is_not_triggerable(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "r")
            + '<receiveTask id="r" messageRef="m1"/>'
            + seq("r", "e")
            + '<endEvent id="e"/>',
            extra=MSG,
        )
    )
    iid = world.start("p")
    [sub] = subs(world, iid)
    assert sub.type is SubscriptionType.MESSAGE and sub.event_name == "go"
    with pytest.raises(NotWaiting):
        world.trigger(iid, sub.execution_id)
    world.deliver_message(iid, "go", execution_id=sub.execution_id)
    assert world.is_ended(iid)


def test_message_less_receive_task_still_triggers(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "r")
            + '<receiveTask id="r"/>'
            + seq("r", "e")
            + '<endEvent id="e"/>'
        )
    )
    iid = world.start("p")
    [sub] = subs(world, iid)
    assert sub.type is SubscriptionType.TRIGGER
    world.trigger(iid, sub.execution_id)
    assert world.is_ended(iid)


def test_two_waiting_executions_conflict(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>'
            + seq("s", "f")
            + '<parallelGateway id="f"/>'
            + seq("f", "c1")
            + seq("f", "c2")
            + '<intermediateCatchEvent id="c1"><messageEventDefinition messageRef="m1"/>'
            '</intermediateCatchEvent><intermediateCatchEvent id="c2">'
            '<messageEventDefinition messageRef="m1"/></intermediateCatchEvent>'
            + seq("c1", "e1")
            + seq("c2", "e2")
            + '<endEvent id="e1"/><endEvent id="e2"/>',
            extra=MSG,
        )
    )
    iid = world.start("p")
    with pytest.raises(Conflict, match="2 executions"):
        world.deliver_message(iid, "go")
    first, second = subs(world, iid)
    world.deliver_message(iid, "go", execution_id=first.execution_id)
    world.deliver_message(iid, "go")
    assert world.is_ended(iid)


# --- boundary messages and signals -------------------------------------------------------------


def boundary(definition: str, cancel: bool) -> str:
    return bpmn(
        '<startEvent id="s"/>'
        + seq("s", "work")
        + '<userTask id="work" name="Work"/>'
        + seq("work", "end")
        + '<endEvent id="end"/>'
        + f'<boundaryEvent id="b" attachedToRef="work" cancelActivity="{str(cancel).lower()}">'
        f"{definition}</boundaryEvent>" + seq("b", "other") + '<userTask id="other" name="Other"/>',
        extra=MSG,
    )


def test_interrupting_message_boundary(world):
    world.deploy(boundary('<messageEventDefinition messageRef="m2"/>', True))
    iid = world.start("p")
    assert len(world.state(iid).executions) == 3  # root + task + boundary (Flowable's count)
    world.deliver_message(iid, "stop")
    assert task_names(world, iid) == ["Other"] and subs(world, iid) == []


def test_non_interrupting_message_boundary_fires_repeatedly(world):
    world.deploy(boundary('<messageEventDefinition messageRef="m2"/>', False))
    iid = world.start("p")
    world.deliver_message(iid, "stop")
    world.deliver_message(iid, "stop")
    assert task_names(world, iid) == ["Other", "Other", "Work"]
    world.complete(next(t for t in world.tasks(iid) if t.name == "Work").id)
    assert subs(world, iid, SubscriptionType.MESSAGE) == []


def test_signal_boundary_and_count(world):
    world.deploy(boundary('<signalEventDefinition signalRef="s1"/>', True))
    iid = world.start("p")
    assert delivered(world.deliver_signal(iid, "nothing"), "signal")[0].count == 0
    assert delivered(world.deliver_signal(iid, "alert"), "signal")[0].count == 1
    assert task_names(world, iid) == ["Other"]


# --- event sub-processes -----------------------------------------------------------------------


def esp(definition: str, interrupting: bool) -> str:
    return bpmn(
        '<startEvent id="s"/>'
        + seq("s", "work")
        + '<userTask id="work" name="Work"/>'
        + seq("work", "e")
        + '<endEvent id="e"/>'
        '<subProcess id="esp" triggeredByEvent="true">'
        f'<startEvent id="es" isInterrupting="{str(interrupting).lower()}">{definition}'
        "</startEvent>"
        + seq("es", "h")
        + '<userTask id="h" name="Handle"/>'
        + seq("h", "ee")
        + '<endEvent id="ee"/></subProcess>',
        extra=MSG,
    )


def test_message_event_sub_process_non_interrupting_repeats(world):
    world.deploy(esp('<messageEventDefinition messageRef="m1"/>', False))
    iid = world.start("p")
    assert len(world.state(iid).executions) == 3  # root + task + event sub-process listener
    world.deliver_message(iid, "go")
    world.deliver_message(iid, "go")
    assert task_names(world, iid) == ["Handle", "Handle", "Work"]
    for task in world.tasks(iid):
        world.complete(task.id)
    assert world.is_ended(iid) and not world.items[iid].get("subscription")


def test_message_event_sub_process_interrupting(world):
    world.deploy(esp('<messageEventDefinition messageRef="m1"/>', True))
    iid = world.start("p")
    world.deliver_message(iid, "go")
    assert task_names(world, iid) == ["Handle"] and subs(world, iid) == []
    world.complete(world.tasks(iid)[0].id)
    assert world.is_ended(iid)


@pytest.mark.parametrize(
    ("definition", "kind"),
    [
        ('<messageEventDefinition messageRef="m1"/>', SubscriptionType.MESSAGE),
        ('<signalEventDefinition signalRef="s1"/>', SubscriptionType.SIGNAL),
    ],
)
def test_event_sub_process_stops_listening_when_the_main_flow_ends(world, definition, kind):
    """Flowable's EndExecutionOperation: once the scope's normal flow is over, a running
    non-interrupting event sub-process finishes, but no new one can start."""
    world.deploy(esp(definition, False))
    iid = world.start("p")
    fire = world.deliver_message if kind is SubscriptionType.MESSAGE else world.deliver_signal
    fire(iid, "go" if kind is SubscriptionType.MESSAGE else "alert")
    assert task_names(world, iid) == ["Handle", "Work"] and len(subs(world, iid, kind)) == 1
    world.complete(task_named(world, iid, "Work").id)
    state = world.state(iid)
    assert subs(world, iid) == [] and not any(e.is_event_scope for e in state.executions.values())
    assert task_names(world, iid) == ["Handle"] and not world.is_ended(iid)
    world.complete(task_named(world, iid, "Handle").id)
    assert world.is_ended(iid)


def test_event_sub_process_in_a_sub_process_stops_with_its_main_flow(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>' + seq("s", "sub") + '<subProcess id="sub">'
            '<startEvent id="ss"/>'
            + seq("ss", "w")
            + '<userTask id="w" name="W"/>'
            + seq("w", "se")
            + '<endEvent id="se"/>'
            '<subProcess id="esp" triggeredByEvent="true"><startEvent id="es" '
            'isInterrupting="false"><signalEventDefinition signalRef="s1"/></startEvent>'
            + seq("es", "h")
            + '<userTask id="h" name="H"/></subProcess></subProcess>'
            + seq("sub", "after")
            + '<userTask id="after" name="After"/>',
            extra=MSG,
        )
    )
    iid = world.start("p")
    world.deliver_signal(iid, "alert")
    world.complete(task_named(world, iid, "W").id)
    assert task_names(world, iid) == ["H"] and subs(world, iid) == []
    world.complete(task_named(world, iid, "H").id)
    assert task_names(world, iid) == ["After"]


def test_event_sub_process_in_a_sub_process_lives_with_it(world):
    world.deploy(
        bpmn(
            '<startEvent id="s"/>' + seq("s", "sub") + '<subProcess id="sub">'
            '<startEvent id="ss"/>'
            + seq("ss", "w")
            + '<userTask id="w" name="W"/>'
            + seq("w", "se")
            + '<endEvent id="se"/>'
            '<subProcess id="esp" triggeredByEvent="true"><startEvent id="es" '
            'isInterrupting="false"><signalEventDefinition signalRef="s1"/></startEvent>'
            + seq("es", "h")
            + '<userTask id="h" name="H"/></subProcess></subProcess>'
            + seq("sub", "after")
            + '<userTask id="after" name="After"/>',
            extra=MSG,
        )
    )
    iid = world.start("p")
    assert len(subs(world, iid, SubscriptionType.SIGNAL)) == 1
    world.complete(world.tasks(iid)[0].id)
    assert task_names(world, iid) == ["After"] and subs(world, iid) == []


# --- event-based gateway -----------------------------------------------------------------------

GATEWAY = bpmn(
    '<startEvent id="s"/>'
    + seq("s", "g")
    + '<eventBasedGateway id="g"/>'
    + seq("g", "cm")
    + seq("g", "cs")
    + seq("g", "ct")
    + '<intermediateCatchEvent id="cm"><messageEventDefinition messageRef="m1"/>'
    '</intermediateCatchEvent><intermediateCatchEvent id="cs">'
    '<signalEventDefinition signalRef="s1"/></intermediateCatchEvent>'
    '<intermediateCatchEvent id="ct"><timerEventDefinition><timeDuration>PT1H'
    "</timeDuration></timerEventDefinition></intermediateCatchEvent>"
    + seq("cm", "tm")
    + seq("cs", "ts")
    + seq("ct", "tt")
    + '<userTask id="tm" name="Message"/><userTask id="ts" name="Signal"/>'
    '<userTask id="tt" name="Timer"/>',
    extra=MSG,
)


def test_event_gateway_message_wins(world):
    world.deploy(GATEWAY)
    iid = world.start("p")
    assert sorted(s.type.value for s in subs(world, iid)) == ["message", "signal", "timer"]
    assert len(world.jobs_of(iid, JobKind.TIMER.value)) == 1
    world.deliver_message(iid, "go")
    assert task_names(world, iid) == ["Message"] and subs(world, iid) == []
    assert world.jobs_of(iid) == []  # the timer job was cancelled
    from chalicelib.engine.runtime import HistoryKind

    acts = [a["activityId"] for a in world.history_of(HistoryKind.ACTIVITY_INSTANCE, iid)]
    assert "cm" in acts and "ct" not in acts


def test_event_gateway_timer_wins(world):
    world.deploy(GATEWAY)
    iid = world.start("p")
    [job] = world.jobs_of(iid)
    world.run_job(job.job_id)
    assert task_names(world, iid) == ["Timer"] and subs(world, iid) == []


# --- signals: throw ---------------------------------------------------------------------------


def throw_process(scope: str) -> str:
    return bpmn(
        '<startEvent id="s"/>'
        + seq("s", "f")
        + '<parallelGateway id="f"/>'
        + seq("f", "c")
        + seq("f", "w")
        + '<intermediateCatchEvent id="c"><signalEventDefinition signalRef="sig"/>'
        "</intermediateCatchEvent>" + seq("c", "caught") + '<userTask id="caught" name="Caught"/>'
        '<userTask id="w" name="Throw now"/>'
        + seq("w", "t")
        + '<intermediateThrowEvent id="t"><signalEventDefinition signalRef="sig"/>'
        "</intermediateThrowEvent>" + seq("t", "e") + '<endEvent id="e"/>',
        extra=f'<signal id="sig" name="go" flowable:scope="{scope}"/>',
    )


@pytest.mark.parametrize("scope,broadcast", [("global", True), ("processInstance", False)])
def test_signal_throw_within_instance(world, scope, broadcast):
    world.deploy(throw_process(scope))
    iid = world.start("p")
    result = world.complete(next(t for t in world.tasks(iid) if t.name == "Throw now").id)
    assert task_names(world, iid) == ["Caught"]
    thrown = [e for e in result.effects if isinstance(e, SignalThrown)]
    assert bool(thrown) is broadcast
    if broadcast:
        assert thrown[0].signal_name == "go" and thrown[0].activity_id == "t"


# --- corpus ------------------------------------------------------------------------------------


def test_corpus_message_intermediate(world, flowable_corpus):
    world.deploy(
        (
            flowable_corpus / "MessageIntermediateEventTest.testSingleIntermediateMessageEvent"
            ".bpmn20.xml"
        ).read_bytes()
    )
    iid = world.start("process")
    assert world.state(iid).active_activity_ids() == ["messageCatch"]
    [sub] = subs(world, iid)
    assert sub.event_name == "newInvoiceMessage" and sub.execution_id != iid
    world.deliver_message(iid, "newInvoiceMessage", execution_id=sub.execution_id)
    [task] = world.tasks(iid)
    world.complete(task.id)
    assert world.is_ended(iid)


def test_corpus_message_start_event(world, flowable_corpus):
    [definition_id] = world.deploy(
        (
            flowable_corpus / "MessageStartEventTest.testSingleMessageStartEvent.bpmn20.xml"
        ).read_bytes()
    )
    [entry] = start_event_subscriptions(world.definitions[definition_id])
    assert entry == {
        "type": "message",
        "event_name": "newInvoiceMessage",
        "activity_id": "theStart",
    }
    iid = world.run(StartByEvent(definition_id, "theStart", {"x": 1})).instance_id
    assert len(world.tasks(iid)) == 1 and variables(world, iid) == {"x": 1}


def test_corpus_signal_catch_and_throw(world, flowable_corpus):
    world.deploy((flowable_corpus / "SignalEventTests.catchAlertSignal.bpmn20.xml").read_bytes())
    world.deploy((flowable_corpus / "SignalEventTests.throwAlertSignal.bpmn20.xml").read_bytes())
    catcher = world.start("catchSignal")
    assert len(subs(world, catcher, SubscriptionType.SIGNAL)) == 1
    thrower = world.start("throwSignal")
    [thrown] = [
        e for e in world.effects if isinstance(e, SignalThrown) and e.instance_id == thrower
    ]
    # the service broadcasts the thrown signal to the other instances
    world.deliver_signal(catcher, thrown.signal_name)
    assert world.is_ended(thrower) and world.is_ended(catcher)
    assert subs(world, catcher) == []


def test_corpus_signal_start_event(world, flowable_corpus):
    ids = world.deploy(
        (flowable_corpus / "SignalEventTest.testSignalStartEvent.bpmn20.xml").read_bytes()
    )
    catcher = world.start("processWithSignalCatch")
    thrower = world.start("processWithSignalThrow")
    [thrown] = [e for e in world.effects if isinstance(e, SignalThrown)]
    started = []
    for definition_id in ids:
        for entry in start_event_subscriptions(world.definitions[definition_id]):
            if entry["type"] == "signal" and entry["event_name"] == thrown.signal_name:
                started.append(
                    world.run(StartByEvent(definition_id, entry["activity_id"])).instance_id
                )
    world.deliver_signal(catcher, thrown.signal_name)
    assert len(started) == 3 and world.is_ended(thrower)
    assert sorted(t.name for i in started for t in world.tasks(i)) == [
        "Task in process A",
        "Task in process B",
        "Task in process C",
    ]
    assert task_names(world, catcher) == ["Task after signal"]


def test_corpus_non_interrupting_signal(world, flowable_corpus):
    world.deploy(
        (flowable_corpus / "SignalEventTest.testNonInterruptingSignal.bpmn20.xml").read_bytes()
    )
    iid = world.start("nonInterruptingSignalEvent")
    assert task_names(world, iid) == ["My User Task"]
    world.deliver_signal(iid, "alert")
    assert task_names(world, iid) == ["My Second User Task", "My User Task"]
    world.complete(next(t for t in world.tasks(iid) if t.name == "My User Task").id)
    assert task_names(world, iid) == ["My Second User Task"]


def test_corpus_signal_event_sub_process(world, flowable_corpus):
    world.deploy(
        (
            flowable_corpus / "SignalEventSubprocessTest.testInterruptingUnderProcessDefinition"
            ".bpmn20.xml"
        ).read_bytes()
    )
    done = world.start("process")
    assert [s.event_name for s in subs(world, done)] == ["newSignal"]
    assert len(world.state(done).executions) == 3
    world.complete(world.tasks(done)[0].id)
    assert world.is_ended(done)
    iid = world.start("process")
    world.deliver_signal(iid, "newSignal")
    [task] = world.tasks(iid)
    assert task.task_definition_key == "eventSubProcessTask"
    world.complete(task.id)
    assert world.is_ended(iid)


def test_start_event_subscriptions_parse_only():
    model = next(
        iter(
            parse_bpmn(
                bpmn(
                    '<startEvent id="s"><signalEventDefinition signalRef="sig"/></startEvent>',
                    extra='<signal id="sig" name="x" flowable:scope="processInstance"/>',
                )
            ).processes.values()
        )
    )
    assert start_event_subscriptions(model) == [
        {"activity_id": "s", "type": "signal", "event_name": "x", "scope": "processInstance"}
    ]


def test_data_objects_of_an_instance_started_by_a_message(world):
    [definition_id] = world.deploy(
        bpmn(
            '<dataObject id="d" name="source" itemSubjectRef="xsd:string"><extensionElements>'
            "<flowable:value>default</flowable:value></extensionElements></dataObject>"
            '<startEvent id="ms"><messageEventDefinition messageRef="m1"/></startEvent>'
            + seq("ms", "t")
            + '<userTask id="t" name="${source}"/>',
            extra=MSG,
        )
    )
    iid = world.run(StartByEvent(definition_id, "ms", {"x": 1})).instance_id
    assert variables(world, iid) == {"source": "default", "x": 1}
    assert task_names(world, iid) == ["default"]
