"""Flowable's ``BpmnEventRegistryConsumerTest`` over SQS: the test files from ``../shared``,
``myEvent`` and the test channel as ``.event``/``.channel`` resources (the channel of type
``sqs`` instead of the Java test adapter), events sent with SendMessage and handled by the
Lambda function (Chalice's ``client.lambda_.invoke`` with the SQS event)."""

from __future__ import annotations

import pytest

from tests.support.eventregistry import (
    complete_task,
    deploy_consumer,
    event_subprocess_bpmn,
    instance_ids,
    instances_of,
    subscriptions,
    trigger,
)
from tests.support.executions import start, tasks, variables


@pytest.fixture(autouse=True)
def _corpus(corpus):
    return corpus


def _task(container, instance_id):
    found = tasks(container, instance_id)
    assert len(found) <= 1, found
    return found[0] if found else None


# --- boundary events --------------------------------------------------------------------------


def test_boundary_event_listener_no_correlation(client, container):
    definition = deploy_consumer(container, "testBoundaryEventListenerNoCorrelation")
    instance = start(container, definition)
    assert _task(container, instance) == "task"
    [subscription] = subscriptions(container, "eventBoundary")
    assert subscription["instance_id"] == instance
    assert subscription["configuration"]["eventType"] == "myEvent"

    trigger(client, container)
    assert _task(container, instance) == "taskAfterBoundary"
    assert subscriptions(container, "eventBoundary") == []


def test_boundary_event_listener_no_correlation_no_trigger(client, container):
    definition = deploy_consumer(container, "testBoundaryEventListenerNoCorrelationNoTrigger")
    instance = start(container, definition)
    assert _task(container, instance) == "task"
    complete_task(container, instance, "task")
    assert _task(container, instance) == "taskAfterTask"
    assert subscriptions(container, "eventBoundary") == []


def test_boundary_event_listener_with_correlation(client, container):
    definition = deploy_consumer(container, "testBoundaryEventListenerWithCorrelation")
    kermit = start(container, definition, {"customerIdVar": "kermit"})
    gonzo = start(container, definition, {"customerIdVar": "gonzo"})
    assert (_task(container, kermit), _task(container, gonzo)) == ("task", "task")

    trigger(client, container, customer_id="kermit")
    assert (_task(container, kermit), _task(container, gonzo)) == ("taskAfterBoundary", "task")
    trigger(client, container, customer_id="fozzie")
    assert (_task(container, kermit), _task(container, gonzo)) == ("taskAfterBoundary", "task")
    trigger(client, container, customer_id="gonzo")
    assert (_task(container, kermit), _task(container, gonzo)) == (
        "taskAfterBoundary",
        "taskAfterBoundary",
    )


def test_boundary_event_listener_with_payload(client, container):
    definition = deploy_consumer(container, "testBoundaryEventListenerWithPayload")
    instance = start(container, definition)
    assert _task(container, instance) == "task"
    [subscription] = subscriptions(container, "eventBoundary")
    assert subscription["instance_id"] == instance

    trigger(client, container, customer_id="payloadStartCustomer")
    assert _task(container, instance) == "taskAfterBoundary"
    assert variables(container, instance) == {
        "customerIdVar": "payloadStartCustomer",
        "payload1": "Hello World",
    }
    assert subscriptions(container, "eventBoundary") == []


# --- receive event task and intermediate catch event -------------------------------------------


@pytest.mark.parametrize(
    ("method", "activity"),
    [
        ("testReceiveEventTaskNoCorrelation", "task"),
        ("testIntermediateCatchEventNoCorrelation", "catchEvent"),
    ],
)
def test_waiting_without_correlation(client, container, method, activity):
    definition = deploy_consumer(container, method)
    instance = start(container, definition)
    [subscription] = subscriptions(container, activity)
    assert subscription["instance_id"] == instance
    assert subscription["configuration"]["eventType"] == "myEvent"

    trigger(client, container)
    assert _task(container, instance) == "taskAfterTask"
    assert subscriptions(container, activity) == []


@pytest.mark.parametrize(
    "method",
    [
        "testReceiveEventTaskWithCorrelationAndPayload",
        "testIntermediateCatchEventWithCorrelationAndPayload",
    ],
)
def test_waiting_with_correlation_and_payload(client, container, method):
    definition = deploy_consumer(container, method)
    kermit = start(container, definition, {"customerIdVar": "kermit"})
    gonzo = start(container, definition, {"customerIdVar": "gonzo"})

    def counts():
        return len(tasks(container, kermit)), len(tasks(container, gonzo))

    trigger(client, container, customer_id="kermit")
    assert counts() == (1, 0)
    trigger(client, container, customer_id="kermit")
    assert _task(container, kermit) == "taskAfterTask"
    # payload2 is mapped to a transient variable: not stored
    assert variables(container, kermit) == {"customerIdVar": "kermit", "payload1": "Hello World"}
    trigger(client, container, customer_id="fozzie")
    assert counts() == (1, 0)
    trigger(client, container, customer_id="gonzo")
    assert counts() == (1, 1)
    trigger(client, container, customer_id="kermit")
    assert counts() == (1, 1)


# --- process start ---------------------------------------------------------------------------


def test_process_start_no_correlation_parameter(client, container):
    definition = deploy_consumer(container, "testProcessStartNoCorrelationParameter")
    assert instances_of(container, definition) == 0
    for i in range(1, 6):
        trigger(client, container)
        assert instances_of(container, definition) == i


def test_process_start_simple_correlation_parameter(client, container):
    definition = deploy_consumer(container, "testProcessStartSimpleCorrelationParameter")
    trigger(client, container, customer_id="anotherCustomer")
    assert instances_of(container, definition) == 0
    for i in range(1, 6):
        trigger(client, container, customer_id="testCustomer")
        assert instances_of(container, definition) == i


def test_process_start_with_payload(client, container):
    definition = deploy_consumer(container, "testProcessStartWithPayload")
    trigger(client, container, customer_id="payloadStartCustomer")
    [instance] = instance_ids(container, definition)
    assert variables(container, instance) == {
        "customerIdVar": "payloadStartCustomer",
        "payload1": "Hello World",
    }


def test_redeploy_moves_the_start_to_the_new_version_and_keeps_old_subscriptions(client, container):
    from chalicelib.service.unit_of_work import load_instance

    first = deploy_consumer(container, "testRedeploy", source="model:one")
    trigger(client, container)
    [instance] = instance_ids(container, first)
    assert [s["instance_id"] for s in subscriptions(container)] == [instance]
    assert tasks(container, instance) == ["task"]

    second = deploy_consumer(container, "testRedeploy", source="model:two")
    assert second != first
    trigger(client, container)
    # ended thanks to the boundary event; the start event of the new version started another
    state = load_instance(container, instance)
    assert state is None or state.header.status.is_ended
    assert instance_ids(container, first) == []
    [newer] = instance_ids(container, second)
    assert [s["instance_id"] for s in subscriptions(container)] == [newer]


def _ended(container, instance_id) -> bool:
    from chalicelib.service.unit_of_work import load_instance

    state = load_instance(container, instance_id)
    return state is None or state.header.status.is_ended


def test_non_interrupting_event_sub_process(client, container):
    definition = deploy_consumer(
        container,
        "testNonInterruptingSubProcess",
        bpmn=event_subprocess_bpmn("testNonInterruptingSubProcess"),
    )
    instance = start(container, definition, {"customerIdVar": "kermit"})
    trigger(client, container, customer_id="nooexisting")
    assert tasks(container, instance) == ["task"]
    trigger(client, container, customer_id="kermit")
    assert tasks(container, instance) == ["eventSubProcessTask", "task"]
    assert len(subscriptions(container)) == 1
    trigger(client, container, customer_id="kermit")
    assert tasks(container, instance) == ["eventSubProcessTask", "eventSubProcessTask", "task"]
    assert len(subscriptions(container)) == 1
    complete_task(container, instance, "task")
    # Flowable also drops the event sub-process's subscription here (0 subscriptions); this
    # engine keeps it until the scope ends, as for message event sub-processes (engine
    # semantics of event sub-processes, not of the event registry)
    complete_task(container, instance, "eventSubProcessTask", first=True)
    complete_task(container, instance, "eventSubProcessTask")
    assert _ended(container, instance)


def test_interrupting_event_sub_process(client, container):
    definition = deploy_consumer(
        container,
        "testInterruptingSubProcess",
        bpmn=event_subprocess_bpmn("testInterruptingSubProcess"),
    )
    instance = start(container, definition, {"customerIdVar": "gonzo"})
    trigger(client, container, customer_id="nooexisting")
    assert tasks(container, instance) == ["task"]
    trigger(client, container, customer_id="gonzo")
    assert tasks(container, instance) == ["eventSubProcessTask"]
    assert subscriptions(container) == []
    complete_task(container, instance, "eventSubProcessTask")
    assert _ended(container, instance)


def test_start_only_one_instance(client, container):
    """BpmnEventRegistryConsumerTest.testStartOnlyOneInstance (``storeAsUniqueReferenceId``):
    events with the same correlation values start one instance while it runs; other values
    start their own; once it has ended, the next such event starts a new one."""
    definition = deploy_consumer(container, "testStartOnlyOneInstance")
    for _ in range(4):
        trigger(client, container, customer_id="testCustomer")
        assert instances_of(container, definition) == 1
    [first] = instance_ids(container, definition)
    trigger(client, container, customer_id="anotherTestCustomer")
    trigger(client, container, customer_id="anotherTestCustomer")
    assert instances_of(container, definition) == 2
    complete_task(container, first, "task")
    assert _ended(container, first)
    trigger(client, container, customer_id="testCustomer")
    assert instances_of(container, definition) == 2
    assert first not in instance_ids(container, definition)


def test_a_start_correlation_configuration_we_do_not_run_is_refused(container):
    from chalicelib.service.definitions.errors import InvalidDeployment
    from tests.support.eventregistry import consumer_bpmn

    bpmn = consumer_bpmn("testStartOnlyOneInstance").replace(
        "storeAsUniqueReferenceId", "manualStart"
    )
    with pytest.raises(InvalidDeployment) as exc:
        deploy_consumer(container, "x", bpmn=bpmn)
    [problem] = exc.value.detail["errors"]
    assert problem["problem"] == "unsupported-start-correlation"
    assert "manualStart" in problem["defaultDescription"]


def _deploy_dynamic_start_test(container, method: str) -> str:
    """Deploy ``DynamicProcessStartEventRegistryDeploymentTest.<method>`` with the corpus's
    ``simple.event`` (key ``simpleTest``) and a channel reading the key from ``eventKey``."""
    from chalicelib.service.definitions import deploy as deployments
    from tests.support.eventregistry import corpus_file, inbound_channel_json

    return deployments.deploy(
        container,
        source=f"file:{method}",
        name=method,
        bpmn={
            "p.bpmn20.xml": corpus_file(
                f"DynamicProcessStartEventRegistryDeploymentTest.{method}.bpmn20.xml"
            )
        },
        resources={
            "simple.event": corpus_file("SendInternalEventTaskTest.simple.event"),
            "c.channel": inbound_channel_json("c", jsonField="eventKey"),
        },
    ).definition_ids[0]


def test_a_manual_subscription_start_is_refused_saying_why(container):
    """``DynamicProcessStartEventRegistryDeploymentTest.testDynamicEventRegistryProcessStart``:
    its start waits for subscriptions Java code registers; with no route to register one, the
    deploy is refused (not accepted to start nothing forever)."""
    from chalicelib.service.definitions.errors import InvalidDeployment

    with pytest.raises(InvalidDeployment) as exc:
        _deploy_dynamic_start_test(container, "testDynamicEventRegistryProcessStart")
    [problem] = exc.value.detail["errors"]
    assert problem["problem"] == "unsupported-start-correlation"
    assert "'manualSubscription' is not supported" in problem["defaultDescription"]
    assert "ProcessStartEventSubscriptionBuilder" in problem["defaultDescription"]


def test_static_event_registry_process_start_with_correlation_parameters(client, container):
    """``DynamicProcessStartEventRegistryDeploymentTest``'s static start with correlation
    parameters, with the corpus's ``simple.event`` (key ``simpleTest``)."""
    from tests.support.eventregistry import send

    definition = _deploy_dynamic_start_test(
        container, "testStaticEventRegistryProcessWithCorrelationParameters"
    )
    event = {"eventKey": "simpleTest", "customer": "kermit", "action": "start", "name": "Kermit"}
    send(container, {**event, "customer": "gonzo"})
    send(container, {**event, "action": "stop"})
    from tests.support.eventregistry import deliver

    assert deliver(client, container) == []
    assert instance_ids(container, definition) == []
    send(container, event)
    assert deliver(client, container) == []
    [instance] = instance_ids(container, definition)
    assert variables(container, instance) == {"name": "Kermit", "action": "start"}
    assert tasks(container, instance) == ["bpmnTask_2"]


def test_deleting_the_latest_version_restores_the_previous_versions_start(client, container):
    """``testEventRegistrySubscriptionsRecreatedOnDeploymentDelete``: the start event of the
    remaining version starts instances again."""
    from chalicelib.service.definitions import deploy as deployments

    first = deploy_consumer(container, "testProcessStartNoCorrelationParameter", source="model:1")
    second = deploy_consumer(container, "testProcessStartNoCorrelationParameter", source="model:2")
    trigger(client, container)
    assert (instances_of(container, first), instances_of(container, second)) == (0, 1)
    complete_task(container, instance_ids(container, second)[0], "task")
    deployments.delete_deployment(container, second)
    trigger(client, container)
    assert instances_of(container, first) == 1


# --- header fields -------------------------------------------------------------------------


def test_process_start_with_headers(client, container):
    """BpmnHeaderEventRegistryConsumerTest.testProcessStartWithHeaders: payload fields marked
    ``"header": true`` are read from the SQS message attributes (typed as declared), the
    others from the body; ``eventOutParameter`` maps both."""
    import json

    from chalicelib import aws
    from tests.support.eventregistry import (
        corpus_file,
        deliver,
        event_json,
        queue_url,
    )

    event = json.loads(
        event_json(
            "myEvent",
            correlation=[("customerId", "string")],
            payload=[("payload1", "string"), ("headerProperty1", "string")],
        )
    )
    event["payload"].append({"name": "headerProperty2", "type": "integer", "header": True})
    event["payload"][1]["header"] = True
    bpmn = corpus_file("BpmnHeaderEventRegistryConsumerTest.testProcessStartWithHeaders.bpmn20.xml")
    definition = deploy_consumer(
        container, "unused", bpmn=bpmn, extra={"myEvent.event": json.dumps(event)}
    )
    aws.client("sqs").send_message(
        QueueUrl=queue_url(container),
        MessageBody=json.dumps(
            {"type": "myEvent", "customerId": "kermit", "payload1": "Hello", "headerProperty1": "x"}
        ),
        MessageAttributes={
            "headerProperty1": {"DataType": "String", "StringValue": "Test header value"},
            "headerProperty2": {"DataType": "Number", "StringValue": "1234"},
        },
    )
    assert deliver(client, container) == []
    [instance] = instance_ids(container, definition)
    assert variables(container, instance) == {
        "myHeaderValue1": "Test header value",  # the attribute, not the body's "x"
        "myHeaderValue2": 1234,
        "customerIdVar": "kermit",
        "payload1": "Hello",
    }
